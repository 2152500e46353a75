import assert from 'node:assert/strict';
import { toUpperSnake } from '../../src/config/parse.js';
import { fixture, postGitlab } from '../helpers/gitlab.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';

/*
 * Every webhook event GitLab documents, with the example payload GitLab's docs show, posted
 * over HTTP with the right secret (200: `processed` for the five events this service uses,
 * `ignored` for the rest) and with a wrong one (401).
 *
 * Payloads (test/fixtures/gitlab, see its README):
 * - "Webhook events", doc/user/project/integrations/webhook_events.md
 *   (https://docs.gitlab.com/user/project/integrations/webhook_events/): the files named after
 *   each section, `*-v18.json` where the newer page differs from the older copy the original
 *   fixtures came from.
 * - "System hooks", doc/administration/system_hooks.md
 *   (https://docs.gitlab.com/administration/system_hooks/): `system-hook-*.json`.
 */

interface Case {
  /** Fixture file (without `.json`). */
  readonly fixture: string;
  /** `X-Gitlab-Event` as GitLab sends it. */
  readonly header: string;
  /** The bounded `event` label expected in `delivery_webhook_requests_total`. */
  readonly event: string;
  /** The answer with the right secret. */
  readonly outcome: 'processed' | 'ignored';
  /** The project's path the body names (its own key), or undefined when it names only a group. */
  readonly project?: string;
  /** The group the body belongs to: what a group webhook's secret is set for. */
  readonly group: string;
}

