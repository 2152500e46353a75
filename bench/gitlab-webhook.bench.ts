/**
 * GitLab Job Hook ingest (issue: "ingest of a realistic ~4 KB Job Hook (distinct job ids; token
 * check, dedupe, durable store write, metric update) side by side in one run with a bare
 * node:http server that reads the same body, JSON.parses it and answers 204. Target: at least
 * 50% of the bare server's throughput, p99 at most 20 ms at 32 connections").
 *
 * The body is GitLab's documented Job Hook (test/fixtures/gitlab/job-hook.json) shaped the way
 * test/helpers/gitlab.ts `jobHook()` shapes it for project 101 acme/payments-api: a successful
 * job on main with real timestamps, durations and runner, and a longer commit message, as
 * GitLab sends it (compact JSON, about 4 KB). Every request carries a build_id never sent
 * before, so each one is a new job for the service: token check, job state read, dedupe claim,
 * state and metric writes, durable commit.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type WebhookBenchSpec, webhookBench } from './lib/webhook-bench.js';

const SECRET = `bench-gitlab-${randomUUID()}`;
const PLACEHOLDER = '__BENCH_BUILD_ID__';
/** GitLab job ids are in the billions by now; each wrk run takes a fresh block above this. */
const FIRST_ID = 7_000_000_000;
const PIPELINE_ID = 1_520_000_481;
const SHA = '8d3f1c0a9be24e7d5c61f0a3b2e94d7c16a5f803';
const BEFORE_SHA = '52c41b7e0d9af3318e6bb2f94a07c1d8e3f65a29';

const PROJECT = {
  id: 101,
  name: 'payments-api',
  description: 'Card and SEPA payment orchestration: authorisation, capture, refunds and settlement exports.',
  web_url: 'https://gitlab.example.com/acme/payments-api',
  avatar_url: null,
  git_ssh_url: 'git@gitlab.example.com:acme/payments-api.git',
  git_http_url: 'https://gitlab.example.com/acme/payments-api.git',
  namespace: 'acme',
  visibility_level: 0,
  path_with_namespace: 'acme/payments-api',
  default_branch: 'main',
};

/** A squash-merge commit message of the kind that makes real Job Hooks a few KB long. */
const COMMIT_MESSAGE = `Retry settlement export uploads with exponential backoff (!4821)

The nightly settlement export to the acquirer's SFTP drop occasionally fails with a
transient "connection reset by peer" when their load balancer recycles connections. Until
now a single failure aborted the whole export, and someone on call had to re-run it by hand
the next morning, which pushed reconciliation past the 09:00 cut-off twice last month.

This change:

- wraps each file upload in a retry loop with exponential backoff (1 s, 2 s, 4 s, 8 s, 16 s)
  and full jitter, capped at five attempts per file;
- keeps the already uploaded files of a batch instead of starting the batch over, using the
  acquirer's checksum listing to skip files that arrived intact;
- records every attempt in settlement_export_attempts so that the reconciliation dashboard
  can show how often the drop flaps, per acquirer and per hour;
- adds the payments_settlement_upload_retries_total counter, labelled by acquirer and by
  outcome (retried, recovered, gave_up);
- moves the SFTP host key pinning into config/acquirers.yml, so that a rotated key is a
  configuration change instead of a release.

Tests: unit tests for the backoff schedule and for the resume logic, an integration test
against a fake SFTP server that drops every third connection, and a contract test for the
attempts table migration (forward and backward).

Rollout: behind the settlement_export_retries feature flag, enabled for the sandbox acquirer
first, then for all acquirers once a week of nightly runs has passed without manual re-runs.

Changelog: fixed
Closes: PAY-1184
Refs: PAY-1102, INC-2291
Reviewed-by: Priya Raman <priya.raman@acme.example>
Reviewed-by: Tomasz Wielgosz <tomasz.wielgosz@acme.example>
Co-authored-by: Lea Fontaine <lea.fontaine@acme.example>
Signed-off-by: Jonas Berger <jonas.berger@acme.example>
`;

