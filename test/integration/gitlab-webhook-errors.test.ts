import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { FakeClock } from '../helpers/fake-clock.js';
import {
  build,
  deploymentHook,
  GITLAB_SECRET,
  jobHook,
  PROJECT,
  pipelineHook,
  postGitlab,
} from '../helpers/gitlab.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const OTHER = {
  ...PROJECT,
  id: 202,
  path_with_namespace: 'globex/web',
  web_url: 'https://gitlab.example.com/globex/web',
};
const ENV = {
  GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET,
  GITLAB_WEBHOOK_TOKEN_202: 'globex-secret',
  GITLAB_WEBHOOK_TOKEN_INITECH: 'initech-group-old,initech-group-new',
};
/** Writes one state row into a stopped service's data file, as an earlier version left it. */
function writeState(dir: string, key: string, value: unknown): void {
  const db = new Database(join(dir, 'delivery-metrics.sqlite'));
  try {
    db.prepare('INSERT INTO state (key, value, expires_at) VALUES (?, ?, NULL)').run(
      key,
      JSON.stringify(value),
    );
  } finally {
    db.close();
  }
}

const success = (id: number, project = PROJECT) =>
  jobHook({ id, status: 'success', startedAt: '2026-11-20T10:00:00Z', duration: 1, project });

