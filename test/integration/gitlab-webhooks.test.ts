import assert from 'node:assert/strict';
import {
  build,
  deploymentHook,
  fixture,
  GITLAB_SECRET,
  jobHook,
  mergeHook,
  PROJECT,
  pipelineHook,
  postGitlab,
  pushHook,
  releaseHook,
} from '../helpers/gitlab.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';

const P = 'source="gitlab",project="acme/payments-api"';
const job = (status: string, name = 'rspec', ref = 'main', stage = 'test') =>
  `{${P},ref="${ref}",stage="${stage}",job="${name}",status="${status}"}`;
const active = (runner: string, state: string) =>
  `delivery_jobs_active{${P},runner_type="${runner}",state="${state}"}`;

describe('GitLab webhooks (SPEC sections 4 and 5)', () => {
  let app: TestApp;
  let metrics: () => Promise<string>;
  beforeEach(async () => {
    app = await startTestApp({ GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET });
    metrics = () => getMetrics(app.url);
  });
  afterEach(() => app.stop());

  async function send(
    body: unknown,
    options: Parameters<typeof postGitlab>[2] = {},
  ): Promise<string | undefined> {
    const res = await postGitlab(app.url, body, options);
    assert.ok(res.status === 200 || res.status === 202, `${res.status} ${JSON.stringify(res.body)}`);
    return res.body.outcome;
  }

  describe('jobs', () => {
    it('follow one job through created, pending, running, failed, then its retry to success', async () => {
      const times = { startedAt: '2026-11-20T10:00:30Z', queued: 30.5, runnerType: 'project_type' };
      assert.equal(await send(jobHook({ id: 9001, status: 'created' })), 'processed');
      assert.equal(sample(await metrics(), active('unknown', 'pending')), undefined);

      await send(jobHook({ id: 9001, status: 'pending' }));
      assert.equal(sample(await metrics(), active('unknown', 'pending')), 1);

      await send(jobHook({ id: 9001, status: 'running', ...times }));
      let text = await metrics();
      assert.equal(sample(text, active('unknown', 'pending')), 0);
      assert.equal(sample(text, active('project', 'running')), 1);
      assert.equal(sample(text, `delivery_job_queued_seconds_count{${P},runner_type="project"}`), 1);
      assert.equal(sample(text, `delivery_job_queued_seconds_sum{${P},runner_type="project"}`), 30.5);
      assert.equal(sample(text, `delivery_job_runs_total${job('failed')}`), undefined);

      await send(
        jobHook({
          id: 9001,
          status: 'failed',
          ...times,
          finishedAt: '2026-11-20T10:02:30Z',
          duration: 119.75,
        }),
      );
      text = await metrics();
      assert.equal(sample(text, `delivery_job_runs_total${job('failed')}`), 1);
      assert.equal(sample(text, `delivery_job_duration_seconds_sum${job('failed')}`), 119.75);
      assert.equal(sample(text, `delivery_job_duration_seconds_count${job('failed')}`), 1);
      assert.equal(sample(text, `delivery_job_queued_seconds_count{${P},runner_type="project"}`), 1);
      assert.equal(sample(text, active('project', 'running')), 0);

      // The retry is a new job id; the failed attempt stays failed.
      await send(jobHook({ id: 9002, status: 'pending' }));
      await send(
        jobHook({
          id: 9002,
          status: 'running',
          startedAt: '2026-11-20T10:05:00Z',
          queued: 2,
          runnerType: 'instance_type',
        }),
      );
      await send(
        jobHook({
          id: 9002,
          status: 'success',
          startedAt: '2026-11-20T10:05:00Z',
          finishedAt: '2026-11-20T10:06:00Z',
          duration: 60,
          queued: 2,
          runnerType: 'instance_type',
        }),
      );
      text = await metrics();
      assert.equal(sample(text, `delivery_job_runs_total${job('failed')}`), 1);
      assert.equal(sample(text, `delivery_job_runs_total${job('success')}`), 1);
      assert.equal(
        sample(
          text,
          `delivery_job_duration_seconds_bucket{${P},ref="main",stage="test",job="rspec",status="success",le="60"}`,
        ),
        1,
      );
      assert.equal(sample(text, `delivery_job_queued_seconds_count{${P},runner_type="instance"}`), 1);
      assert.equal(sample(text, active('instance', 'running')), 0);
    });

    it('count a failed allow_failure job as failed', async () => {
      await send(
        jobHook({
          id: 9010,
          status: 'failed',
          name: 'lint',
          startedAt: '2026-11-20T10:00:00Z',
          duration: 5,
          allowFailure: true,
        }),
      );
      assert.equal(sample(await metrics(), `delivery_job_runs_total${job('failed', 'lint')}`), 1);
    });

    it('do not count a manual job until it is played and finishes', async () => {
      await send(jobHook({ id: 9020, status: 'manual', name: 'deploy', stage: 'deploy' }));
      await send(jobHook({ id: 9020, status: 'skipped', name: 'deploy', stage: 'deploy' }));
      let text = await metrics();
      assert.doesNotMatch(text, /^delivery_job_runs_total\{.*job="deploy"/m);
      assert.doesNotMatch(text, /^delivery_jobs_active\{/m);
      await send(jobHook({ id: 9020, status: 'pending', name: 'deploy', stage: 'deploy' }));
      await send(
        jobHook({
          id: 9020,
          status: 'running',
          name: 'deploy',
          stage: 'deploy',
          startedAt: '2026-11-20T11:00:00Z',
          queued: 4,
        }),
      );
      await send(
        jobHook({
          id: 9020,
          status: 'success',
          name: 'deploy',
          stage: 'deploy',
          startedAt: '2026-11-20T11:00:00Z',
          finishedAt: '2026-11-20T11:01:00Z',
          duration: 60,
          queued: 4,
        }),
      );
      text = await metrics();
      assert.equal(sample(text, `delivery_job_runs_total${job('success', 'deploy', 'main', 'deploy')}`), 1);
    });

    it('count a job canceled while pending, with no queue time and no duration', async () => {
      await send(jobHook({ id: 9030, status: 'pending', queued: 12 }));
      await send(jobHook({ id: 9030, status: 'canceled', queued: 40, finishedAt: '2026-11-20T10:01:00Z' }));
      const text = await metrics();
      assert.equal(sample(text, `delivery_job_runs_total${job('canceled')}`), 1);
      assert.equal(sample(text, `delivery_job_duration_seconds_count${job('canceled')}`), undefined);
      assert.doesNotMatch(text, /^delivery_job_queued_seconds_count/m);
      assert.equal(sample(text, active('unknown', 'pending')), 0);
    });

    it('never move back on a late non-final event, and count a job once', async () => {
      const ran = { startedAt: '2026-11-20T10:00:30Z', queued: 30, runnerType: 'group_type' };
      await send(
        jobHook({ id: 9040, status: 'success', ...ran, finishedAt: '2026-11-20T10:01:30Z', duration: 60 }),
      );
      await send(jobHook({ id: 9040, status: 'running', ...ran }));
      await send(jobHook({ id: 9040, status: 'pending' }));
      await send(
        jobHook({ id: 9040, status: 'failed', ...ran, finishedAt: '2026-11-20T10:01:31Z', duration: 61 }),
      );
      const text = await metrics();
      assert.equal(sample(text, `delivery_job_runs_total${job('success')}`), 1);
      assert.equal(sample(text, `delivery_job_runs_total${job('failed')}`), undefined);
      assert.equal(sample(text, `delivery_job_queued_seconds_count{${P},runner_type="group"}`), 1);
      // Nothing is active; the late statuses' series exist at 0, as they would in order.
      assert.equal(sample(text, active('group', 'running')), 0);
      assert.equal(sample(text, active('unknown', 'pending')), 0);
      assert.doesNotMatch(text, /^delivery_jobs_active\{.*\} [1-9]/m);
    });

    it('drop the parallel suffix from job names', async () => {
      await send(
        jobHook({
          id: 9050,
          status: 'success',
          name: 'rspec 3/8',
          startedAt: '2026-11-20T10:00:00Z',
          duration: 10,
        }),
      );
      await send(
        jobHook({
          id: 9051,
          status: 'success',
          name: 'rspec 4/8',
          startedAt: '2026-11-20T10:00:00Z',
          duration: 10,
        }),
      );
      assert.equal(sample(await metrics(), `delivery_job_runs_total${job('success', 'rspec')}`), 2);
    });
  });

  describe('pipelines', () => {
    it('count a pipeline that failed and then succeeded after a retry, once each', async () => {
      await send(pipelineHook({ id: 7001, status: 'running', queued: 3 }));
      await send(
        pipelineHook({
          id: 7001,
          status: 'failed',
          finishedAt: '2026-11-20 10:10:00 UTC',
          duration: 540,
          queued: 3,
        }),
      );
      // The retry: the same pipeline id runs again and finishes later.
      await send(pipelineHook({ id: 7001, status: 'running', finishedAt: null, queued: 3 }));
      await send(
        pipelineHook({
          id: 7001,
          status: 'success',
          finishedAt: '2026-11-20 10:30:00 UTC',
          duration: 300,
          queued: 3,
        }),
      );
      const text = await metrics();
      const L = `${P},pipeline="push",ref="main"`;
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="failed"}`), 1);
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="success"}`), 1);
      assert.equal(sample(text, `delivery_pipeline_duration_seconds_sum{${L},status="failed"}`), 540);
      assert.equal(sample(text, `delivery_pipeline_queued_seconds_count{${L}}`), 1);
      assert.equal(sample(text, `delivery_pipeline_queued_seconds_sum{${L}}`), 3);
      assert.equal(sample(text, `delivery_pipeline_up{${L}}`), 1);
      assert.equal(
        sample(text, `delivery_pipeline_last_run_timestamp_seconds{${L}}`),
        Date.UTC(2026, 10, 20, 10, 30) / 1000,
      );
      assert.equal(sample(text, `delivery_pipeline_last_run_duration_seconds{${L}}`), 300);
    });

    it('count a pipeline once per status (SPEC’s natural key), while the last-run gauges follow its latest finish', async () => {
      // A main pipeline succeeds with its production deploy left manual; an hour later someone
      // plays the deploy: the same pipeline runs again and succeeds again, later.
      const first = { id: 7101, status: 'success', finishedAt: '2026-11-20 10:10:00 UTC', duration: 590 };
      await send(pipelineHook(first));
      await send(pipelineHook({ id: 7101, status: 'running', finishedAt: null }));
      const later = { ...first, finishedAt: '2026-11-20 11:02:00 UTC', duration: 700 };
      assert.equal(await send(pipelineHook(later)), 'processed');
      assert.equal(await send(pipelineHook(later)), 'duplicate');
      let text = await metrics();
      const L = `${P},pipeline="push",ref="main"`;
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="success"}`), 1);
      assert.equal(sample(text, `delivery_pipeline_duration_seconds_sum{${L},status="success"}`), 590);
      assert.equal(
        sample(text, `delivery_pipeline_last_run_timestamp_seconds{${L}}`),
        Date.UTC(2026, 10, 20, 11, 2) / 1000,
      );
      assert.equal(sample(text, `delivery_pipeline_last_run_duration_seconds{${L}}`), 700);
      // It failed, was retried to success, then a manual job played later failed: red again,
      // one failed run counted.
      await send(
        pipelineHook({ id: 7102, status: 'failed', finishedAt: '2026-11-20 12:10:00 UTC', duration: 60 }),
      );
      await send(
        pipelineHook({ id: 7102, status: 'success', finishedAt: '2026-11-20 13:00:00 UTC', duration: 60 }),
      );
      await send(
        pipelineHook({ id: 7102, status: 'failed', finishedAt: '2026-11-20 14:00:00 UTC', duration: 90 }),
      );
      text = await metrics();
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="failed"}`), 1);
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="success"}`), 2);
      assert.equal(sample(text, `delivery_pipeline_up{${L}}`), 0);
      assert.equal(
        sample(text, `delivery_pipeline_last_run_timestamp_seconds{${L}}`),
        Date.UTC(2026, 10, 20, 14, 0) / 1000,
      );
    });

    it('observe the duration of a status finished twice from the hook that arrives first (README: an order effect)', async () => {
      // Minimised from test/integration/gitlab-order.test.ts: a deploy gate played after the
      // pipeline succeeded, its second success delivered before its first. The count and the
      // last-run gauges are those of the in-order run; the histogram, which cannot take an
      // observation back, holds the later run's duration (in order: 590, as in the test above).
      const first = { id: 7105, status: 'success', finishedAt: '2026-11-20 10:10:00 UTC', duration: 590 };
      const later = { ...first, finishedAt: '2026-11-20 11:02:00 UTC', duration: 700 };
      assert.equal(await send(pipelineHook(later)), 'processed');
      assert.equal(await send(pipelineHook(first)), 'duplicate');
      const text = await metrics();
      const L = `${P},pipeline="push",ref="main"`;
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="success"}`), 1);
      assert.equal(sample(text, `delivery_pipeline_duration_seconds_count{${L},status="success"}`), 1);
      assert.equal(sample(text, `delivery_pipeline_duration_seconds_sum{${L},status="success"}`), 700);
      assert.equal(sample(text, `delivery_pipeline_up{${L}}`), 1);
      assert.equal(
        sample(text, `delivery_pipeline_last_run_timestamp_seconds{${L}}`),
        Date.UTC(2026, 10, 20, 11, 2) / 1000,
      );
      assert.equal(sample(text, `delivery_pipeline_last_run_duration_seconds{${L}}`), 700);
    });

    it('give two runs that finish in the same second to the higher pipeline id, in either order', async () => {
      const at = '2026-11-20 12:00:00 UTC';
      const newer = pipelineHook({ id: 7021, status: 'failed', finishedAt: at, duration: 200 });
      const older = pipelineHook({ id: 7020, status: 'success', finishedAt: at, duration: 100 });
      await send(newer);
      await send(older);
      const text = await metrics();
      const L = `${P},pipeline="push",ref="main"`;
      assert.equal(sample(text, `delivery_pipeline_up{${L}}`), 0);
      assert.equal(sample(text, `delivery_pipeline_last_run_duration_seconds{${L}}`), 200);
    });

    it('keep the last-run gauges on the latest finish time when an older run arrives late', async () => {
      await send(
        pipelineHook({ id: 7011, status: 'success', finishedAt: '2026-11-20 12:00:00 UTC', duration: 100 }),
      );
      await send(
        pipelineHook({ id: 7010, status: 'failed', finishedAt: '2026-11-20 11:00:00 UTC', duration: 50 }),
      );
      const text = await metrics();
      const L = `${P},pipeline="push",ref="main"`;
      assert.equal(sample(text, `delivery_pipeline_up{${L}}`), 1);
      assert.equal(sample(text, `delivery_pipeline_last_run_duration_seconds{${L}}`), 100);
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="failed"}`), 1);
    });

    it('feed the builds list into the job logic, each job once, under the pipeline’s ref', async () => {
      const builds = [
        build({
          id: 8001,
          status: 'success',
          name: 'compile',
          stage: 'build',
          startedAt: '2026-11-20 10:00:10 UTC',
          finishedAt: '2026-11-20 10:01:10 UTC',
          duration: 60,
          queued: 10,
          runnerType: 'instance_type',
        }),
        build({
          id: 8002,
          status: 'failed',
          name: 'rspec 1/2',
          startedAt: '2026-11-20 10:01:20 UTC',
          finishedAt: '2026-11-20 10:02:20 UTC',
          duration: 60,
          queued: 5,
          runnerType: 'instance_type',
        }),
        build({ id: 8003, status: 'skipped', name: 'deploy', stage: 'deploy' }),
      ];
      const mr = { source: 'merge_request_event', ref: 'feature/x', mergeRequest: true, name: 'MR pipeline' };
      await send(
        pipelineHook({
          id: 7020,
          status: 'failed',
          finishedAt: '2026-11-20 10:02:30 UTC',
          duration: 140,
          builds,
          ...mr,
        }),
      );
      // The same jobs again from their own Job Hooks: already counted.
      assert.equal(
        await send(
          jobHook({
            id: 8001,
            status: 'success',
            name: 'compile',
            stage: 'build',
            pipelineId: 7020,
            ref: 'feature/x',
            startedAt: '2026-11-20T10:00:10Z',
            duration: 60,
          }),
        ),
        'duplicate',
      );
      // A job of the pipeline whose hook arrives alone takes the pipeline's ref too.
      await send(
        jobHook({
          id: 8004,
          status: 'failed',
          name: 'lint',
          pipelineId: 7020,
          ref: 'feature/x',
          startedAt: '2026-11-20T10:00:10Z',
          duration: 3,
        }),
      );
      const text = await metrics();
      assert.equal(
        sample(text, `delivery_job_runs_total${job('success', 'compile', 'merge_request', 'build')}`),
        1,
      );
      assert.equal(sample(text, `delivery_job_runs_total${job('failed', 'rspec', 'merge_request')}`), 1);
      assert.equal(sample(text, `delivery_job_runs_total${job('failed', 'lint', 'merge_request')}`), 1);
      assert.doesNotMatch(text, /job="deploy"/);
      assert.equal(sample(text, `delivery_job_queued_seconds_count{${P},runner_type="instance"}`), 2);
      assert.equal(
        sample(
          text,
          `delivery_pipeline_runs_total{${P},pipeline="MR pipeline",ref="merge_request",status="failed"}`,
        ),
        1,
      );
    });

    it('hold a job on main until its pipeline says whether it is for an external pull request, once the project sends pipelines', async () => {
      await send(pipelineHook({ id: 7300, status: 'running' }));
      const job = jobHook({
        id: 7310,
        status: 'success',
        pipelineId: 7301,
        startedAt: '2026-11-20T10:00:00Z',
        duration: 30,
      });
      assert.equal(await send(job), 'processed');
      const L = (ref: string) =>
        `delivery_job_runs_total{${P},ref="${ref}",stage="test",job="rspec",status="success"}`;
      assert.equal(sample(await metrics(), L('main')), undefined, 'waits for its pipeline');
      // A GitHub pull request from a branch named main, built by GitLab CI/CD for external repositories.
      await send(pipelineHook({ id: 7301, status: 'running', source: 'external_pull_request_event' }));
      const text = await metrics();
      assert.equal(sample(text, L('merge_request')), 1);
      assert.equal(sample(text, L('main')), undefined);
    });

    it('label a tag pipeline tag, an untracked branch branch, and a pipeline without a name by its source', async () => {
      await send(
        pipelineHook({
          id: 7030,
          status: 'success',
          ref: 'v1.2.3',
          tag: true,
          finishedAt: '2026-11-20 10:00:00 UTC',
          duration: 1,
        }),
      );
      await send(
        pipelineHook({
          id: 7031,
          status: 'success',
          ref: 'feature/y',
          source: 'schedule',
          finishedAt: '2026-11-20 10:00:00 UTC',
          duration: 1,
        }),
      );
      const text = await metrics();
      assert.equal(
        sample(text, `delivery_pipeline_runs_total{${P},pipeline="push",ref="tag",status="success"}`),
        1,
      );
      assert.equal(
        sample(text, `delivery_pipeline_runs_total{${P},pipeline="schedule",ref="branch",status="success"}`),
        1,
      );
    });

    it('label merge request pipelines merge_request, from a source branch main or an external pull request', async () => {
      const done = { status: 'failed', finishedAt: '2026-11-20 10:05:00 UTC', duration: 240, queued: 2 };
      // An MR from main into a release branch: its pipeline names main, but is not main's.
      await send(
        pipelineHook({ id: 7040, ref: 'main', source: 'merge_request_event', mergeRequest: true, ...done }),
      );
      // CI/CD for an external repository: a GitHub pull request, no GitLab merge request.
      await send(
        pipelineHook({ id: 7041, ref: 'feature/z', source: 'external_pull_request_event', ...done }),
      );
      const text = await metrics();
      const runs = (pipeline: string, ref: string) =>
        sample(
          text,
          `delivery_pipeline_runs_total{${P},pipeline="${pipeline}",ref="${ref}",status="failed"}`,
        );
      assert.equal(runs('merge_request_event', 'merge_request'), 1);
      assert.equal(runs('external_pull_request_event', 'merge_request'), 1);
      assert.equal(runs('merge_request_event', 'main'), undefined);
      assert.doesNotMatch(text, /^delivery_pipeline_up\{[^}]*ref="main"/m);
    });

    it('record 0 s of queue for a pipeline that started in its first second, none for one that never started', async () => {
      // GitLab's queued_duration is null in both cases (Ci::Pipeline#queued_duration drops 0).
      await send(pipelineHook({ id: 7050, status: 'running', queued: null }));
      await send(
        pipelineHook({ id: 7050, status: 'success', finishedAt: '2026-11-20 10:01:00 UTC', duration: 60 }),
      );
      await send(pipelineHook({ id: 7051, status: 'canceled', finishedAt: '2026-11-20 10:01:00 UTC' }));
      const text = await metrics();
      const L = `${P},pipeline="push",ref="main"`;
      assert.equal(sample(text, `delivery_pipeline_queued_seconds_count{${L}}`), 1);
      assert.equal(sample(text, `delivery_pipeline_queued_seconds_sum{${L}}`), 0);
      assert.equal(sample(text, `delivery_pipeline_runs_total{${L},status="canceled"}`), 1);
    });
  });

  describe('redelivery', () => {
    it('with the same Idempotency-Key is a duplicate that changes nothing', async () => {
      const body = pipelineHook({
        id: 7040,
        status: 'success',
        finishedAt: '2026-11-20 10:00:00 UTC',
        duration: 9,
      });
      assert.equal(await send(body, { key: 'key-1' }), 'processed');
      assert.equal(await send(body, { key: 'key-1' }), 'duplicate');
      assert.equal(
        sample(
          await metrics(),
          `delivery_pipeline_runs_total{${P},pipeline="push",ref="main",status="success"}`,
        ),
        1,
      );
    });

    it('without a key is recognised by its natural key', async () => {
      const body = jobHook({ id: 9060, status: 'success', startedAt: '2026-11-20T10:00:00Z', duration: 1 });
      assert.equal(await send(body), 'processed');
      assert.equal(await send(body), 'duplicate');
      assert.equal(await send(body, { key: 'a-new-key' }), 'duplicate');
      const text = await metrics();
      assert.equal(sample(text, `delivery_job_runs_total${job('success')}`), 1);
      assert.equal(
        sample(text, 'delivery_webhook_requests_total{source="gitlab",event="job",outcome="duplicate"}'),
        2,
      );
    });

    it('does not trust X-Gitlab-Event-UUID, which recursive hooks share', async () => {
      await send(jobHook({ id: 9070, status: 'success', startedAt: '2026-11-20T10:00:00Z', duration: 1 }));
      await send(jobHook({ id: 9071, status: 'success', startedAt: '2026-11-20T10:00:00Z', duration: 1 }));
      assert.equal(sample(await metrics(), `delivery_job_runs_total${job('success')}`), 2);
    });
  });

  describe('timestamps', () => {
    it('reads ISO 8601 with and without milliseconds, "UTC" and "+0100" forms', async () => {
      // No duration fields: durations come from the timestamps.
      await send(
        jobHook({
          id: 9080,
          status: 'success',
          createdAt: '2026-11-20T10:00:00.250Z',
          startedAt: '2026-11-20T10:00:10.750Z',
          finishedAt: '2026-11-20T10:01:10Z',
          runnerType: 'project_type',
        }),
      );
      await send(deploymentHook({ id: 601, status: 'running', at: '2026-11-20 11:00:00 +0100' }));
      await send(deploymentHook({ id: 601, status: 'success', at: '2026-11-20 10:02:30 UTC' }));
      const text = await metrics();
      assert.equal(sample(text, `delivery_job_duration_seconds_sum${job('success')}`), 59.25);
      assert.equal(sample(text, `delivery_job_queued_seconds_sum{${P},runner_type="project"}`), 10.5);
      assert.equal(
        sample(
          text,
          `delivery_deployment_duration_seconds_sum{${P},environment="production",status="success"}`,
        ),
        150,
      );
      assert.equal(
        sample(text, `delivery_environment_last_deployment_timestamp_seconds{${P},environment="production"}`),
        Date.UTC(2026, 10, 20, 10, 2, 30) / 1000,
      );
    });
  });

  describe('deployments', () => {
    it('measure a deployment whose running hook arrives after its final one', async () => {
      // GitLab sends each status from its own background job: the order is not guaranteed.
      const env = { environment: 'late-running' };
      assert.equal(
        await send(deploymentHook({ id: 620, status: 'success', at: '2026-11-20 10:10:00 UTC', ...env })),
        'processed',
      );
      assert.equal(
        await send(deploymentHook({ id: 620, status: 'running', at: '2026-11-20 10:00:00 UTC', ...env })),
        'processed',
      );
      assert.equal(
        await send(deploymentHook({ id: 620, status: 'running', at: '2026-11-20 10:00:00 UTC', ...env })),
        'duplicate',
      );
      const text = await metrics();
      const L = `{${P},environment="late-running",status="success"}`;
      assert.equal(sample(text, `delivery_deployment_runs_total${L}`), 1);
      assert.equal(sample(text, `delivery_deployment_duration_seconds_count${L}`), 1);
      assert.equal(sample(text, `delivery_deployment_duration_seconds_sum${L}`), 600);
    });

    it('measure running to success and running to failed, and the environment’s health and recovery', async () => {
      await send(
        deploymentHook({
          id: 610,
          status: 'running',
          at: '2026-11-20 10:00:00 +0000',
          environment: 'review/feature-x',
        }),
      );
      await send(
        deploymentHook({
          id: 610,
          status: 'failed',
          at: '2026-11-20 10:01:00 +0000',
          environment: 'review/feature-x',
        }),
      );
      const E = `${P},environment="review/*"`;
      let text = await metrics();
      assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="failed"}`), 1);
      assert.equal(sample(text, `delivery_deployment_duration_seconds_sum{${E},status="failed"}`), 60);
      assert.equal(sample(text, `delivery_environment_up{${E}}`), 0);

      await send(
        deploymentHook({
          id: 611,
          status: 'running',
          at: '2026-11-20 10:30:00 +0000',
          environment: 'review/feature-y',
        }),
      );
      await send(
        deploymentHook({
          id: 611,
          status: 'failed',
          at: '2026-11-20 10:31:00 +0000',
          environment: 'review/feature-y',
        }),
      );
      await send(
        deploymentHook({
          id: 612,
          status: 'running',
          at: '2026-11-20 11:00:00 +0000',
          environment: 'review/feature-x',
        }),
      );
      await send(
        deploymentHook({
          id: 612,
          status: 'success',
          at: '2026-11-20 11:05:00 +0000',
          environment: 'review/feature-x',
        }),
      );
      await send(
        deploymentHook({
          id: 612,
          status: 'success',
          at: '2026-11-20 11:05:00 +0000',
          environment: 'review/feature-x',
        }),
      );
      text = await metrics();
      assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="failed"}`), 2);
      assert.equal(sample(text, `delivery_deployment_runs_total{${E},status="success"}`), 1);
      assert.equal(sample(text, `delivery_deployment_duration_seconds_sum{${E},status="success"}`), 300);
      assert.equal(sample(text, `delivery_environment_up{${E}}`), 1);
      assert.equal(
        sample(text, `delivery_environment_last_deployment_timestamp_seconds{${E}}`),
        Date.UTC(2026, 10, 20, 11, 5) / 1000,
      );
      // From the first failure of the streak (10:01) to the success (11:05).
      assert.equal(sample(text, `delivery_environment_recovery_seconds_count{${E}}`), 1);
      assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 3840);
    });
    it('keep each review app’s own history under the folded label: one app’s success is no recovery of another', async () => {
      const hook = (id: number, status: string, at: string, environment: string) =>
        deploymentHook({ id, status, at: `2026-11-20 ${at}:00 +0000`, environment });
      await send(hook(620, 'failed', '10:02', 'review/feature-x'));
      await send(hook(621, 'success', '10:05', 'review/feature-y'));
      await send(hook(622, 'success', '11:02', 'review/feature-x'));
      const text = await metrics();
      const E = `${P},environment="review/*"`;
      // feature-x failed at 10:02 and recovered at 11:02; feature-y never failed.
      assert.equal(sample(text, `delivery_environment_recovery_seconds_count{${E}}`), 1);
      assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 3600);
      assert.equal(sample(text, `delivery_environment_up{${E}}`), 1);
    });

    it('give a folded label the health of the latest review app, whatever order they arrive in', async () => {
      const hook = (id: number, status: string, at: string, environment: string) =>
        deploymentHook({ id, status, at: `2026-11-20 ${at}:00 +0000`, environment });
      // feature-a succeeds at 12:00, after feature-b failed at 10:00: arriving last, b's older
      // failure must not turn the label red.
      await send(hook(630, 'success', '12:00', 'review/feature-a'));
      await send(hook(631, 'failed', '10:00', 'review/feature-b'));
      assert.equal(sample(await metrics(), `delivery_environment_up{${P},environment="review/*"}`), 1);
    });

    it('give the same health and recovery whatever order the deployments arrive in', async () => {
      // In time: 700 fails at 09:00, 701 fails at 09:30, 702 succeeds at 10:00, 703 fails at
      // 10:30 and 704 at 10:30 too succeeds (same second: the higher id is the later).
      const hook = (id: number, status: string, at: string) =>
        deploymentHook({ id, status, at: `2026-11-20 ${at}:00 +0000`, environment: 'staging' });
      const E = `${P},environment="staging"`;
      // The success first, then its streak's failures, latest first.
      await send(hook(702, 'success', '10:00'));
      await send(hook(701, 'failed', '09:30'));
      let text = await metrics();
      assert.equal(sample(text, `delivery_environment_up{${E}}`), 1, 'a late older failure leaves it up');
      assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 1800);
      // 04 before 03: the same second, and the higher id decides.
      await send(hook(704, 'success', '10:30'));
      await send(hook(703, 'failed', '10:30'));
      text = await metrics();
      assert.equal(sample(text, `delivery_environment_up{${E}}`), 1);
      assert.equal(sample(text, `delivery_environment_recovery_seconds_count{${E}}`), 2);
      assert.equal(sample(text, `delivery_environment_recovery_seconds_sum{${E}}`), 1800);
    });
  });

  describe('merge requests and releases', () => {
    it('count a merge with its lead time, and ignore other actions', async () => {
      await send(
        mergeHook({ id: 301, createdAt: '2026-11-19T10:00:00Z', updatedAt: '2026-11-20T10:00:00Z' }),
      );
      await send(
        mergeHook({ id: 301, createdAt: '2026-11-19T10:00:00Z', updatedAt: '2026-11-20T10:00:00Z' }),
      );
      assert.equal(await send({ ...fixture('merge-request-hook'), project: PROJECT }), 'ignored');
      const text = await metrics();
      assert.equal(sample(text, `delivery_merge_requests_merged_total{${P},ref="main"}`), 1);
      assert.equal(sample(text, `delivery_merge_request_lead_time_seconds_sum{${P},ref="main"}`), 86400);
    });

    it('count a created release once', async () => {
      assert.equal(await send(releaseHook({ id: 41 })), 'processed');
      assert.equal(await send(releaseHook({ id: 41 })), 'duplicate');
      assert.equal(await send(releaseHook({ id: 41, action: 'update' })), 'ignored');
      assert.equal(sample(await metrics(), `delivery_releases_total{${P}}`), 1);
    });
  });

  it('answers 200 ignored to an authentic Push Hook', async () => {
    const res = await postGitlab(app.url, pushHook());
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { outcome: 'ignored' });
    const text = await metrics();
    assert.equal(
      sample(text, 'delivery_webhook_requests_total{source="gitlab",event="push",outcome="ignored"}'),
      1,
    );
    assert.ok((sample(text, `delivery_webhook_last_received_timestamp_seconds{${P}}`) ?? 0) > 1.7e9);
  });
});