const CASES: Case[] = [
  // Used events.
  {
    fixture: 'job-hook',
    header: 'Job Hook',
    event: 'job',
    outcome: 'processed',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'job-hook-v18',
    header: 'Job Hook',
    event: 'job',
    outcome: 'processed',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'pipeline-hook',
    header: 'Pipeline Hook',
    event: 'pipeline',
    outcome: 'processed',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'pipeline-hook-v18',
    header: 'Pipeline Hook',
    event: 'pipeline',
    outcome: 'processed',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'deployment-hook',
    header: 'Deployment Hook',
    event: 'deployment',
    outcome: 'processed',
    project: 'root/test-deployment-webhooks',
    group: 'root',
  },
  // The documented example is `action: open`: not a merge, so not used.
  {
    fixture: 'merge-request-hook',
    header: 'Merge Request Hook',
    event: 'merge_request',
    outcome: 'ignored',
    project: 'gitlabhq/gitlab-test',
    group: 'gitlabhq',
  },
  // Not in the doc: its `open` example made a merge (see the fixtures README).
  {
    fixture: 'merge-request-merge-hook',
    header: 'Merge Request Hook',
    event: 'merge_request',
    outcome: 'processed',
    project: 'gitlabhq/gitlab-test',
    group: 'gitlabhq',
  },
  {
    fixture: 'release-hook',
    header: 'Release Hook',
    event: 'release',
    outcome: 'processed',
    project: 'gitlab-org/release-webhook-example',
    group: 'gitlab-org',
  },
  // Events of project and group webhooks that are not used.
  {
    fixture: 'push-hook',
    header: 'Push Hook',
    event: 'push',
    outcome: 'ignored',
    project: 'mike/diaspora',
    group: 'mike',
  },
  {
    fixture: 'tag-push-hook',
    header: 'Tag Push Hook',
    event: 'tag_push',
    outcome: 'ignored',
    project: 'jsmith/example',
    group: 'jsmith',
  },
  {
    fixture: 'issue-hook',
    header: 'Issue Hook',
    event: 'issue',
    outcome: 'ignored',
    project: 'gitlabhq/gitlab-test',
    group: 'gitlabhq',
  },
  // The doc shows no payload of its own for a confidential issue or comment: same shape.
  {
    fixture: 'issue-hook',
    header: 'Confidential Issue Hook',
    event: 'issue',
    outcome: 'ignored',
    project: 'gitlabhq/gitlab-test',
    group: 'gitlabhq',
  },
  {
    fixture: 'note-commit-hook',
    header: 'Note Hook',
    event: 'note',
    outcome: 'ignored',
    project: 'gitlabhq/gitlab-test',
    group: 'gitlabhq',
  },
  {
    fixture: 'note-merge-request-hook',
    header: 'Note Hook',
    event: 'note',
    outcome: 'ignored',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'note-issue-hook',
    header: 'Note Hook',
    event: 'note',
    outcome: 'ignored',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'note-issue-hook',
    header: 'Confidential Note Hook',
    event: 'note',
    outcome: 'ignored',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'note-snippet-hook',
    header: 'Note Hook',
    event: 'note',
    outcome: 'ignored',
    project: 'gitlab-org/gitlab-test',
    group: 'gitlab-org',
  },
  {
    fixture: 'wiki-page-hook',
    header: 'Wiki Page Hook',
    event: 'wiki_page',
    outcome: 'ignored',
    project: 'root/awesome-project',
    group: 'root',
  },
  {
    fixture: 'feature-flag-hook',
    header: 'Feature Flag Hook',
    event: 'feature_flag',
    outcome: 'ignored',
    project: 'gitlabhq/gitlab-test',
    group: 'gitlabhq',
  },
  {
    fixture: 'milestone-hook',
    header: 'Milestone Hook',
    event: 'milestone',
    outcome: 'ignored',
    project: 'gitlabhq/gitlab-test',
    group: 'gitlabhq',
  },
  {
    fixture: 'emoji-hook',
    header: 'Emoji Hook',
    event: 'emoji',
    outcome: 'ignored',
    project: 'flightjs/Flight',
    group: 'flightjs',
  },
  {
    fixture: 'resource-access-token-hook-project',
    header: 'Resource Access Token Hook',
    event: 'resource_access_token',
    outcome: 'ignored',
    project: 'flightjs/Flight',
    group: 'flightjs',
  },
  {
    fixture: 'vulnerability-hook',
    header: 'Vulnerability Hook',
    event: 'vulnerability',
    outcome: 'ignored',
    project: 'flightjs/Flight',
    group: 'flightjs',
  },
  // Group webhooks only: the body names a group (or a new project's path).
  {
    fixture: 'resource-access-token-hook-group',
    header: 'Resource Access Token Hook',
    event: 'resource_access_token',
    outcome: 'ignored',
    group: 'twitter',
  },
  {
    fixture: 'member-hook-add',
    header: 'Member Hook',
    event: 'member',
    outcome: 'ignored',
    group: 'webhook-test',
  },
  {
    fixture: 'member-hook-update',
    header: 'Member Hook',
    event: 'member',
    outcome: 'ignored',
    group: 'webhook-test',
  },
  {
    fixture: 'member-hook-remove',
    header: 'Member Hook',
    event: 'member',
    outcome: 'ignored',
    group: 'webhook-test',
  },
  {
    fixture: 'member-hook-access-request',
    header: 'Member Hook',
    event: 'member',
    outcome: 'ignored',
    group: 'webhook-test',
  },
  {
    fixture: 'member-hook-access-denied',
    header: 'Member Hook',
    event: 'member',
    outcome: 'ignored',
    group: 'webhook-test',
  },
  {
    fixture: 'project-hook-create',
    header: 'Project Hook',
    event: 'project',
    outcome: 'ignored',
    project: 'group1/project1',
    group: 'group1',
  },
  {
    fixture: 'project-hook-destroy',
    header: 'Project Hook',
    event: 'project',
    outcome: 'ignored',
    project: 'group1/project1',
    group: 'group1',
  },
  {
    fixture: 'subgroup-hook-create',
    header: 'Subgroup Hook',
    event: 'subgroup',
    outcome: 'ignored',
    group: 'group1',
  },
  {
    fixture: 'subgroup-hook-destroy',
    header: 'Subgroup Hook',
    event: 'subgroup',
    outcome: 'ignored',
    group: 'group1',
  },
  // System hooks (instance-wide, not in SPEC): those that name a project.
  {
    fixture: 'system-hook-project-create',
    header: 'System Hook',
    event: 'system',
    outcome: 'ignored',
    project: 'jsmith/storecloud',
    group: 'jsmith',
  },
  {
    fixture: 'system-hook-push',
    header: 'System Hook',
    event: 'system',
    outcome: 'ignored',
    project: 'mike/diaspora',
    group: 'mike',
  },
  {
    fixture: 'system-hook-repository-update',
    header: 'System Hook',
    event: 'system',
    outcome: 'ignored',
    project: 'jsmith/example',
    group: 'jsmith',
  },
  {
    fixture: 'system-hook-group-rename',
    header: 'System Hook',
    event: 'system',
    outcome: 'ignored',
    group: 'parent-group',
  },
];

const RIGHT = 'the-right-secret';
const WRONG = 'a-wrong-secret';
const EVENT_LABELS = new Set(CASES.map((c) => c.event));

/** Every `project` label value in an exposition. */
function projectLabels(text: string): Set<string> {
  const seen = new Set<string>();
  for (const m of text.matchAll(/[{,]project="((?:[^"\\]|\\.)*)"/g)) seen.add(m[1] as string);
  return seen;
}

/** Every `event` label value of `delivery_webhook_requests_total{source="gitlab"}`. */
function eventLabels(text: string): Set<string> {
  const seen = new Set<string>();
  for (const m of text.matchAll(/^delivery_webhook_requests_total\{source="gitlab",event="([^"]*)"/gm)) {
    seen.add(m[1] as string);
  }
  return seen;
}

