import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { toUpperSnake } from '../../src/config/parse.js';
import { postGithub } from '../helpers/github.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';

/*
 * Every example payload of @octokit/webhooks-examples (every event name, every example), posted
 * over HTTP to one real service per setup, with `X-GitHub-Event` set to its event name: signed
 * with a wrong secret (401), with the right one as JSON and again form-encoded (200: `processed`
 * or `duplicate` for a used event whose action is used, `ignored` for everything else; never
 * 202 `invalid`, 400 or 500). Two setups: only the default secret, and only per-owner secrets
 * (a different one per owner) where each body is signed with the secret of the owner it names.
 * Then /metrics: every request counted once under a bounded `event` label, and no `project`
 * label that is not a repository's `full_name` (an owner is no project).
 *
 * The package's examples are partly synthetic, and two kinds cannot come from GitHub:
 * - `repository.owner.login` other than the first segment of `repository.full_name`
 *   (workflow_job, repository, repository_vulnerability_alert), or an `organization` other than
 *   the repository's owner (check_run, issues, pull_request, push, deployment, ...). GitHub names
 *   a repository's owner in both, and an organisation only for a repository it owns. The owner
 *   in `full_name` (the `project` label) picks the secret; the other login's secret is refused.
 * - Bodies that name neither a repository nor an organisation (installation,
 *   installation_repositories, github_app_authorization, marketplace_purchase, sponsorship,
 *   security_advisory): GitHub sends them to GitHub App, Marketplace and Sponsors webhooks,
 *   not to a repository or organisation webhook. Only the default secret can authenticate them:
 *   with per-owner secrets only they are 401.
 */

const require = createRequire(import.meta.url);
type Payload = Record<string, unknown>;
const EXAMPLES = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Payload[] }>;

/** The events this service uses, and which of their examples are used (the rest: `ignored`). */
const USED: Record<string, (p: Payload) => boolean> = {
  workflow_run: () => true,
  workflow_job: () => true,
  deployment: () => true,
  deployment_status: () => true,
  pull_request: (p) => p.action === 'closed' && (p.pull_request as { merged?: unknown }).merged === true,
  release: (p) => p.action === 'published',
};

/** `X-GitHub-Event` values kept as `event` label values (src/sources/github/route.ts); else `other`. */
const KEPT_EVENTS = new Set([
  ...Object.keys(USED),
  'ping',
  'push',
  'check_run',
  'check_suite',
  'create',
  'delete',
  'issues',
  'issue_comment',
  'pull_request_review',
  'pull_request_review_comment',
  'status',
  'workflow_dispatch',
]);

interface Repo {
  full_name?: string;
  owner?: { login?: string };
}

function repositoryOf(p: Payload): Repo | undefined {
  return p.repository as Repo | undefined;
}

/**
 * The owner a body names, whose `GITHUB_WEBHOOK_SECRET_<OWNER>` signs it: its repository's (the
 * first segment of `full_name`, the `project` label), else its organisation's; undefined for a
 * body that names neither (GitHub App, Marketplace and Sponsors webhooks, security advisories).
 */
function ownerOf(p: Payload): string | undefined {
  const fullName = repositoryOf(p)?.full_name;
  if (fullName !== undefined) return fullName.split('/')[0];
  return (p.organization as { login?: string } | undefined)?.login;
}

/** Other owners an example names (`repository.owner.login`, `organization.login`) that differ. */
function otherOwners(p: Payload): string[] {
  const owner = ownerOf(p);
  const names = [repositoryOf(p)?.owner?.login, (p.organization as { login?: string } | undefined)?.login];
  return [...new Set(names.filter((n): n is string => n !== undefined && n !== owner))];
}

/** A merged pull request: the package has none (its `closed` examples are unmerged). */
function mergedPullRequest(): Payload {
  const closed = EXAMPLES.find((e) => e.name === 'pull_request')?.examples.find((e) => e.action === 'closed');
  const p = structuredClone(closed) as Payload;
  Object.assign(p.pull_request as object, { merged: true, merged_at: '2019-05-16T15:20:33Z' });
  return p;
}

/**
 * A copy of a used example with its ids moved by `n` million: the package's examples of one event
 * share ids (four deployments, one id), so after the first the natural key answers `duplicate`
 * before the handlers see them. This copy makes each one go through the handlers.
 */
function distinct(p: Payload, n: number): Payload {
  const copy = structuredClone(p);
  for (const key of ['workflow_job', 'workflow_run', 'deployment', 'pull_request', 'release']) {
    const o = copy[key] as Record<string, unknown> | undefined;
    for (const field of ['id', 'run_id']) {
      if (typeof o?.[field] === 'number') o[field] = (o[field] as number) + n * 1_000_000;
    }
  }
  return copy;
}

const CASES: Array<{ event: string; index: string; payload: Payload }> = [
  ...EXAMPLES.flatMap((e) => e.examples.map((payload, i) => ({ event: e.name, index: String(i), payload }))),
  { event: 'pull_request', index: 'merged', payload: mergedPullRequest() },
];
const OWNERS = [...new Set(CASES.flatMap((c) => [ownerOf(c.payload), ...otherOwners(c.payload)]))].filter(
  (o): o is string => o !== undefined,
);
const secretOf = (owner: string) => `secret-of-${owner}`;
const REPOSITORIES = new Set(
  CASES.map((c) => repositoryOf(c.payload)?.full_name).filter((n): n is string => n !== undefined),
);

