/**
 * GitHub workflow_job ingest (issue: "workflow_job ingest side by side with a bare node:http
 * server that reads the body, checks the HMAC and answers 204. Target: at least 50% of its
 * throughput").
 *
 * The body is the `completed` workflow_job example of @octokit/webhooks-examples (GitHub's
 * documented payload), compact JSON as GitHub sends it. Every request carries a
 * workflow_job.id and an X-GitHub-Delivery never sent before (so each is a new delivery and a
 * new job for the service) and is signed: wrk's Lua computes X-Hub-Signature-256 (HMAC-SHA256,
 * bench/lib/lua/hmac-sha256.lua) for each body it sends. The Lua HMAC is checked against
 * node:crypto before anything is measured: test vectors computed here and the bench's own body
 * at every script load, then the bare server (node:crypto) verifies the signatures of a check
 * run and of every measured request.
 *
 * Signing cost: the id is the one part of the body that changes, so the body is laid out with
 * `workflow_job` as the last top-level key and `id` as its last key (JSON objects are unordered:
 * the service and GitHub's schema see the same payload). The HMAC's inner hash of the key block
 * and of the constant ~9 KB prefix is then computed once per script; per request only the last
 * one or two 64-byte blocks and the outer hash remain (~5 us). Hashing the whole body per request
 * instead (the id where GitHub puts it, near the start) costs ~160 us of wrk's single core per
 * request: measured, wrk then sat at 100% CPU and topped out near 6,500 req/s while the bare
 * server idled at half a core, so wrk, not the servers, would have set the rates.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { type WebhookBenchSpec, webhookBench } from './lib/webhook-bench.js';

const SECRET = `bench-github-${randomUUID()}`;
const PLACEHOLDER = '__BENCH_WORKFLOW_JOB_ID__';
/** Actions job ids are in the tens of billions by now; each wrk run takes a fresh block above this. */
const FIRST_ID = 30_000_000_000;

interface Example {
  readonly action?: string;
  readonly workflow_job?: { readonly created_at?: string; readonly conclusion?: string | null };
  readonly [key: string]: unknown;
}

function completedExample(): Example {
  const all = createRequire(import.meta.url)('@octokit/webhooks-examples') as ReadonlyArray<{
    name: string;
    examples: readonly Example[];
  }>;
  const examples = all.find((e) => e.name === 'workflow_job')?.examples ?? [];
  const completed = examples.filter(
    (e) => e.action === 'completed' && typeof e.workflow_job?.created_at === 'string',
  );
  const chosen = completed.find((e) => e.workflow_job?.conclusion === 'success') ?? completed[0];
  if (chosen === undefined) {
    throw new Error('@octokit/webhooks-examples has no completed workflow_job example with created_at');
  }
  return chosen;
}

function workflowJobTemplate(): { prefix: string; suffix: string; sample: string; example: Example } {
  const example = completedExample();
  const { workflow_job: job, ...rest } = example;
  const { id: _id, ...jobFields } = job as Record<string, unknown>;
  // workflow_job last, its id last: everything before the id is the same for every request.
  const text = JSON.stringify({ ...rest, workflow_job: { ...jobFields, id: PLACEHOLDER } });
  const marker = JSON.stringify(PLACEHOLDER);
  const at = text.indexOf(marker);
  if (at < 0 || text.indexOf(marker, at + 1) >= 0) throw new Error('the id placeholder must occur once');
  const prefix = text.slice(0, at);
  const suffix = text.slice(at + marker.length);
  return { prefix, suffix, sample: `${prefix}${FIRST_ID}${suffix}`, example };
}

const template = workflowJobTemplate();
const bodyBytes = Buffer.byteLength(template.sample, 'utf8');
const repository = template.example.repository as { id?: number; full_name?: string } | undefined;
const HEADERS = {
  'Content-Type': 'application/json',
  'User-Agent': 'GitHub-Hookshot/2b7d6c4',
  'X-GitHub-Event': 'workflow_job',
  'X-GitHub-Hook-ID': '421337042',
  'X-GitHub-Hook-Installation-Target-Type': 'repository',
  'X-GitHub-Hook-Installation-Target-ID': String(repository?.id ?? 0),
};
const DELIVERY_PREFIX = randomUUID().slice(0, 24);

/** What the bench sends and to whom (exported for ad-hoc runs and profiling). */
export const githubWebhookSpec: WebhookBenchSpec = {
  name: 'github-webhook',
  description:
    'GitHub workflow_job ingest (signed, new job each request) vs a bare node:http server that checks the HMAC',
  resultFile: 'github-webhook-latest.json',
  source: 'github',
  event: 'workflow_job',
  template: {
    method: 'POST',
    path: '/webhooks/github',
    headers: HEADERS,
    bodyPrefix: template.prefix,
    bodySuffix: template.suffix,
    idHeaders: { 'X-GitHub-Delivery': DELIVERY_PREFIX },
    signature: { header: 'X-Hub-Signature-256', secret: SECRET },
  },
  serviceEnv: { GITHUB_WEBHOOK_SECRET: SECRET },
  bare: {
    script: 'bare-github.mjs',
    label: 'bare node:http (HMAC)',
    env: { GITHUB_WEBHOOK_SECRET: SECRET },
    checkRequests: 200,
    checkProves: "wrk's Lua HMAC-SHA256 signatures verified by node:crypto",
  },
  firstId: FIRST_ID,
  targets: { minRatio: 0.5, maxP99Ms: 20 },
  describe: [
    `Body: @octokit/webhooks-examples workflow_job "completed" (conclusion ${String(template.example.workflow_job?.conclusion)}, ` +
      `${repository?.full_name ?? '?'}), ${bodyBytes} bytes of compact JSON, laid out with workflow_job last and its id last. ` +
      'Every request has a new workflow_job.id and X-GitHub-Delivery: none is a duplicate of an earlier one.',
    "Signing: per request, in wrk's Lua (pure-LuaJIT HMAC-SHA256, the constant prefix pre-hashed once): no precomputed " +
      'rotation. Checked against node:crypto at every script load (test vectors and this body).',
  ],
  requestInfo: {
    bodyBytes,
    headers: HEADERS,
    perRequest: ['workflow_job.id', 'X-GitHub-Delivery', 'X-Hub-Signature-256'],
    signing:
      'per request in Lua, HMAC-SHA256 with the constant body prefix pre-hashed; no rotation, no duplicates',
    layout: 'workflow_job moved to the end of the payload and id to the end of workflow_job',
    sampleBody: JSON.parse(template.sample) as unknown,
  },
};

export const githubWebhookBench = webhookBench(githubWebhookSpec);
