import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { example, GITHUB_SECRET, linters, postGithub, sign } from '../helpers/github.js';
import { GITLAB_SECRET, PROJECT, postGitlab, releaseHook } from '../helpers/gitlab.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';

const REPO = 'source="github",project="Codertocat/Hello-World"';

function run(changes: Record<string, unknown>) {
  const payload = example(
    'workflow_run',
    (e) => (e.workflow_run as { conclusion: string }).conclusion === 'success',
  );
  Object.assign(payload.workflow_run as object, changes);
  return payload;
}

describe('GitHub webhooks (SPEC sections 4 and 5)', () => {
  let app: TestApp;
  let metrics: () => Promise<string>;
  beforeEach(async () => {
    app = await startTestApp({
      GITHUB_WEBHOOK_SECRET: `old-secret,${GITHUB_SECRET}`,
      GITHUB_WEBHOOK_SECRET_LINEVILLE: 'lineville-secret',
    });
    metrics = () => getMetrics(app.url);
  });
  afterEach(() => app.stop());

  async function send(
    event: string,
    payload: unknown,
    o: Parameters<typeof postGithub>[3] = {},
  ): Promise<string | undefined> {
    const res = await postGithub(app.url, event, payload, o);
    assert.ok(res.status === 200 || res.status === 202, `${res.status} ${JSON.stringify(res.body)}`);
    return res.body.outcome;
  }

  it('follow a job through queued, in_progress and completed (failure is failed)', async () => {
    assert.equal(await send('workflow_job', linters('queued')), 'processed');
    let text = await metrics();
    assert.equal(sample(text, `delivery_jobs_active{${REPO},runner_type="unknown",state="pending"}`), 1);
    await send('workflow_job', linters('in_progress'));
    text = await metrics();
    assert.equal(
      sample(text, `delivery_jobs_active{${REPO},runner_type="github-hosted",state="running"}`),
      1,
    );
    assert.equal(sample(text, `delivery_job_queued_seconds_sum{${REPO},runner_type="github-hosted"}`), 60);
    await send('workflow_job', linters('completed'));
    text = await metrics();
    const L = `{${REPO},ref="main",stage="CodeQL",job="linters",status="failed"}`;
    assert.equal(sample(text, `delivery_job_runs_total${L}`), 1);
    assert.equal(sample(text, `delivery_job_duration_seconds_sum${L}`), 198);
    assert.equal(sample(text, `delivery_job_queued_seconds_count{${REPO},runner_type="github-hosted"}`), 1);
    assert.equal(
      sample(text, `delivery_jobs_active{${REPO},runner_type="github-hosted",state="running"}`),
      0,
    );
  });

  it('map cancelled to canceled, timed_out and startup_failure to failed, and do not count skipped or neutral jobs', async () => {
    const conclusions = ['cancelled', 'timed_out', 'startup_failure', 'skipped', 'neutral', null];
    for (const [i, conclusion] of conclusions.entries()) {
      await send('workflow_job', linters('completed', { id: 500 + i, conclusion }));
    }
    const text = await metrics();
    const L = (status: string) =>
      `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="linters",status="${status}"}`;
    assert.equal(sample(text, L('canceled')), 1);
    assert.equal(sample(text, L('failed')), 2);
    assert.equal(sample(text, L('skipped')), undefined);
    assert.doesNotMatch(text, /status="(skipped|neutral|cancelled)"/);
  });

  it('give a job cancelled while queued no queue time', async () => {
    await send('workflow_job', linters('queued', { id: 610 }));
    await send(
      'workflow_job',
      linters('completed', {
        id: 610,
        conclusion: 'cancelled',
        runner_id: null,
        runner_name: null,
        runner_group_id: null,
        runner_group_name: null,
      }),
    );
    const text = await metrics();
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="linters",status="canceled"}`,
      ),
      1,
    );
    assert.doesNotMatch(text, /^delivery_job_queued_seconds_count/m);
    assert.doesNotMatch(text, /^delivery_job_duration_seconds_count\{.*canceled/m);
  });

  it('count a re-run: the same run id, attempt 2, and its jobs with new ids', async () => {
    const id = 777;
    const attempt1 = run({
      id,
      run_attempt: 1,
      conclusion: 'failure',
      name: 'CI',
      run_started_at: '2026-11-20T10:00:10Z',
      created_at: '2026-11-20T10:00:00Z',
      updated_at: '2026-11-20T10:05:10Z',
    });
    const attempt2 = run({
      id,
      run_attempt: 2,
      conclusion: 'success',
      name: 'CI',
      run_started_at: '2026-11-20T11:00:00Z',
      created_at: '2026-11-20T10:00:00Z',
      updated_at: '2026-11-20T11:02:00Z',
    });
    await send('workflow_run', attempt1);
    await send(
      'workflow_job',
      linters('completed', { id: 901, run_id: id, run_attempt: 1, conclusion: 'failure' }),
    );
    await send('workflow_run', attempt2);
    await send(
      'workflow_job',
      linters('completed', { id: 902, run_id: id, run_attempt: 2, conclusion: 'success' }),
    );
    const text = await metrics();
    const P = 'source="github",project="octo-org/octo-repo",pipeline="CI",ref="master"';
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},status="failed"}`), 1);
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},status="success"}`), 1);
    assert.equal(sample(text, `delivery_pipeline_duration_seconds_sum{${P},status="failed"}`), 300);
    assert.equal(sample(text, `delivery_pipeline_duration_seconds_sum{${P},status="success"}`), 120);
    assert.equal(sample(text, `delivery_pipeline_queued_seconds_count{${P}}`), 1);
    assert.equal(sample(text, `delivery_pipeline_queued_seconds_sum{${P}}`), 10);
    assert.equal(sample(text, `delivery_pipeline_up{${P}}`), 1);
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="linters",status="failed"}`,
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="linters",status="success"}`,
      ),
      1,
    );
  });

  it('take a run’s queue time from its first attempt only, whichever attempt arrives first', async () => {
    const id = 779;
    const times = { created_at: '2026-11-20T10:00:00Z', name: 'CI' };
    // Attempt 2 first: its run_started_at is the re-run's start, 15 min after created_at.
    await send(
      'workflow_run',
      run({
        ...times,
        id,
        run_attempt: 2,
        conclusion: 'success',
        run_started_at: '2026-11-20T10:15:00Z',
        updated_at: '2026-11-20T10:17:00Z',
      }),
    );
    await send(
      'workflow_run',
      run({
        ...times,
        id,
        run_attempt: 1,
        conclusion: 'failure',
        run_started_at: '2026-11-20T10:00:07Z',
        updated_at: '2026-11-20T10:05:00Z',
      }),
    );
    const text = await metrics();
    const P = 'source="github",project="octo-org/octo-repo",pipeline="CI",ref="master"';
    assert.equal(sample(text, `delivery_pipeline_queued_seconds_count{${P}}`), 1);
    assert.equal(sample(text, `delivery_pipeline_queued_seconds_sum{${P}}`), 7);
  });

  it('name a run with an empty name by its workflow path, and do not count a null conclusion', async () => {
    await send('workflow_run', run({ id: 778, name: '', run_attempt: 1 }));
    await send('workflow_run', run({ id: 779, name: '', conclusion: null, status: 'completed' }));
    const text = await metrics();
    assert.equal(
      sample(
        text,
        'delivery_pipeline_runs_total{source="github",project="octo-org/octo-repo",pipeline=".github/workflows/test.yml",ref="master",status="success"}',
      ),
      1,
    );
  });

  it('label a pull request run from a fork branch named master merge_request, leaving master alone', async () => {
    const at = { name: 'Build', created_at: '2024-01-01T09:59:00Z', run_started_at: '2024-01-01T09:59:30Z' };
    await send('workflow_run', run({ id: 1001, event: 'push', ...at, updated_at: '2024-01-01T10:00:00Z' }));
    const pr = { id: 1002, event: 'pull_request', head_branch: 'master', ...at };
    await send('workflow_run', run({ ...pr, status: 'queued', conclusion: null, updated_at: at.created_at }));
    await send('workflow_run', run({ ...pr, conclusion: 'failure', updated_at: '2024-01-01T10:05:00Z' }));
    const text = await metrics();
    const P = 'source="github",project="octo-org/octo-repo",pipeline="Build"';
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},ref="merge_request",status="failed"}`), 1);
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},ref="master",status="failed"}`), undefined);
    assert.equal(sample(text, `delivery_pipeline_up{${P},ref="master"}`), 1);
    assert.equal(sample(text, `delivery_pipeline_up{${P},ref="merge_request"}`), 0);
  });

  it('hold a job on a tracked branch until its run says whether it is a pull request, once the repository sends runs', async () => {
    const job = linters('completed', { id: 951, run_id: 5001, run_attempt: 1, head_branch: 'main' });
    const repository = job.repository;
    const at = { name: 'CI', created_at: '2024-01-01T09:59:00Z', run_started_at: '2024-01-01T09:59:30Z' };
    // The repository has sent a run before: runs are expected.
    await send('workflow_run', { ...run({ id: 5000, event: 'push', ...at }), repository });
    assert.equal(await send('workflow_job', job), 'processed');
    const L = (ref: string) =>
      `delivery_job_runs_total{${REPO},ref="${ref}",stage="CodeQL",job="linters",status="failed"}`;
    let text = await metrics();
    assert.equal(sample(text, L('main')), undefined, 'waits for its run');
    // Its run: a pull request from a fork's main.
    const pr = run({ id: 5001, event: 'pull_request', head_branch: 'main', ...at });
    await send('workflow_run', { ...pr, repository });
    text = await metrics();
    assert.equal(sample(text, L('merge_request')), 1);
    assert.equal(sample(text, L('main')), undefined);
  });

  it('count a job-only repository’s job on an ordinary branch at once as branch (no run will ever say more)', async () => {
    const job = linters('completed', { id: 960, run_id: 6001, head_branch: 'feature-x' });
    assert.equal(await send('workflow_job', job), 'processed');
    const text = await metrics();
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="branch",stage="CodeQL",job="linters",status="failed"}`,
      ),
      1,
    );
  });

  it('label runs for pull request reviews merge_request and runs for a release tag, with their jobs', async () => {
    const at = { name: 'Build', created_at: '2024-01-01T09:59:00Z', run_started_at: '2024-01-01T09:59:30Z' };
    const done = { ...at, updated_at: '2024-01-01T10:00:00Z' };
    await send(
      'workflow_run',
      run({ id: 1101, event: 'pull_request_review', head_branch: 'master', ...done }),
    );
    await send(
      'workflow_run',
      run({ id: 1102, event: 'pull_request_review_comment', head_branch: 'master', ...done }),
    );
    await send('workflow_run', run({ id: 1103, event: 'release', head_branch: 'v2.0.0', ...done }));
    const job = linters('completed', { id: 970, run_id: 1103, head_branch: 'v2.0.0' });
    await send('workflow_job', { ...job, repository: run({}).repository });
    const text = await metrics();
    const P = 'source="github",project="octo-org/octo-repo",pipeline="Build"';
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},ref="merge_request",status="success"}`), 2);
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},ref="tag",status="success"}`), 1);
    assert.equal(sample(text, `delivery_pipeline_up{${P},ref="master"}`), undefined);
    assert.equal(
      sample(
        text,
        'delivery_job_runs_total{source="github",project="octo-org/octo-repo",ref="tag",stage="CodeQL",job="linters",status="failed"}',
      ),
      1,
    );
  });

  it('give a job with an empty workflow name its run’s pipeline label as stage', async () => {
    const job = linters('completed', { id: 980, run_id: 7001, workflow_name: '' });
    await send('workflow_run', { ...run({ id: 7001, name: '' }), repository: job.repository });
    await send('workflow_job', job);
    const text = await metrics();
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="master",stage=".github/workflows/test.yml",job="linters",status="failed"}`,
      ),
      1,
    );
    assert.doesNotMatch(text, /stage=""/);
  });

  it('decide runner_type by the runner group first: a self-hosted runner named "GitHub Actions 7" is self-hosted', async () => {
    const job = linters('in_progress', {
      id: 990,
      labels: ['linux'],
      runner_name: 'GitHub Actions 7',
      runner_group_name: 'Default',
    });
    await send('workflow_job', job);
    const text = await metrics();
    assert.equal(sample(text, `delivery_job_queued_seconds_count{${REPO},runner_type="self-hosted"}`), 1);
    assert.equal(
      sample(text, `delivery_job_queued_seconds_count{${REPO},runner_type="github-hosted"}`),
      undefined,
    );
  });

  it('give a run no queue time while it waits for approval, and record it once it starts', async () => {
    const waiting = example(
      'workflow_run',
      (e) => (e.workflow_run as { conclusion: string }).conclusion === 'action_required',
    );
    const w = waiting.workflow_run as Record<string, unknown>;
    Object.assign(w, { id: 3001, name: 'Approved CI' });
    assert.equal(await send('workflow_run', waiting), 'processed');
    const Q = `{source="github",project="${(waiting.repository as { full_name: string }).full_name}",pipeline="Approved CI",ref="master"}`;
    assert.equal(sample(await metrics(), `delivery_pipeline_queued_seconds_count${Q}`), undefined);
    // Approved an hour after it was created: it starts, and that is its queue time.
    const created = Date.parse(w.created_at as string);
    Object.assign(w, {
      status: 'in_progress',
      conclusion: null,
      run_started_at: new Date(created + 3600_000).toISOString(),
      updated_at: new Date(created + 3605_000).toISOString(),
    });
    waiting.action = 'in_progress';
    assert.equal(await send('workflow_run', waiting), 'processed');
    const text = await metrics();
    assert.equal(sample(text, `delivery_pipeline_queued_seconds_count${Q}`), 1);
    assert.equal(sample(text, `delivery_pipeline_queued_seconds_sum${Q}`), 3600);
  });

  it('read the legacy workflow_job shape without created_at: counted, no queue time, stage from its run', async () => {
    const legacy = example('workflow_job', (e) => !('created_at' in (e.workflow_job as object)));
    await send('workflow_run', {
      ...run({ id: (legacy.workflow_job as { run_id: number }).run_id, name: 'Legacy CI' }),
      repository: legacy.repository,
    });
    const job = legacy.workflow_job as Record<string, unknown>;
    Object.assign(job, { status: 'completed', conclusion: 'success', completed_at: '2021-06-15T19:25:27Z' });
    legacy.action = 'completed';
    assert.equal(await send('workflow_job', legacy), 'processed');
    const text = await metrics();
    const L =
      'source="github",project="octo-org/example-workflow",ref="master",stage="Legacy CI",job="Test workflow",status="success"';
    assert.equal(sample(text, `delivery_job_runs_total{${L}}`), 1);
    assert.equal(sample(text, `delivery_job_duration_seconds_sum{${L}}`), 180);
    assert.doesNotMatch(
      text,
      /^delivery_job_queued_seconds_count\{source="github",project="octo-org\/example-workflow"/m,
    );
  });

  /** A legacy-shape workflow_job (no created_at) at `action`, with these fields changed. */
  const legacy = (action: string, changes: Record<string, unknown>) => {
    const payload = example('workflow_job', (e) => !('created_at' in (e.workflow_job as object)));
    payload.action = action;
    Object.assign(payload.workflow_job as object, { status: action, ...changes });
    return payload;
  };
  const idle = { runner_id: null, runner_name: null, runner_group_id: null, runner_group_name: null };

  it('give a legacy-shape job its queue time from the started_at of its queued delivery', async () => {
    // GitHub Enterprise Server before 3.6: no created_at; a queued job's started_at is when it
    // was created, and the in_progress delivery's started_at when a runner took it.
    await send('workflow_job', legacy('queued', { started_at: '2021-06-15T19:20:27Z', ...idle }));
    await send('workflow_job', legacy('in_progress', {}));
    await send(
      'workflow_job',
      legacy('completed', { conclusion: 'success', completed_at: '2021-06-15T19:25:27Z' }),
    );
    const text = await metrics();
    const Q = '{source="github",project="octo-org/example-workflow",runner_type="self-hosted"}';
    assert.equal(sample(text, `delivery_job_queued_seconds_count${Q}`), 1);
    assert.equal(sample(text, `delivery_job_queued_seconds_sum${Q}`), 120);
  });

  it('give a legacy-shape job its queue time when its queued delivery arrives after its start', async () => {
    await send('workflow_job', legacy('in_progress', {}));
    await send(
      'workflow_job',
      legacy('completed', { conclusion: 'success', completed_at: '2021-06-15T19:25:27Z' }),
    );
    assert.equal(
      await send('workflow_job', legacy('queued', { started_at: '2021-06-15T19:20:27Z', ...idle })),
      'processed',
    );
    const text = await metrics();
    // As in order: the runner type of its start, not of the queued delivery (no runner yet).
    const Q = '{source="github",project="octo-org/example-workflow",runner_type="self-hosted"}';
    assert.equal(sample(text, `delivery_job_queued_seconds_count${Q}`), 1);
    assert.equal(sample(text, `delivery_job_queued_seconds_sum${Q}`), 120);
    assert.doesNotMatch(text, /^delivery_job_queued_seconds_count\{[^}]*runner_type="unknown"/m);
  });

  it('treat a redelivery with the same GUID, and the same job again under a new GUID, as duplicates', async () => {
    assert.equal(await send('workflow_job', linters('completed'), { delivery: 'guid-1' }), 'processed');
    assert.equal(await send('workflow_job', linters('completed'), { delivery: 'guid-1' }), 'duplicate');
    assert.equal(await send('workflow_job', linters('completed'), { delivery: 'guid-2' }), 'duplicate');
    assert.equal(
      sample(
        await metrics(),
        `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="linters",status="failed"}`,
      ),
      1,
    );
  });

  it('keep job and run state apart per event type and repository', async () => {
    // The same numeric id as a run in one repository and a job in another.
    await send('workflow_run', run({ id: 4242 }));
    await send('workflow_job', linters('completed', { id: 4242 }));
    const text = await metrics();
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="linters",status="failed"}`,
      ),
      1,
    );
  });

  it('accept a compact UTF-8 body signed over its bytes, and a form-encoded payload', async () => {
    const payload = linters('completed', { id: 950, name: 'tests – ünïcødé ✓' });
    const compact = JSON.stringify(payload);
    assert.equal(await send('workflow_job', compact), 'processed');
    assert.equal(await send('workflow_job', linters('completed', { id: 951 }), { form: true }), 'processed');
    const text = await metrics();
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="tests – ünïcødé ✓",status="failed"}`,
      ),
      1,
    );
    assert.equal(
      sample(
        text,
        `delivery_job_runs_total{${REPO},ref="main",stage="CodeQL",job="linters",status="failed"}`,
      ),
      1,
    );
  });

  it('authenticate a body that is not valid UTF-8 over its bytes', async () => {
    // GitHub sends UTF-8; SPEC section 4 authenticates the bytes, whatever they hold.
    const [before = '', after = ''] = JSON.stringify(linters('completed', { id: 952, name: 'NAME' })).split(
      'NAME',
    );
    const raw = Buffer.concat([Buffer.from(`${before}bad `), Buffer.from([0xff, 0xfe]), Buffer.from(after)]);
    const post = (signature: string) =>
      fetch(`${app.url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-GitHub-Event': 'workflow_job',
          'X-GitHub-Delivery': `utf8-${signature.slice(-8)}`,
          'X-Hub-Signature-256': signature,
        },
        body: raw,
      });
    assert.equal((await post(sign('wrong-secret', raw))).status, 401);
    const res = await post(sign(GITHUB_SECRET, raw));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { outcome: string }).outcome, 'processed');
  });

  it('count deployments at their final status, from created_at of the deployment', async () => {
    const created = example(
      'deployment',
      (e) => (e.deployment as { environment: string }).environment === 'production',
    );
    await send('deployment', created);
    const success = example(
      'deployment_status',
      (e) => (e.deployment_status as { state: string }).state === 'success',
    );
    await send('deployment_status', success);
    await send('deployment_status', success, { delivery: 'another-guid' });
    const failed = example('deployment_status');
    (failed.deployment as Record<string, unknown>).id = 999;
    Object.assign(failed.deployment_status as object, { state: 'error', created_at: '2019-05-15T15:30:00Z' });
    await send('deployment_status', failed);
    const inactive = example('deployment_status');
    Object.assign(inactive.deployment_status as object, {
      state: 'inactive',
      created_at: '2019-05-15T16:00:00Z',
    });
    await send('deployment_status', inactive);
    const text = await metrics();
    const E = `${REPO},environment="production"`;
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="success"}`), 1);
    assert.equal(sample(text, `delivery_deployment_duration_seconds_sum{${E},status="success"}`), 2);
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="failed"}`), 1);
    assert.equal(sample(text, `delivery_environment_up{${E}}`), 0);
    assert.equal(
      sample(text, `delivery_environment_last_deployment_timestamp_seconds{${E}}`),
      Date.UTC(2019, 4, 15, 15, 20, 55) / 1000,
    );
  });

  it('count a deployment once, at its first final status, but let a later success move the environment', async () => {
    const status = (id: number, state: string, at: string) => {
      const payload = example('deployment_status');
      Object.assign(payload.deployment as object, { id, created_at: '2019-05-15T10:00:00Z' });
      Object.assign(payload.deployment_status as object, { state, created_at: `2019-05-15T${at}:00Z` });
      return payload;
    };
    await send('deployment_status', status(3001, 'success', '10:05'));
    await send('deployment_status', status(3002, 'error', '11:01'));
    // Someone marks the same deployment successful after fixing it by hand.
    assert.equal(await send('deployment_status', status(3002, 'success', '11:10')), 'processed');
    const text = await metrics();
    const E = `${REPO},environment="production"`;
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="failed"}`), 1);
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="success"}`), 1);
    assert.equal(sample(text, `delivery_environment_up{${E}}`), 1);
    assert.equal(
      sample(text, `delivery_environment_last_deployment_timestamp_seconds{${E}}`),
      Date.UTC(2019, 4, 15, 11, 10) / 1000,
    );
    assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 540);
  });

  it('give a deployment’s statuses the same environment history whichever arrives first', async () => {
    const status = (id: number, state: string, at: string) => {
      const payload = example('deployment_status');
      Object.assign(payload.deployment as object, { id, created_at: '2019-05-15T10:00:00Z' });
      Object.assign(payload.deployment_status as object, { state, created_at: `2019-05-15T${at}:00Z` });
      return payload;
    };
    await send('deployment_status', status(3001, 'success', '10:05'));
    // 3002 failed at 11:01 and was marked successful at 11:10; the success is delivered first.
    assert.equal(await send('deployment_status', status(3002, 'success', '11:10')), 'processed');
    assert.equal(await send('deployment_status', status(3002, 'error', '11:01')), 'processed');
    assert.equal(await send('deployment_status', status(3002, 'error', '11:01')), 'duplicate');
    const text = await metrics();
    const E = `${REPO},environment="production"`;
    assert.equal(sample(text, `delivery_environment_up{${E}}`), 1);
    assert.equal(
      sample(text, `delivery_environment_last_deployment_timestamp_seconds{${E}}`),
      Date.UTC(2019, 4, 15, 11, 10) / 1000,
    );
    // As when they arrive in order: the error and its recovery at 11:10.
    assert.equal(sample(text, `delivery_environment_recovery_seconds_count{${E}}`), 1);
    assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 540);
    // Unlike in order, it is counted as the success that arrived first (a counter cannot take a
    // count back): README, "Deployments".
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="success"}`), 2);
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="failed"}`), undefined);
  });

  it('let a deployment that fails again after a success take its environment down', async () => {
    const status = (id: number, state: string, at: string) => {
      const payload = example('deployment_status');
      Object.assign(payload.deployment as object, { id, created_at: '2019-05-15T10:00:00Z' });
      Object.assign(payload.deployment_status as object, { state, created_at: `2019-05-15T${at}:00Z` });
      return payload;
    };
    const E = `${REPO},environment="production"`;
    assert.equal(await send('deployment_status', status(3002, 'failure', '11:01')), 'processed');
    assert.equal(await send('deployment_status', status(3002, 'success', '11:10')), 'processed');
    assert.equal(sample(await metrics(), `delivery_environment_up{${E}}`), 1);
    // The same state as before, but later than the success: news, not a redelivery.
    assert.equal(await send('deployment_status', status(3002, 'failure', '11:20')), 'processed');
    // Redeliveries of the earlier statuses change nothing.
    assert.equal(await send('deployment_status', status(3002, 'failure', '11:01')), 'duplicate');
    assert.equal(await send('deployment_status', status(3002, 'success', '11:10')), 'duplicate');
    assert.equal(await send('deployment_status', status(3002, 'failure', '11:20')), 'duplicate');
    const text = await metrics();
    assert.equal(sample(text, `delivery_environment_up{${E}}`), 0);
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="failed"}`), 1);
    assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="success"}`), undefined);
    assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 540);
  });

  it('take the attempt and the deployment state into the natural key: a re-run’s statuses are new', async () => {
    const base = { id: 2001, name: 'Build', run_started_at: '2024-01-01T09:00:00Z' };
    const attempt = (n: number, status: string, conclusion: string | null) =>
      run({ ...base, run_attempt: n, status, conclusion });
    assert.equal(await send('workflow_run', attempt(1, 'in_progress', null)), 'processed');
    assert.equal(await send('workflow_run', attempt(1, 'completed', 'failure')), 'processed');
    assert.equal(await send('workflow_run', attempt(2, 'in_progress', null)), 'processed');
    assert.equal(await send('workflow_run', attempt(2, 'in_progress', null)), 'duplicate');
    assert.equal(await send('workflow_run', attempt(2, 'completed', 'success')), 'processed');
    // created, queued and pending are all `waiting` to the metrics, but each is new once.
    const created = example(
      'deployment',
      (e) => (e.deployment as { environment: string }).environment === 'production',
    );
    assert.equal(await send('deployment', created), 'processed');
    const status = (state: string) => {
      const s = example(
        'deployment_status',
        (e) => (e.deployment_status as { state: string }).state === 'success',
      );
      Object.assign(s.deployment_status as object, { state });
      return s;
    };
    assert.equal(await send('deployment_status', status('queued')), 'processed');
    assert.equal(await send('deployment_status', status('pending')), 'processed');
    assert.equal(await send('deployment_status', status('pending')), 'duplicate');
    assert.equal(await send('deployment_status', status('success')), 'processed');
    const text = await metrics();
    const P = 'source="github",project="octo-org/octo-repo",pipeline="Build",ref="master"';
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},status="failed"}`), 1);
    assert.equal(sample(text, `delivery_pipeline_runs_total{${P},status="success"}`), 1);
    assert.equal(
      sample(text, `delivery_deployment_runs_total{${REPO},environment="production",status="success"}`),
      1,
    );
  });

  it('count a merged pull request with its lead time, and ignore one closed unmerged', async () => {
    const closed = example('pull_request', (e) => e.action === 'closed');
    assert.equal(await send('pull_request', closed), 'ignored');
    const merged = example('pull_request', (e) => e.action === 'closed');
    Object.assign(merged.pull_request as object, { merged: true, merged_at: '2019-05-16T15:20:33Z' });
    assert.equal(await send('pull_request', merged), 'processed');
    const text = await metrics();
    assert.equal(sample(text, `delivery_merge_requests_merged_total{${REPO},ref="master"}`), 1);
    assert.equal(sample(text, `delivery_merge_request_lead_time_seconds_sum{${REPO},ref="master"}`), 86400);
  });

  it('count a published release, and ignore the other actions', async () => {
    assert.equal(
      await send(
        'release',
        example('release', (e) => e.action === 'published'),
      ),
      'processed',
    );
    assert.equal(
      await send(
        'release',
        example('release', (e) => e.action === 'created'),
      ),
      'ignored',
    );
    assert.equal(sample(await metrics(), `delivery_releases_total{${REPO}}`), 1);
  });

  it('answer 200 ignored to ping, push, check_run and unknown events', async () => {
    assert.equal(await send('ping', example('ping')), 'ignored');
    assert.equal(await send('push', example('push')), 'ignored');
    assert.equal(
      await send(
        'check_run',
        example('check_run', (e) => e.action === 'completed'),
      ),
      'ignored',
    );
    assert.equal(await send('star', example('ping')), 'ignored');
    const text = await metrics();
    assert.equal(
      sample(text, 'delivery_webhook_requests_total{source="github",event="check_run",outcome="ignored"}'),
      1,
    );
    assert.equal(
      sample(text, 'delivery_webhook_requests_total{source="github",event="other",outcome="ignored"}'),
      1,
    );
    assert.doesNotMatch(text, /^delivery_job_runs_total\{/m);
  });

  it('count each source under its own label when GitLab and GitHub send the same event for the same path', async () => {
    // One service, both sources: a GitHub repository named like a GitLab project.
    await app.stop();
    app = await startTestApp({
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET,
    });
    const published = example('release', (e) => e.action === 'published');
    Object.assign(published.repository as object, { full_name: PROJECT.path_with_namespace });
    assert.equal(await send('release', published), 'processed');
    assert.equal(await send('release', published, { delivery: 'another-guid' }), 'duplicate');
    const res = await postGitlab(app.url, releaseHook({ id: 7 }));
    assert.equal(res.status, 200);
    const text = await metrics();
    const requests = (source: string, outcome: string) =>
      sample(
        text,
        `delivery_webhook_requests_total{source="${source}",event="release",outcome="${outcome}"}`,
      );
    assert.equal(requests('github', 'processed'), 1);
    assert.equal(requests('github', 'duplicate'), 1);
    assert.equal(requests('gitlab', 'processed'), 1);
    assert.equal(requests('gitlab', 'duplicate'), undefined);
    const received = (source: string) =>
      sample(
        text,
        `delivery_webhook_last_received_timestamp_seconds{source="${source}",project="${PROJECT.path_with_namespace}"}`,
      );
    assert.ok((received('github') ?? 0) > 1.7e9, 'GitHub noted under source="github"');
    assert.ok((received('gitlab') ?? 0) > 1.7e9, 'GitLab noted under source="gitlab"');
  });

  describe('bad input (SPEC section 4)', () => {
    it('401 for a body altered after signing', async () => {
      const res = await postGithub(app.url, 'workflow_job', linters('completed'), {
        tamper: (b) => b.replace('"linters"', '"linterz"'),
      });
      assert.equal(res.status, 401);
    });

    it('401 for a sha1-only signature, a missing one, or a wrong secret', async () => {
      const body = JSON.stringify(linters('completed'));
      const sha1 = `sha1=${createHmac('sha1', GITHUB_SECRET).update(body).digest('hex')}`;
      assert.equal(
        (await postGithub(app.url, 'workflow_job', body, { signatureHeaders: { 'X-Hub-Signature': sha1 } }))
          .status,
        401,
      );
      assert.equal((await postGithub(app.url, 'workflow_job', body, { signatureHeaders: {} })).status, 401);
      assert.equal((await postGithub(app.url, 'workflow_job', body, { secret: 'wrong' })).status, 401);
      assert.equal((await postGithub(app.url, 'workflow_job', body, { secret: 'old-secret' })).status, 200);
      const text = await metrics();
      assert.equal(
        sample(
          text,
          'delivery_webhook_requests_total{source="github",event="workflow_job",outcome="unauthorized"}',
        ),
        3,
      );
    });

    it('uses the owner’s own secret, and refuses the default secret for that owner', async () => {
      const payload = example('workflow_job', (e) => e.action === 'waiting');
      assert.equal((await postGithub(app.url, 'workflow_job', payload)).status, 401);
      assert.equal(
        (await postGithub(app.url, 'workflow_job', payload, { secret: 'lineville-secret' })).status,
        200,
      );
      assert.equal(
        (await postGithub(app.url, 'workflow_job', linters('completed'), { secret: 'lineville-secret' }))
          .status,
        401,
      );
    });

    it('401 for a body that names another owner than its repository’s to pick that owner’s secret', async () => {
      // Codertocat/Hello-World, claiming to be owned by lineville and signed with lineville's secret.
      const forged = linters('completed', { id: 940 });
      const repository = forged.repository as { owner: { login: string } };
      repository.owner.login = 'lineville';
      const res = await postGithub(app.url, 'workflow_job', forged, { secret: 'lineville-secret' });
      assert.equal(res.status, 401);
      delete (forged as { repository?: unknown }).repository;
      (forged as { organization?: unknown }).organization = { login: 'lineville' };
      forged.repository = { ...(linters('completed').repository as object), owner: undefined };
      assert.equal(
        (await postGithub(app.url, 'workflow_job', forged, { secret: 'lineville-secret' })).status,
        401,
      );
      assert.doesNotMatch(await metrics(), /^delivery_job_runs_total/m);
    });

    it('202 invalid for an authentic body that is JSON null', async () => {
      for (const form of [false, true]) {
        const res = await postGithub(app.url, 'workflow_job', 'null', { form });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        assert.equal(res.body.outcome, 'invalid');
      }
      assert.doesNotMatch(
        await metrics(),
        /^delivery_webhook_last_received_timestamp_seconds\{[^}]*project="unknown"/m,
      );
    });

    it('400 for a body that is not JSON, or a form without payload', async () => {
      const notJson = await postGithub(app.url, 'workflow_job', '{"action":', {});
      assert.equal(notJson.status, 400);
      const body = 'other=1';
      const res = await fetch(`${app.url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'X-GitHub-Event': 'ping',
          'X-Hub-Signature-256': sign(GITHUB_SECRET, body),
        },
        body,
      });
      assert.equal(res.status, 400);
    });

    it('415 for another content type, 413 over 10 MiB', async () => {
      assert.equal(
        (await postGithub(app.url, 'ping', example('ping'), { contentType: 'text/plain' })).status,
        415,
      );
      const big = JSON.stringify({ ...linters('completed'), padding: 'x'.repeat(10 * 1024 * 1024) });
      assert.equal((await postGithub(app.url, 'workflow_job', big)).status, 413);
    });

    it('202 invalid for signed JSON that does not fit the schema', async () => {
      const payload = linters('completed');
      delete (payload.workflow_job as Record<string, unknown>).run_id;
      const res = await postGithub(app.url, 'workflow_job', payload);
      assert.equal(res.status, 202);
      assert.equal(res.body.outcome, 'invalid');
      assert.match(res.body.error ?? '', /run_id/);
    });

    it('503 when the store is unavailable', async () => {
      await app.service.store.close();
      assert.equal((await postGithub(app.url, 'workflow_job', linters('completed'))).status, 503);
    });
  });
});