describe('GitLab webhook intake: every answer of SPEC section 4', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await startTestApp(ENV);
  });
  afterEach(() => app.stop());

  const requests = async (outcome: string) =>
    sample(
      await getMetrics(app.url),
      `delivery_webhook_requests_total{source="gitlab",event="job",outcome="${outcome}"}`,
    );

  it('401 for a missing or wrong secret, counted as unauthorized, with nothing recorded', async () => {
    assert.equal((await postGitlab(app.url, success(1), { token: null })).status, 401);
    assert.equal((await postGitlab(app.url, success(1), { token: 'wrong' })).status, 401);
    assert.equal((await postGitlab(app.url, success(1), { token: '' })).status, 401);
    assert.equal(await requests('unauthorized'), 3);
    const text = await getMetrics(app.url);
    assert.doesNotMatch(text, /^delivery_job_runs_total\{/m);
    assert.doesNotMatch(text, /^delivery_webhook_last_received_timestamp_seconds\{/m);
  });

  it('answers the same with a query string or a trailing slash, and 405 to other methods', async () => {
    // POSTs to the exact path skip Koa (the hot path); everything else goes through it.
    const direct = await postGitlab(app.url, success(40), { path: '/webhooks/gitlab?source=hook' });
    assert.deepEqual(direct, { status: 200, body: { outcome: 'processed' } });
    const viaKoa = await postGitlab(app.url, success(41), { path: '/webhooks/gitlab/' });
    assert.deepEqual(viaKoa, { status: 200, body: { outcome: 'processed' } });
    assert.equal(
      (await postGitlab(app.url, success(40), { path: '/webhooks/gitlab/' })).body.outcome,
      'duplicate',
    );
    const bad = await postGitlab(app.url, '{', { path: '/webhooks/gitlab/' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error ?? '', /not JSON/);
    const get = await fetch(`${app.url}/webhooks/gitlab`);
    assert.equal(get.status, 405);
    assert.equal(await requests('processed'), 2);
  });

  it('401 for another project’s valid secret, in both directions', async () => {
    assert.equal((await postGitlab(app.url, success(1), { token: 'globex-secret' })).status, 401);
    assert.equal((await postGitlab(app.url, success(2, OTHER), { token: GITLAB_SECRET })).status, 401);
    assert.equal((await postGitlab(app.url, success(2, OTHER), { token: 'globex-secret' })).status, 200);
  });

  it('401 for a body that borrows one project’s id to write under another’s path', async () => {
    const forged = success(3, { ...OTHER, path_with_namespace: 'acme/payments-api' });
    assert.equal((await postGitlab(app.url, forged, { token: 'globex-secret' })).status, 401);
  });

  it('accepts a group’s secret, either value of its rotation list, for projects below it', async () => {
    const deep = {
      ...PROJECT,
      id: 303,
      path_with_namespace: 'initech/tps/reports',
      web_url: 'https://g.example.com/initech/tps/reports',
    };
    assert.equal((await postGitlab(app.url, success(4, deep), { token: 'initech-group-old' })).status, 200);
    assert.equal((await postGitlab(app.url, success(5, deep), { token: 'initech-group-new' })).status, 200);
    assert.equal((await postGitlab(app.url, success(6, deep), { token: GITLAB_SECRET })).status, 401);
    const text = await getMetrics(app.url);
    assert.equal(
      sample(
        text,
        'delivery_job_runs_total{source="gitlab",project="initech/tps/reports",ref="main",stage="test",job="rspec",status="success"}',
      ),
      2,
    );
  });

  it('200 ignored for group-only events (members, projects, subgroups, tokens) with the group’s secret', async () => {
    // Shapes of GitLab's hook_data builders, for a group webhook on `initech`: none names a
    // project object, only the group (or the new project's path).
    const at = { created_at: '2026-11-20T10:00:00Z', updated_at: '2026-11-20T10:00:00Z' };
    const member = {
      ...at,
      event_name: 'user_add_to_group',
      group_name: 'Initech',
      group_path: 'initech',
      group_id: 700,
      user_username: 'peter',
      user_id: 64,
      group_access: 'Developer',
      expires_at: null,
    };
    const project = {
      ...at,
      event_name: 'project_create',
      name: 'tps',
      path: 'tps',
      path_with_namespace: 'initech/tps',
      project_id: 701,
      owners: [],
      project_visibility: 'private',
    };
    const subgroup = {
      ...at,
      event_name: 'subgroup_create',
      name: 'TPS',
      path: 'tps',
      full_path: 'initech/tps',
      group_id: 702,
      parent_group_id: 700,
      parent_name: 'Initech',
      parent_path: 'initech',
      parent_full_path: 'initech',
    };
    const token = {
      object_kind: 'access_token',
      group_id: 700,
      group: { group_name: 'Initech', group_path: 'initech', full_path: 'initech', group_id: 700 },
      object_attributes: { user_id: 92, created_at: '2026-11-20 10:00:00 UTC', id: 27, name: 'ci' },
      event_name: 'expiring_access_token',
    };
    const hooks = [
      ['Member Hook', member],
      ['Project Hook', project],
      ['Subgroup Hook', subgroup],
      ['Resource Access Token Hook', token],
    ] as const;
    for (const [event, body] of hooks) {
      const res = await postGitlab(app.url, body, { event, token: 'initech-group-new' });
      assert.deepEqual(res, { status: 200, body: { outcome: 'ignored' } }, event);
      // Another group's or project's secret is still refused, except for the Member Hook (below).
      if (event === 'Member Hook') continue;
      assert.equal((await postGitlab(app.url, body, { event, token: GITLAB_SECRET })).status, 401, event);
    }
  });

  it('200 ignored for a subgroup’s Member Hook with any configured secret (it names only the last segment), 401 without one', async () => {
    // GitLab runs a subgroup's member hooks on the hooks of every group above it, and the body
    // names only `group_path: "tps"` of `initech/tps`: refusing it with initech's secret would
    // make GitLab disable initech's whole hook after four member changes.
    const member = {
      created_at: '2026-11-20T10:00:00Z',
      updated_at: '2026-11-20T10:00:00Z',
      event_name: 'user_add_to_group',
      group_name: 'TPS',
      group_path: 'tps',
      group_id: 702,
      user_username: 'peter',
      user_id: 64,
      group_access: 'Developer',
      expires_at: null,
    };
    const event = 'Member Hook';
    for (const token of ['initech-group-old', GITLAB_SECRET]) {
      assert.deepEqual(
        await postGitlab(app.url, member, { event, token }),
        { status: 200, body: { outcome: 'ignored' } },
        token,
      );
    }
    assert.doesNotMatch(
      await getMetrics(app.url),
      /^delivery_webhook_last_received_timestamp_seconds\{source="gitlab",project="tps"\}/m,
      'a group segment is no project',
    );
    assert.equal((await postGitlab(app.url, member, { event, token: 'not-configured' })).status, 401);
    assert.equal((await postGitlab(app.url, member, { event, token: null })).status, 401);
    // It can have no effect: a body naming only a group segment is never counted.
    const disguised = { ...success(80), project: undefined, project_id: undefined, repository: undefined };
    const forged = { ...disguised, group_path: 'tps' };
    const res = await postGitlab(app.url, forged, { event: 'Job Hook', token: 'initech-group-old' });
    assert.equal(res.status, 202);
    assert.doesNotMatch(await getMetrics(app.url), /^delivery_job_runs_total/m);
  });

  it('200 ignored for a Vulnerability Hook, which names its project only in object_attributes', async () => {
    // GitLab's documented example, for a project below the initech group.
    const vulnerability = {
      object_kind: 'vulnerability',
      object_attributes: {
        url: 'https://gitlab.example.com/initech/tps/-/security/vulnerabilities/1',
        title: 'REXML DoS vulnerability',
        state: 'confirmed',
        project_id: 703,
        severity: 'high',
        report_type: 'dependency_scanning',
        created_at: '2025-04-07T07:14:45.000Z',
        updated_at: '2025-04-07T07:14:45.000Z',
      },
    };
    const event = 'Vulnerability Hook';
    assert.deepEqual(await postGitlab(app.url, vulnerability, { event, token: 'initech-group-new' }), {
      status: 200,
      body: { outcome: 'ignored' },
    });
    assert.equal((await postGitlab(app.url, vulnerability, { event, token: GITLAB_SECRET })).status, 401);
  });

  it('reads an old Job Hook without a project object by its SSH URL, also under a relative URL root', async () => {
    // GitLab before the `project` object: `project_id` and `repository` only. On an instance
    // served under /gitlab, `homepage` carries that root; the SSH URL never does.
    for (const [id, ssh] of [
      [81, 'git@gitlab.example.com:acme/payments-api.git'],
      [82, 'ssh://git@gitlab.example.com:2222/acme/payments-api.git'],
    ] as const) {
      const old = {
        ...success(id),
        // Runners then had no `runner_type`; a shared one is an instance runner.
        runner: { id: 9, description: 'shared-runner', active: true, is_shared: id === 81 },
        project: undefined,
        repository: {
          name: 'payments-api',
          homepage: 'https://gitlab.example.com/gitlab/acme/payments-api',
          git_ssh_url: ssh,
        },
      };
      const res = await postGitlab(app.url, old, { event: 'Build Hook' });
      assert.deepEqual(res, { status: 200, body: { outcome: 'processed' } }, ssh);
    }
    const text = await getMetrics(app.url);
    assert.equal(
      sample(
        text,
        'delivery_job_runs_total{source="gitlab",project="acme/payments-api",ref="main",stage="test",job="rspec",status="success"}',
      ),
      2,
    );
    const Q = 'delivery_job_queued_seconds_count{source="gitlab",project="acme/payments-api"';
    assert.equal(sample(text, `${Q},runner_type="instance"}`), 1);
    assert.equal(sample(text, `${Q},runner_type="unknown"}`), 1);
    // The pre-9.3 event name counts as a job event.
    assert.equal(
      sample(text, 'delivery_webhook_requests_total{source="gitlab",event="job",outcome="processed"}'),
      2,
    );
  });

  it('401 for a project no secret is configured for', async () => {
    const stranger = {
      ...PROJECT,
      id: 999,
      path_with_namespace: 'nobody/here',
      web_url: 'https://g.example.com/nobody/here',
    };
    assert.equal((await postGitlab(app.url, success(7, stranger), { token: GITLAB_SECRET })).status, 401);
  });

  it('400 naming the problem for a body that is not JSON', async () => {
    const res = await postGitlab(app.url, '{"object_kind": "build",', { event: 'Job Hook' });
    assert.equal(res.status, 400);
    assert.match(res.body.error ?? '', /body is not JSON/);
    assert.equal(await requests('rejected'), 1);
  });

  it('415 for a content type other than JSON', async () => {
    const res = await postGitlab(app.url, JSON.stringify(success(8)), {
      contentType: 'application/x-www-form-urlencoded',
    });
    assert.equal(res.status, 415);
  });

  it('415 for a compressed body, without echoing its bytes', async () => {
    const res = await fetch(`${app.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Content-Encoding': 'gzip',
        'X-Gitlab-Event': 'Job Hook',
        'X-Gitlab-Token': GITLAB_SECRET,
      },
      body: gzipSync(JSON.stringify(success(12))),
    });
    assert.equal(res.status, 415);
    assert.deepEqual(await res.json(), {
      error: "content encoding 'gzip' is not accepted: send the body uncompressed",
    });
  });

  it('413 for a body over 10 MiB', async () => {
    const big = JSON.stringify({ ...success(9), padding: 'x'.repeat(10 * 1024 * 1024) });
    const res = await postGitlab(app.url, big);
    assert.equal(res.status, 413);
  });

  it('counts a client that hangs up mid-body as rejected, without logging a server error', async () => {
    const { port } = new URL(app.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /webhooks/gitlab HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `X-Gitlab-Event: Job Hook\r\nX-Gitlab-Token: ${GITLAB_SECRET}\r\nContent-Length: 1000\r\n\r\n{"object_kind":`,
    );
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const deadline = Date.now() + 5000;
    while ((await requests('rejected')) !== 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(await requests('rejected'), 1);
    assert.deepEqual(
      app.logs.filter((l) => (l.level as number) >= 50),
      [],
      'no error-level line for the client’s hang-up',
    );
  });

  it('202 invalid for authentic JSON that does not fit the schema, counted, nothing recorded', async () => {
    const { build_id: _, ...noId } = success(10);
    const res = await postGitlab(app.url, noId);
    assert.equal(res.status, 202);
    assert.equal(res.body.outcome, 'invalid');
    assert.match(res.body.error ?? '', /build_id/);
    const bad = await postGitlab(app.url, { ...success(11), build_duration: 'long' });
    assert.equal(bad.status, 202);
    assert.match(bad.body.error ?? '', /build_duration/);
    assert.equal(await requests('invalid'), 2);
    // The warning names the project, so an operator can tell which hook sends it.
    assert.ok(
      app.logs.some(
        (l) => l.msg === 'webhook payload does not fit the schema' && l.project === 'acme/payments-api',
      ),
    );
    assert.doesNotMatch(await getMetrics(app.url), /^delivery_job_runs_total\{/m);
  });

  it('503 when the store is unavailable, and nothing recorded', async () => {
    await app.service.store.close();
    const res = await postGitlab(app.url, success(12));
    assert.equal(res.status, 503);
    assert.equal(await requests('rejected'), 1);
    assert.doesNotMatch(await getMetrics(app.url), /^delivery_job_runs_total\{/m);
  });
});

describe('delivery_jobs_active expiry', () => {
  it('forgets a job after 24 h without news', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 20, 10, 0));
    const app = await startTestApp(ENV, { clock });
    try {
      await postGitlab(app.url, jobHook({ id: 20, status: 'pending' }));
      clock.advance(3600);
      await postGitlab(
        app.url,
        jobHook({ id: 21, status: 'running', startedAt: '2026-11-20T11:00:00Z', runnerType: 'group_type' }),
      );
      const series = (state: string, runner: string) =>
        `delivery_jobs_active{source="gitlab",project="acme/payments-api",runner_type="${runner}",state="${state}"}`;
      clock.advance(23 * 3600 + 1);
      assert.equal(await app.service.processor.expireActiveJobs(), 1);
      let text = await getMetrics(app.url);
      assert.equal(sample(text, series('pending', 'unknown')), 0);
      assert.equal(sample(text, series('running', 'group')), 1);
      clock.advance(3600);
      assert.equal(await app.service.processor.expireActiveJobs(), 1);
      text = await getMetrics(app.url);
      assert.equal(sample(text, series('running', 'group')), 0);
      // A job that finishes after it expired does not go below zero.
      await postGitlab(
        app.url,
        jobHook({
          id: 21,
          status: 'success',
          startedAt: '2026-11-20T11:00:00Z',
          duration: 5,
          runnerType: 'group_type',
        }),
      );
      assert.equal(sample(await getMetrics(app.url), series('running', 'group')), 0);
    } finally {
      await app.stop();
    }
  });
});

describe('GitLab job statuses that fold into one', () => {
  it('answer each of GitLab’s own statuses as news, and keep a job that still gets news from expiring', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 20, 10, 0));
    const app = await startTestApp(ENV, { clock });
    try {
      const at = (status: string) => jobHook({ id: 30, status, startedAt: null });
      const outcome = async (status: string) => (await postGitlab(app.url, at(status))).body.outcome;
      assert.equal(await outcome('created'), 'processed');
      assert.equal(await outcome('waiting_for_resource'), 'processed');
      // A resource group keeps it waiting for most of a day; then it is queued for a runner.
      clock.advance(23 * 3600);
      assert.equal(await outcome('preparing'), 'processed');
      assert.equal(await outcome('pending'), 'processed');
      assert.equal(await outcome('pending'), 'duplicate');
      clock.advance(3600 + 600);
      assert.equal(await app.service.processor.expireActiveJobs(), 0, 'it had news 70 minutes ago');
      assert.equal(
        sample(
          await getMetrics(app.url),
          'delivery_jobs_active{source="gitlab",project="acme/payments-api",runner_type="unknown",state="pending"}',
        ),
        1,
      );
    } finally {
      await app.stop();
    }
  });
});

describe('GitLab job statuses in any order', () => {
  it('leave the same delivery_jobs_active series whatever order they arrive in', async () => {
    const lifecycle = (id: number) => [
      jobHook({ id, status: 'waiting_for_resource', startedAt: null }),
      jobHook({ id, status: 'preparing', startedAt: null, runnerType: 'instance_type' }),
      jobHook({
        id,
        status: 'success',
        startedAt: '2026-11-20T10:00:00Z',
        duration: 5,
        runnerType: 'instance_type',
      }),
    ];
    const active = async (hooks: Array<Record<string, unknown>>) => {
      const app = await startTestApp(ENV);
      try {
        for (const hook of hooks) await postGitlab(app.url, hook);
        return (await getMetrics(app.url))
          .split('\n')
          .filter((l) => l.startsWith('delivery_jobs_active{'))
          .sort();
      } finally {
        await app.stop();
      }
    };
    const inOrder = await active(lifecycle(40));
    assert.deepEqual(await active(lifecycle(40).reverse()), inOrder);
    assert.ok(inOrder.some((l) => l.includes('runner_type="instance",state="pending"')));
  });
});

describe('a project that keeps sending pipelines', () => {
  it('is still known to send them after a restart, more than 30 days after its first', async () => {
    const dir = tempDir();
    const clock = new FakeClock(Date.UTC(2026, 10, 1, 10, 0));
    const day = 86_400;
    let app = await startTestApp({ ...ENV, DATA_DIR: dir }, { clock });
    try {
      await postGitlab(app.url, pipelineHook({ id: 7400, status: 'running' }));
      clock.advance(20 * day);
      await postGitlab(app.url, pipelineHook({ id: 7401, status: 'running' }));
      clock.advance(15 * day);
      await app.stop();
      app = await startTestApp({ ...ENV, DATA_DIR: dir }, { clock });
      // A job on main whose pipeline is not known yet waits for it (it may be for an external
      // pull request), as the project sends pipelines.
      const job = jobHook({
        id: 7410,
        status: 'success',
        pipelineId: 7402,
        startedAt: '2026-12-06T10:00:00Z',
        duration: 3,
      });
      await postGitlab(app.url, job);
      assert.doesNotMatch(await getMetrics(app.url), /^delivery_job_runs_total\{[^}]*ref="main"/m);
    } finally {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a job whose ref label depends on its pipeline', () => {
  const L = (ref: string) =>
    `delivery_job_runs_total{source="gitlab",project="acme/payments-api",ref="${ref}",stage="test",job="rspec",status="success"}`;
  const finished = (id: number, pipelineId: number) =>
    jobHook({
      id,
      status: 'success',
      ref: 'feature/z',
      pipelineId,
      startedAt: '2026-11-20T10:00:00Z',
      duration: 7,
    });

  it('waits for its pipeline, then takes its ref; without one it is counted as branch after an hour', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 20, 10, 0));
    const app = await startTestApp(ENV, { clock });
    try {
      await postGitlab(app.url, finished(31, 6001));
      await postGitlab(app.url, finished(32, 6002));
      let text = await getMetrics(app.url);
      assert.equal(sample(text, L('branch')), undefined);
      assert.equal(sample(text, L('merge_request')), undefined);
      // Its duplicate changes nothing while it waits.
      assert.equal((await postGitlab(app.url, finished(31, 6001))).body.outcome, 'duplicate');
      await postGitlab(
        app.url,
        pipelineHook({
          id: 6001,
          status: 'running',
          ref: 'feature/z',
          source: 'merge_request_event',
          mergeRequest: true,
        }),
      );
      text = await getMetrics(app.url);
      assert.equal(sample(text, L('merge_request')), 1);
      assert.equal(
        sample(
          text,
          `delivery_job_duration_seconds_sum${L('merge_request').slice('delivery_job_runs_total'.length)}`,
        ),
        7,
      );
      clock.advance(3601);
      await app.service.processor.expireActiveJobs();
      text = await getMetrics(app.url);
      assert.equal(sample(text, L('branch')), 1);
      assert.equal(sample(text, L('merge_request')), 1);
    } finally {
      await app.stop();
    }
  });

  it('keeps each waiting job under a key of its own, and still releases lists an older version kept', async () => {
    const dir = tempDir();
    const clock = new FakeClock(Date.UTC(2026, 10, 20, 10, 0));
    const first = await startTestApp({ ...ENV, DATA_DIR: dir }, { clock });
    try {
      for (const id of [41, 42, 43]) await postGitlab(first.url, finished(id, 6101));
    } finally {
      await first.stop();
    }
    const db = new Database(join(dir, 'delivery-metrics.sqlite'));
    try {
      const rows = db
        .prepare("SELECT key, length(value) AS size FROM state WHERE key LIKE 'deferred:%' ORDER BY key")
        .all() as Array<{ key: string; size: number }>;
      // One small row per job, not one list rewritten whole for every job.
      assert.deepEqual(
        rows.map((r) => r.key),
        ['deferred:gitlab:101:6101:41', 'deferred:gitlab:101:6101:42', 'deferred:gitlab:101:6101:43'],
      );
      // The shape an older version kept: the pipeline's whole list under its own key.
      const old = JSON.parse(
        db
          .prepare('SELECT value FROM state WHERE key = ?')
          .pluck()
          .get('deferred:gitlab:101:6101:41') as string,
      ) as Record<string, unknown>;
      db.prepare('INSERT INTO state (key, value, expires_at) VALUES (?, ?, NULL)').run(
        'deferred:gitlab:101:6102',
        JSON.stringify([old, { ...old, job: 'lint' }]),
      );
    } finally {
      db.close();
    }
    const again = await startTestApp({ ...ENV, DATA_DIR: dir }, { clock });
    try {
      for (const id of [6101, 6102]) {
        await postGitlab(
          again.url,
          pipelineHook({
            id,
            status: 'running',
            ref: 'feature/z',
            source: 'merge_request_event',
            mergeRequest: true,
          }),
        );
      }
      const text = await getMetrics(again.url);
      assert.equal(sample(text, L('merge_request')), 4);
      assert.equal(sample(text, L('merge_request').replace('job="rspec"', 'job="lint"')), 1);
      // Released: nothing is left to count again an hour later.
      clock.advance(3601);
      assert.equal(await again.service.processor.expireActiveJobs(), 0);
    } finally {
      await again.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('reads the environment state an older version kept: the latest finish and its failing streak', async () => {
    const dir = tempDir();
    const first = await startTestApp({ ...ENV, DATA_DIR: dir });
    await first.stop();
    // Failing since 09:00, last failure 09:30 (unix seconds).
    writeState(dir, 'environment:gitlab:101:production', {
      t: Date.UTC(2026, 10, 20, 9, 30) / 1000,
      failingSince: Date.UTC(2026, 10, 20, 9) / 1000,
    });
    const again = await startTestApp({ ...ENV, DATA_DIR: dir });
    try {
      await postGitlab(
        again.url,
        deploymentHook({ id: 900, status: 'failed', at: '2026-11-20 09:10:00 +0000' }),
      );
      await postGitlab(
        again.url,
        deploymentHook({ id: 901, status: 'success', at: '2026-11-20 10:00:00 +0000' }),
      );
      const text = await getMetrics(again.url);
      const E = 'source="gitlab",project="acme/payments-api",environment="production"';
      assert.equal(sample(text, `delivery_environment_up{${E}}`), 1);
      assert.equal(sample(text, `delivery_environment_recovery_seconds_count{${E}}`), 1);
      assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 3600);
    } finally {
      await again.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends a review app’s failing streak begun before the upgrade, kept then under its folded label', async () => {
    const dir = tempDir();
    const first = await startTestApp({ ...ENV, DATA_DIR: dir });
    await first.stop();
    writeState(dir, 'environment:gitlab:101:review/*', {
      h: [[Date.UTC(2026, 10, 20, 10) / 1000, 0, '910', 0]],
    });
    const again = await startTestApp({ ...ENV, DATA_DIR: dir });
    try {
      await postGitlab(
        again.url,
        deploymentHook({
          id: 911,
          status: 'success',
          at: '2026-11-20 11:00:00 +0000',
          environment: 'review/feature-a',
        }),
      );
      const text = await getMetrics(again.url);
      const E = 'source="gitlab",project="acme/payments-api",environment="review/*"';
      assert.equal(sample(text, `delivery_environment_recovery_seconds_count{${E}}`), 1);
      assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 3600);
    } finally {
      await again.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a pipeline that finishes again weeks later (a manual job played)', () => {
  it('counts its new job only: not its old jobs, nor its success, nor its queue time again', async () => {
    const clock = new FakeClock(Date.UTC(2026, 10, 1, 12, 0));
    const app = await startTestApp(ENV, { clock });
    try {
      const at = (ms: number) => new Date(ms).toISOString();
      const t0 = clock.now();
      const oldBuild = build({
        id: 7600,
        name: 'compile',
        stage: 'build',
        status: 'success',
        startedAt: at(t0 - 3_000_000),
        finishedAt: at(t0 - 1_800_000),
        duration: 1200,
        queued: 30,
      });
      const gate = (status: string, finishedAt: string | null) =>
        build({
          id: 7601,
          name: 'ship',
          stage: 'deploy',
          status,
          finishedAt,
          duration: finishedAt ? 60 : null,
        });
      const hook = (finishedAt: string, builds: Array<Record<string, unknown>>) =>
        pipelineHook({ id: 7650, status: 'success', finishedAt, duration: 1210, queued: 5, builds });
      const sent = async (body: Record<string, unknown>) =>
        assert.equal((await postGitlab(app.url, body)).status, 200);
      await sent(hook(at(t0 - 1_800_000), [oldBuild, gate('manual', null)]));

      // Three weeks later, past the 14 days lifecycle state is kept, the gate is played.
      clock.advance(21 * 86_400);
      const t1 = clock.now();
      // Its hooks as the gate runs, then finishes: each lists the old build again.
      await sent(pipelineHook({ id: 7650, status: 'running', builds: [oldBuild, gate('running', null)] }));
      await sent(hook(at(t1), [oldBuild, gate('success', at(t1))]));
      const text = await getMetrics(app.url);
      const P = 'source="gitlab",project="acme/payments-api"';
      const job = (stage: string, name: string) =>
        sample(
          text,
          `delivery_job_runs_total{${P},ref="main",stage="${stage}",job="${name}",status="success"}`,
        );
      assert.equal(job('build', 'compile'), 1);
      assert.equal(job('deploy', 'ship'), 1);
      assert.equal(
        sample(text, `delivery_pipeline_runs_total{${P},pipeline="push",ref="main",status="success"}`),
        1,
      );
      assert.equal(
        sample(text, `delivery_pipeline_queued_seconds_count{${P},pipeline="push",ref="main"}`),
        1,
      );
      assert.equal(sample(text, `delivery_job_queued_seconds_count{${P},runner_type="unknown"}`), 1);
      assert.equal(
        sample(text, `delivery_pipeline_last_run_timestamp_seconds{${P},pipeline="push",ref="main"}`),
        Math.floor(t1 / 1000),
      );
    } finally {
      await app.stop();
    }
  });
});