function jobHookTemplate(): { prefix: string; suffix: string; sample: string } {
  const fixture = JSON.parse(
    readFileSync(new URL('../test/fixtures/gitlab/job-hook.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  // source_pipeline is only there for jobs of pipelines triggered by another project's.
  const { source_pipeline: _triggeredOnly, ...base } = fixture;
  const body = {
    ...base,
    ref: 'main',
    tag: false,
    before_sha: BEFORE_SHA,
    sha: SHA,
    build_id: PLACEHOLDER,
    build_name: 'rspec 3/8',
    build_stage: 'test',
    build_status: 'success',
    build_created_at: '2026-11-20T10:00:00.000Z',
    build_created_at_iso: '2026-11-20T10:00:00Z',
    build_started_at: '2026-11-20T10:00:41.512Z',
    build_started_at_iso: '2026-11-20T10:00:41Z',
    build_finished_at: '2026-11-20T10:04:13.907Z',
    build_finished_at_iso: '2026-11-20T10:04:13Z',
    build_duration: 212.395071,
    build_queued_duration: 41.207393,
    build_allow_failure: false,
    build_failure_reason: null,
    retries_count: 0,
    pipeline_id: PIPELINE_ID,
    project_id: PROJECT.id,
    project_name: 'acme / payments-api',
    user: {
      id: 4187,
      name: 'Jonas Berger',
      username: 'jberger',
      avatar_url: 'https://secure.gravatar.com/avatar/3f0c4b8e5f6d2a1b9c7e8d6f5a4b3c2d?s=80&d=identicon',
      email: '[REDACTED]',
    },
    commit: {
      id: PIPELINE_ID,
      name: null,
      sha: SHA,
      message: COMMIT_MESSAGE,
      author_name: 'Jonas Berger',
      author_email: 'jonas.berger@acme.example',
      author_url: 'https://gitlab.example.com/jberger',
      status: 'running',
      duration: null,
      started_at: '2026-11-20 10:00:38 UTC',
      started_at_iso: '2026-11-20T10:00:38Z',
      finished_at: null,
      finished_at_iso: null,
    },
    repository: {
      name: PROJECT.name,
      url: PROJECT.git_ssh_url,
      description: PROJECT.description,
      homepage: PROJECT.web_url,
      git_ssh_url: PROJECT.git_ssh_url,
      git_http_url: PROJECT.git_http_url,
      visibility_level: PROJECT.visibility_level,
    },
    project: { ...PROJECT, ci_config_path: '' },
    runner: {
      id: 12270837,
      description: '4-green.saas-linux-small-amd64.runners-manager.gitlab.example.com/default',
      runner_type: 'instance_type',
      active: true,
      is_shared: true,
      tags: ['saas-linux-small-amd64', 'docker'],
    },
    environment: null,
  };
  const text = JSON.stringify(body);
  const marker = JSON.stringify(PLACEHOLDER);
  const at = text.indexOf(marker);
  if (at < 0 || text.indexOf(marker, at + 1) >= 0)
    throw new Error('the build_id placeholder must occur once');
  const prefix = text.slice(0, at);
  const suffix = text.slice(at + marker.length);
  return { prefix, suffix, sample: `${prefix}${FIRST_ID}${suffix}` };
}

const template = jobHookTemplate();
const bodyBytes = Buffer.byteLength(template.sample, 'utf8');
const HEADERS = {
  'Content-Type': 'application/json',
  'User-Agent': 'GitLab/17.6.0',
  'X-Gitlab-Event': 'Job Hook',
  'X-Gitlab-Token': SECRET,
  'X-Gitlab-Instance': 'https://gitlab.example.com',
  'X-Gitlab-Webhook-UUID': 'b3f4c0de-5a2e-4e0b-9d6a-51c2a7e0f3aa',
};
const KEY_PREFIX = `${randomUUID().slice(0, 24)}`;

/** What the bench sends and to whom (exported for ad-hoc runs and profiling). */
export const gitlabWebhookSpec: WebhookBenchSpec = {
  name: 'gitlab-webhook',
  description:
    'GitLab Job Hook ingest (~4 KB, new job each request) vs a bare node:http server that JSON.parses',
  resultFile: 'gitlab-webhook-latest.json',
  source: 'gitlab',
  event: 'job',
  template: {
    method: 'POST',
    path: '/webhooks/gitlab',
    headers: HEADERS,
    bodyPrefix: template.prefix,
    bodySuffix: template.suffix,
    // GitLab (17.4+) sends a unique Idempotency-Key with every delivery, and X-Gitlab-Event-UUID.
    idHeaders: { 'Idempotency-Key': KEY_PREFIX, 'X-Gitlab-Event-UUID': KEY_PREFIX },
  },
  // The token must match every key that names the project: its path and its id.
  serviceEnv: { GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: SECRET, GITLAB_WEBHOOK_TOKEN_101: SECRET },
  bare: {
    script: 'bare-gitlab.mjs',
    label: 'bare node:http (JSON.parse)',
    env: {},
    checkRequests: 20,
    checkProves: 'the bodies wrk builds are valid JSON',
  },
  firstId: FIRST_ID,
  targets: { minRatio: 0.5, maxP99Ms: 20 },
  describe: [
    `Body: GitLab's documented Job Hook (test/fixtures/gitlab/job-hook.json) for project 101 acme/payments-api, ` +
      `build_status success on main, runner instance_type, ${bodyBytes} bytes of compact JSON. wrk's Lua writes a ` +
      'new build_id into the same template for every request (each request is a new job), plus a unique ' +
      'Idempotency-Key and X-Gitlab-Event-UUID as GitLab sends them; the bare server gets the same bytes.',
  ],
  requestInfo: {
    bodyBytes,
    headers: { ...HEADERS, 'X-Gitlab-Token': '(random per run)' },
    perRequest: ['build_id', 'Idempotency-Key', 'X-Gitlab-Event-UUID'],
    sampleBody: JSON.parse(template.sample) as unknown,
  },
};

export const gitlabWebhookBench = webhookBench(gitlabWebhookSpec);
