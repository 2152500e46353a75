import assert from 'node:assert/strict';
import { build, GITLAB_SECRET, jobHook, pipelineHook, postGitlab, PROJECT } from '../helpers/gitlab.js';
import { type OtlpReceiver, type ReceivedSpan, startHttpReceiver } from '../helpers/otlp-receiver.js';
import { startTestApp, type TestApp } from '../helpers/start-app.js';

// Review tests (traces): GitLab parent 7001 -> bridge 8101 -> child 7002 with job 8201.
const GL = {
  trace: 'e686b0bddcc75e24a9629b154c5ef108', // "gitlab-7001t"
  parent: '564c0cabe02a56cd', // "gitlab-7001s"
  child: '796db116151c2ed1', // "gitlab-7002s"
  bridge: '4c7874bd54d9a47e', // "gitlab-8101-j"
  childJob: 'ccd1fea98ec37e46', // "gitlab-8201-j"
};

function topPipeline(o: Parameters<typeof pipelineHook>[0]): Record<string, unknown> {
  const { source_pipeline: _, ...hook } = pipelineHook(o);
  return hook;
}

function childPipeline(o: Parameters<typeof pipelineHook>[0], parentId = 7001, bridgeId = 8101) {
  return {
    ...pipelineHook({ source: 'parent_pipeline', ...o }),
    source_pipeline: {
      project: { id: PROJECT.id, web_url: PROJECT.web_url, path_with_namespace: PROJECT.path_with_namespace },
      pipeline_id: parentId,
      job_id: bridgeId,
    },
  };
}

const regular = build({
  id: 8100,
  name: 'build',
  stage: 'build',
  status: 'success',
  startedAt: '2026-11-20 10:00:10 UTC',
  finishedAt: '2026-11-20 10:00:50 UTC',
  duration: 40,
  queued: 1,
});
const childJob = build({
  id: 8201,
  name: 'deploy',
  stage: 'deploy',
  status: 'success',
  startedAt: '2026-11-20 10:02:00 UTC',
  finishedAt: '2026-11-20 10:05:00 UTC',
  duration: 180,
  queued: 5,
});

describe('Traces review (GitLab child pipelines)', () => {
  let receiver: OtlpReceiver;
  let app: TestApp;
  beforeEach(async () => {
    receiver = await startHttpReceiver();
    app = await startTestApp({
      GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint.href,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
  });
  afterEach(async () => {
    await app.stop();
    await receiver.close();
  });
  async function gitlab(payload: unknown): Promise<void> {
    const res = await postGitlab(app.url, payload);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  async function settle(): Promise<ReceivedSpan[]> {
    await app.stop(); // flushes the exporter
    return receiver.spans;
  }

  // Real GitLab sends no Job Hook for a trigger (bridge) job (gitlab-org/gitlab#326137), and a
  // Pipeline Hook's `builds` is `pipeline.latest_builds`, Ci::Build only (lib/gitlab/data_builder/
  // pipeline.rb); the scraper's /pipelines/:id/jobs lists no bridges either.
  it('exports the span a child pipeline’s root names as its parent (the bridge job’s) when GitLab sends no bridge', async () => {
    await gitlab(topPipeline({ id: 7001, status: 'running', builds: [regular] }));
    await gitlab(
      childPipeline({
        id: 7002,
        status: 'success',
        createdAt: '2026-11-20 10:01:30 UTC',
        finishedAt: '2026-11-20 10:05:30 UTC',
        duration: 240,
        builds: [childJob],
      }),
    );
    await gitlab(
      topPipeline({
        id: 7001,
        status: 'success',
        createdAt: '2026-11-20 10:00:00 UTC',
        finishedAt: '2026-11-20 10:06:10 UTC',
        duration: 360,
        builds: [regular],
      }),
    );
    const spans = await settle();
    const ids = new Set(spans.map((s) => s.spanId));
    const orphans = spans.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId));
    assert.deepEqual(
      orphans.map((s) => `${s.name} -> missing parent ${s.parentSpanId}`),
      [],
      'every parent span id is exported',
    );
  });

  it('puts a child pipeline’s job into the trace of its pipeline whichever hook comes first', async () => {
    await gitlab(topPipeline({ id: 7001, status: 'running', builds: [regular] }));
    // The child's job finishes before its pipeline's first hook got through (a 503 during a
    // restart, Sidekiq order): SPEC section 4, events arrive out of order.
    await gitlab(
      jobHook({
        id: 8201,
        name: 'deploy',
        stage: 'deploy',
        status: 'success',
        pipelineId: 7002,
        createdAt: '2026-11-20 10:01:40 UTC',
        startedAt: '2026-11-20 10:02:00 UTC',
        finishedAt: '2026-11-20 10:05:00 UTC',
        duration: 180,
        queued: 5,
      }),
    );
    await gitlab(
      childPipeline({
        id: 7002,
        status: 'success',
        createdAt: '2026-11-20 10:01:30 UTC',
        finishedAt: '2026-11-20 10:05:30 UTC',
        duration: 240,
        builds: [childJob],
      }),
    );
    const spans = await settle();
    const root = spans.find((s) => s.spanId === GL.child);
    const job = spans.find((s) => s.spanId === GL.childJob);
    assert.ok(root && job, spans.map((s) => s.name).join(', '));
    assert.equal(root.traceId, GL.trace);
    assert.equal(job.traceId, root.traceId, 'the job is in its pipeline’s trace');
  });

  it('keeps a grandchild in the root’s trace when its hook comes before its parent’s', async () => {
    await gitlab(topPipeline({ id: 7001, status: 'running', builds: [regular] }));
    // 7003 is a child of 7002 (bridge 8202), itself a child of 7001 (bridge 8101).
    await gitlab(childPipeline({ id: 7003, status: 'running', builds: [] }, 7002, 8202));
    await gitlab(childPipeline({ id: 7002, status: 'running', builds: [] }));
    await gitlab(
      childPipeline(
        { id: 7003, status: 'success', createdAt: '2026-11-20 10:02:00 UTC', finishedAt: '2026-11-20 10:04:00 UTC', duration: 120 },
        7002,
        8202,
      ),
    );
    const spans = await settle();
    const grandchild = spans.find((s) => s.attributes['cicd.pipeline.run.id'] === '7003' && s.kind === 2);
    assert.ok(grandchild, spans.map((s) => s.name).join(', '));
    assert.equal(grandchild.traceId, GL.trace, 'the grandchild joins the trace of 7001');
  });
});