describe('GitLab event sweep: every documented webhook payload, right and wrong secret', () => {
  const setups: Array<{ name: string; key: (c: Case) => string }> = [
    // A project webhook: the secret is set for the project the body names.
    { name: 'project secret', key: (c) => c.project ?? c.group },
    // A group webhook on the top group: its secret covers everything below it.
    { name: 'group secret', key: (c) => c.group },
  ];
  for (const setup of setups) {
    describe(`with the ${setup.name}`, () => {
      for (const c of CASES) {
        it(`${c.header} (${c.fixture}): ${c.outcome} with it, 401 with a wrong one`, async () => {
          const app: TestApp = await startTestApp({
            [`GITLAB_WEBHOOK_TOKEN_${toUpperSnake(setup.key(c))}`]: RIGHT,
          });
          try {
            const body = fixture(c.fixture);
            const wrong = await postGitlab(app.url, body, { token: WRONG, event: c.header });
            const right = await postGitlab(app.url, body, { token: RIGHT, event: c.header, key: 'k1' });
            assert.deepEqual(
              { wrong: wrong.status, right },
              { wrong: 401, right: { status: 200, body: { outcome: c.outcome } } },
            );
            const text = await getMetrics(app.url);
            const requests = (outcome: string) =>
              sample(
                text,
                `delivery_webhook_requests_total{source="gitlab",event="${c.event}",outcome="${outcome}"}`,
              );
            assert.equal(requests(c.outcome), 1);
            assert.equal(requests('unauthorized'), 1);
            for (const label of eventLabels(text)) assert.ok(EVENT_LABELS.has(label), `event="${label}"`);
            // The only project a series may name is the one the body names.
            const allowed = new Set(c.project === undefined ? [] : [c.project]);
            assert.deepEqual(
              [...projectLabels(text)].filter((p) => !allowed.has(p)),
              [],
            );
          } finally {
            await app.stop();
          }
        });
      }
    });
  }

  it('a group-level work item (not in the doc: shaped like its Issue Hook) makes no project series', async () => {
    // The doc shows no payload of a group work item (an epic); GitLab sends `project: null`
    // and names the group only in the item's URL.
    const issue = fixture('issue-hook');
    const body = {
      ...issue,
      object_kind: 'work_item',
      event_type: 'work_item',
      project: null,
      repository: null,
      object_attributes: {
        ...(issue.object_attributes as object),
        project_id: null,
        type: 'Epic',
        url: 'http://example.com/groups/gitlabhq/-/work_items/23',
      },
    };
    const app = await startTestApp({ GITLAB_WEBHOOK_TOKEN_GITLABHQ: RIGHT });
    try {
      assert.equal((await postGitlab(app.url, body, { token: WRONG, event: 'Issue Hook' })).status, 401);
      assert.deepEqual(await postGitlab(app.url, body, { token: RIGHT, event: 'Issue Hook' }), {
        status: 200,
        body: { outcome: 'ignored' },
      });
      assert.deepEqual([...projectLabels(await getMetrics(app.url))], []);
    } finally {
      await app.stop();
    }
  });

  it('system hooks that name no project path are refused whatever the secret (not in SPEC)', async () => {
    // A system hook is instance-wide, with one secret; this service checks the secret of the
    // project or group a body names. These documented system events name none it reads (a
    // user, a key, a top-level group by `path` only, or a project only by
    // `project_path_with_namespace`): only a project id key can authenticate the last.
    const app = await startTestApp({
      GITLAB_WEBHOOK_TOKEN_JSMITH_STORECLOUD: RIGHT,
      GITLAB_WEBHOOK_TOKEN_STORECLOUD: RIGHT,
    });
    try {
      for (const name of [
        'system-hook-user-create',
        'system-hook-group-create',
        'system-hook-member-approval',
        'system-hook-user-add-to-team',
      ]) {
        const res = await postGitlab(app.url, fixture(name), { token: RIGHT, event: 'System Hook' });
        assert.equal(res.status, 401, name);
      }
    } finally {
      await app.stop();
    }
    const byId = await startTestApp({ GITLAB_WEBHOOK_TOKEN_74: RIGHT });
    try {
      const body = fixture('system-hook-user-add-to-team');
      assert.deepEqual(await postGitlab(byId.url, body, { token: RIGHT, event: 'System Hook' }), {
        status: 200,
        body: { outcome: 'ignored' },
      });
      assert.deepEqual([...projectLabels(await getMetrics(byId.url))], ['74']);
    } finally {
      await byId.stop();
    }
  });
});
