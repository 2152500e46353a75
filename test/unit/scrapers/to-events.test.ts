import assert from 'node:assert/strict';
import { deploymentEvent, mergeEvent, pipelineEvents } from '../../../src/scrapers/gitlab/to-events.js';
import { runEvents as githubRunEvents } from '../../../src/scrapers/github/to-events.js';
import { parseGitlab } from '../../../src/sources/gitlab/parse.js';
import { build, pipelineHook } from '../../helpers/gitlab.js';

describe('GitLab API pipelines become the events its webhooks give', () => {
  it('same pipeline, attempt, ref and jobs, whatever the timestamp form', () => {
    const hook = pipelineHook({
      id: 7001,
      status: 'failed',
      finishedAt: '2026-11-20 10:10:00 UTC',
      duration: 540,
      queued: 3,
      builds: [
        build({
          id: 8001,
          status: 'failed',
          startedAt: '2026-11-20 10:01:00 UTC',
          finishedAt: '2026-11-20 10:02:00 UTC',
          duration: 60,
          queued: 5,
          runnerType: 'instance_type',
        }),
      ],
    });
    const fromHook = parseGitlab(hook);
    assert.equal(fromHook.kind, 'events');
    const project = { id: '101', path: 'acme/payments-api', defaultBranch: 'main' };
    const fromApi = pipelineEvents(
      project,
      {
        id: 7001,
        ref: 'main',
        tag: false,
        status: 'failed',
        source: 'push',
        name: null,
        created_at: '2026-11-20T10:00:00.123Z',
        finished_at: '2026-11-20T10:10:00.321Z',
        duration: 540,
        queued_duration: 3,
        sha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
        web_url: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
      },
      [
        {
          id: 8001,
          name: 'rspec',
          stage: 'test',
          status: 'failed',
          created_at: '2026-11-20T10:00:00.000Z',
          started_at: '2026-11-20T10:01:00.000Z',
          finished_at: '2026-11-20T10:02:00.000Z',
          duration: 60,
          queued_duration: 5,
          runner: { runner_type: 'instance_type' },
        },
      ],
    );
    if (fromHook.kind !== 'events') return;
    const [hookPipeline, hookJob] = fromHook.events;
    const [apiPipeline, apiJob] = fromApi;
    // The API does not say which pipeline triggered this one (`source_pipeline`, traces only).
    const { parent: _, ...hookWithoutParent } = hookPipeline as Extract<
      typeof hookPipeline,
      { kind: 'pipeline' }
    >;
    assert.deepEqual(apiPipeline, { ...hookWithoutParent, project });
    assert.deepEqual({ ...apiJob }, { ...hookJob, project });
  });

  it('same queue time and ref for a pipeline that started in its first second, from an external pull request', () => {
    const hook = pipelineHook({
      id: 7002,
      status: 'success',
      source: 'external_pull_request_event',
      ref: 'feature/z',
      finishedAt: '2026-11-20 10:10:00 UTC',
      duration: 600,
      queued: null,
    });
    const fromHook = parseGitlab(hook);
    assert.equal(fromHook.kind, 'events');
    if (fromHook.kind !== 'events') return;
    const project = { id: '101', path: 'acme/payments-api', defaultBranch: 'main' };
    const [apiPipeline] = pipelineEvents(
      project,
      {
        id: 7002,
        ref: 'feature/z',
        status: 'success',
        source: 'external_pull_request_event',
        created_at: '2026-11-20T10:00:00.000Z',
        started_at: '2026-11-20T10:00:00.400Z',
        finished_at: '2026-11-20T10:10:00.400Z',
        duration: 600,
        queued_duration: null,
        sha: 'bcbb5ec396a2c0f828686f14fac9b80b780504f2',
        web_url: 'http://example.com/gitlab-org/gitlab-test/-/pipelines/31',
      },
      [],
    );
    const { parent: _, ...hookWithoutParent } = fromHook.events[0] as Extract<
      (typeof fromHook.events)[0],
      { kind: 'pipeline' }
    >;
    assert.deepEqual(apiPipeline, { ...hookWithoutParent, project });
    assert.equal(apiPipeline?.kind === 'pipeline' && apiPipeline.queuedSeconds, 0);
    assert.equal(apiPipeline?.kind === 'pipeline' && apiPipeline.ref.mergeRequest, true);
  });
});

describe('GitLab API deployments and merges become the events their hooks give', () => {
  const project = { id: '101', path: 'acme/payments-api', defaultBranch: 'main' };
  const deployment = (deployable: { started_at: string | null } | null) => ({
    id: 801,
    status: 'canceled',
    created_at: '2026-11-20T10:00:00.120Z',
    updated_at: '2026-11-20T10:01:40.373Z',
    finished_at: '2026-11-20T10:01:40.373Z',
    environment: { name: 'production' },
    deployable,
  });

  it('whole seconds, as hooks give them', () => {
    const e = deploymentEvent(project, deployment({ started_at: '2026-11-20T10:00:05.999Z' }));
    assert.equal(e?.at, Date.UTC(2026, 10, 20, 10, 1, 40) / 1000);
    assert.equal(e?.runningAt, Date.UTC(2026, 10, 20, 10, 0, 5) / 1000);
    const m = mergeEvent(project, {
      id: 5,
      target_branch: 'main',
      created_at: '2026-11-19T10:00:00.509Z',
      merged_at: '2026-11-20T10:00:00.001Z',
    });
    assert.equal(m.createdAt, Date.UTC(2026, 10, 19, 10) / 1000);
    assert.equal(m.mergedAt, Date.UTC(2026, 10, 20, 10) / 1000);
  });

  it('no start for a deployment whose job never started: its hooks give no duration either', () => {
    assert.equal(deploymentEvent(project, deployment(null))?.runningAt, undefined);
    assert.equal(deploymentEvent(project, deployment({ started_at: null }))?.runningAt, undefined);
  });
});

describe('GitHub API runs become the events its webhooks give', () => {
  const project = { id: '1', path: 'octo-org/octo-repo', defaultBranch: 'main' };
  const apiRun = (attempt: number) => ({
    id: 5,
    name: 'CI',
    run_attempt: attempt,
    event: 'push',
    head_branch: 'main',
    status: 'completed',
    conclusion: 'success',
    created_at: '2026-11-20T10:00:00Z',
    run_started_at: attempt === 1 ? '2026-11-20T10:00:09Z' : '2026-11-20T11:00:00Z',
    updated_at: '2026-11-20T11:05:00Z',
  });
  const queued = (attempt: number) => {
    const [event] = githubRunEvents(project, apiRun(attempt), []);
    assert.equal(event?.kind, 'pipeline');
    return event.kind === 'pipeline' ? event.queuedSeconds : 'not a pipeline';
  };

  it('a queue time for the first attempt only: a re-run keeps created_at, so the rest is the time between attempts', () => {
    assert.equal(queued(1), 9);
    assert.equal(queued(2), undefined);
  });
});