/** Every `project` label value in an exposition. */
function projectLabels(text: string): Set<string> {
  const seen = new Set<string>();
  for (const m of text.matchAll(/[{,]project="((?:[^"\\]|\\.)*)"/g)) seen.add(m[1] as string);
  return seen;
}

/** `delivery_webhook_requests_total{source="github"}` by event and outcome. */
function requests(text: string): Map<string, number> {
  const seen = new Map<string, number>();
  const re = /^delivery_webhook_requests_total\{source="github",event="([^"]*)",outcome="([^"]*)"\} (\S+)$/gm;
  for (const m of text.matchAll(re)) seen.set(`${m[1]} ${m[2]}`, Number(m[3]));
  return seen;
}

describe('GitHub event sweep: every @octokit/webhooks-examples payload, right and wrong secret, JSON and form', () => {
  const setups = [
    {
      name: 'the default secret only',
      perOwner: false,
      env: { GITHUB_WEBHOOK_SECRET: 'the-default-secret' } as Record<string, string>,
      secret: (): string | undefined => 'the-default-secret',
    },
    {
      name: 'per-owner secrets only',
      perOwner: true,
      env: Object.fromEntries(OWNERS.map((o) => [`GITHUB_WEBHOOK_SECRET_${toUpperSnake(o)}`, secretOf(o)])),
      secret: (p: Payload): string | undefined => {
        const owner = ownerOf(p);
        return owner === undefined ? undefined : secretOf(owner);
      },
    },
  ];
  for (const setup of setups) {
    describe(`with ${setup.name}`, () => {
      let app: TestApp;
      /** What each post should have counted, by `event outcome`. */
      const expected = new Map<string, number>();
      let distinctCopies = 0;
      const counted = (event: string, outcome: string) => {
        const label = `${KEPT_EVENTS.has(event) ? event : 'other'} ${outcome}`;
        expected.set(label, (expected.get(label) ?? 0) + 1);
      };
      before(async () => {
        app = await startTestApp(setup.env);
      });
      after(() => app.stop());

      for (const name of [...new Set(CASES.map((c) => c.event))]) {
        it(name, async () => {
          const problems: string[] = [];
          for (const c of CASES.filter((x) => x.event === name)) {
            const at = `${name}#${c.index} (${String(c.payload.action ?? '-')})`;
            const wrong = await postGithub(app.url, name, c.payload, { secret: 'a-wrong-secret' });
            counted(name, 'unauthorized');
            if (wrong.status !== 401) problems.push(`${at} wrong secret: ${wrong.status}`);
            // Signed with the secret of another login it names (`organization`, `repository.owner`)
            // than its repository's owner: the repository's owner decides (see ownerOf).
            for (const other of setup.perOwner ? otherOwners(c.payload) : []) {
              const res = await postGithub(app.url, name, c.payload, { secret: secretOf(other) });
              counted(name, 'unauthorized');
              if (res.status !== 401) problems.push(`${at} signed by ${other}: ${res.status}`);
            }
            const secret = setup.secret(c.payload);
            if (secret === undefined) {
              // Names no owner: no per-owner secret can be meant, only the default one.
              const res = await postGithub(app.url, name, c.payload, {
                secret: secretOf(OWNERS[0] as string),
              });
              counted(name, 'unauthorized');
              if (res.status !== 401) problems.push(`${at} names no owner: ${res.status}`);
              continue;
            }
            const used = USED[name]?.(c.payload) ?? false;
            for (const form of [false, true]) {
              const res = await postGithub(app.url, name, c.payload, { secret, form });
              const outcome = res.body.outcome ?? '';
              counted(name, res.status === 200 || res.status === 202 ? outcome : 'rejected');
              const fits = used ? outcome === 'processed' || outcome === 'duplicate' : outcome === 'ignored';
              if (res.status !== 200 || !fits) {
                problems.push(`${at}${form ? ' form' : ''}: ${res.status} ${JSON.stringify(res.body)}`);
              }
            }
            if (used) {
              const res = await postGithub(app.url, name, distinct(c.payload, ++distinctCopies), { secret });
              counted(name, res.status === 200 || res.status === 202 ? (res.body.outcome ?? '') : 'rejected');
              if (res.status !== 200 || res.body.outcome !== 'processed') {
                problems.push(`${at} with its own ids: ${res.status} ${JSON.stringify(res.body)}`);
              }
            }
          }
          assert.deepEqual(problems, []);
        });
      }

      it('counts every request under a bounded event label, and names only repositories as projects', async () => {
        const text = await getMetrics(app.url);
        assert.deepEqual(
          [...requests(text)].sort(),
          [...expected].sort(),
          'delivery_webhook_requests_total{source="github"}',
        );
        // The only `project` a series may name is a repository an authentic body named.
        assert.deepEqual(
          [...projectLabels(text)].filter((p) => !REPOSITORIES.has(p)),
          [],
        );
        // Every repository that sent an authentic body is noted as last received.
        for (const repo of REPOSITORIES) {
          const at = sample(
            text,
            `delivery_webhook_last_received_timestamp_seconds{source="github",project="${repo}"}`,
          );
          assert.ok((at ?? 0) > 1.7e9, repo);
        }
      });
    });
  }
});
