import assert from 'node:assert/strict';
import { example, linters, postGithub } from '../helpers/github.js';
import { build, GITLAB_SECRET, jobHook, postGitlab, pipelineHook, PROJECT } from '../helpers/gitlab.js';
import { type OtlpReceiver, type ReceivedSpan, startHttpReceiver } from '../helpers/otlp-receiver.js';
import { startPrometheus } from '../helpers/prometheus.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../helpers/fake-clock.js';
import { startTestApp, type TestApp } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

// Ids computed outside this code: `printf '%s' INPUT | sha256sum`, trace = first 16 bytes, span =
// bytes 8-15 (see src/traces/ids.ts). GitHub run 2202229078 attempt 1 and its job 289782451
// (@octokit/webhooks-examples), hashed as the Collector's githubreceiver does.
const GH = {
  trace: 'dfe7d9f05e3dc54f4d215a481011594b', // "22022290781t"
  run: '94e32b3c28f84510', // "22022290781s"
  job: 'd0f4cc21745bf74d', // "289782451-j"
  queue: 'f940cfec2f571524', // "289782451-q"
  trace2: '4a8ca3dc54e36bf7e804e16ce015ccf6', // "22022290782t"
  run2: '7cf589ce6dea1723', // "22022290782s"
};
// GitLab pipeline 7001 triggers child pipeline 7002 through bridge job 8101; 8201 is a child job.
const GL = {
  trace: 'e686b0bddcc75e24a9629b154c5ef108', // "gitlab-7001t"
  parent: '564c0cabe02a56cd', // "gitlab-7001s"
  child: '796db116151c2ed1', // "gitlab-7002s"
  bridge: '4c7874bd54d9a47e', // "gitlab-8101-j"
  childJob: 'ccd1fea98ec37e46', // "gitlab-8201-j"
  childQueue: 'aed298e502fb5f73', // "gitlab-8201-q"
};

const s = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

function run(changes: Record<string, unknown> = {}) {
  const payload = example(
    'workflow_run',
    (e) => (e.workflow_run as { conclusion: string }).conclusion === 'success',
  );
  // The job's repository: the examples' run and job come from two.
  payload.repository = linters('completed').repository;
  Object.assign(payload.workflow_run as object, {
    id: 2202229078,
    name: 'CodeQL',
    run_started_at: '2021-08-05T10:33:50Z',
    updated_at: '2021-08-05T10:40:00Z',
    ...changes,
  });
  return payload;
}

/** A Pipeline Hook of a pipeline nothing triggered (the documented example names a parent). */
function topPipeline(o: Parameters<typeof pipelineHook>[0]): Record<string, unknown> {
  const { source_pipeline: _, ...hook } = pipelineHook(o);
  return hook;
}

/** A child pipeline's hook: `source_pipeline` names the parent pipeline and its bridge job. */
function childPipeline(o: Parameters<typeof pipelineHook>[0]): Record<string, unknown> {
  return {
    ...pipelineHook({ source: 'parent_pipeline', ...o }),
    source_pipeline: {
      project: { id: PROJECT.id, web_url: PROJECT.web_url, path_with_namespace: PROJECT.path_with_namespace },
      pipeline_id: 7001,
      job_id: 8101,
    },
  };
}

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

/** The Job Hook of the child's job 8201 (`deploy`), finished, in pipeline `pipelineId`. */
function deployJobHook(
  pipelineId: number,
  t: { createdAt: string; startedAt: string; finishedAt: string; duration: number; queued: number },
): Record<string, unknown> {
  return jobHook({ id: 8201, name: 'deploy', stage: 'deploy', status: 'success', pipelineId, ...t });
}

/** Child pipeline 7002, finished with its job 8201. */
const childSucceeded = () =>
  childPipeline({
    id: 7002,
    status: 'success',
    createdAt: '2026-11-20 10:01:30 UTC',
    finishedAt: '2026-11-20 10:05:30 UTC',
    duration: 240,
    builds: [childJob],
  });

function byId(spans: readonly ReceivedSpan[], spanId: string): ReceivedSpan {
  const found = spans.filter((x) => x.spanId === spanId);
  assert.equal(found.length, 1, `span ${spanId}: ${found.length} exported`);
  return found[0] as ReceivedSpan;
}

describe('Traces (SPEC section 10)', () => {
  let receiver: OtlpReceiver;
  let app: TestApp;
  beforeEach(async () => {
    receiver = await startHttpReceiver();
    app = await startTestApp({
      GITHUB_WEBHOOK_SECRET: 'github-default-secret',
      GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint.href,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
  });
  afterEach(async () => {
    await app.stop();
    await receiver.close();
  });

  async function github(event: string, payload: unknown): Promise<void> {
    const res = await postGithub(app.url, event, payload);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  async function gitlab(payload: unknown): Promise<void> {
    const res = await postGitlab(app.url, payload);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  it('exports a GitHub run and its job with the githubreceiver ids, once, however often they arrive', async () => {
    for (const action of ['queued', 'in_progress', 'completed'] as const) {
      await github('workflow_job', linters(action));
    }
    await github('workflow_run', run());
    const spans = await receiver.waitForSpans(3);

    const root = byId(spans, GH.run);
    assert.equal(root.traceId, GH.trace);
    assert.equal(root.parentSpanId, '');
    assert.equal(root.name, 'CodeQL');
    assert.equal(root.kind, 2, 'server');
    assert.equal(root.startTimeUnixNano, s('2021-08-05T10:33:50Z'));
    assert.equal(root.endTimeUnixNano, s('2021-08-05T10:40:00Z'));
    assert.deepEqual(root.status, { code: 1, message: 'success' });
    assert.equal(root.attributes['cicd.pipeline.result'], 'success');
    assert.equal(root.attributes['cicd.pipeline.run.id'], '2202229078');
    assert.equal(root.resource['service.name'], 'Codertocat/Hello-World');
    assert.equal(root.resource['vcs.provider.name'], 'github');

    const job = byId(spans, GH.job);
    assert.equal(job.traceId, GH.trace);
    assert.equal(job.parentSpanId, GH.run);
    assert.equal(job.name, 'linters');
    assert.equal(job.kind, 1, 'internal');
    assert.equal(job.startTimeUnixNano, s('2021-08-05T10:33:58Z'));
    assert.equal(job.endTimeUnixNano, s('2021-08-05T10:38:16Z'));
    assert.deepEqual(job.status, { code: 2, message: 'failure' });
    assert.equal(job.attributes['cicd.pipeline.task.run.result'], 'failure');

    const queue = byId(spans, GH.queue);
    assert.equal(queue.parentSpanId, GH.job);
    assert.equal(queue.name, 'queue-linters');
    assert.equal(queue.startTimeUnixNano, s('2021-08-05T10:33:58Z'));
    assert.equal(queue.endTimeUnixNano, s('2021-08-05T10:34:58Z'));
    assert.equal(queue.attributes['cicd.pipeline.run.queue.duration'], 60e9);

    // Redelivered (new GUIDs) and delivered again: nothing more is exported.
    await github('workflow_job', linters('completed'));
    await github('workflow_run', run());
    await app.stop();
    assert.equal(receiver.spans.length, 3, receiver.spans.map((x) => x.name).join(', '));
  });

  it('makes a re-run attempt its own trace, linked to the first', async () => {
    await github('workflow_run', run({ conclusion: 'failure' }));
    await github(
      'workflow_run',
      run({ run_attempt: 2, run_started_at: '2021-08-05T11:00:00Z', updated_at: '2021-08-05T11:05:00Z' }),
    );
    const spans = await receiver.waitForSpans(2);
    const second = byId(spans, GH.run2);
    assert.equal(second.traceId, GH.trace2);
    assert.deepEqual(second.links, [{ traceId: GH.trace, spanId: GH.run }]);
    assert.equal(byId(spans, GH.run).status.code, 2);
  });

  it('puts a GitLab child pipeline and its jobs into the parent’s trace, under the bridge job', async () => {
    await gitlab(
      topPipeline({
        id: 7001,
        status: 'running',
        // GitLab lists no bridge (trigger) job in `builds` (Ci::Build only) and sends no Job Hook for it.
        builds: [],
      }),
    );
    await gitlab(childSucceeded());
    await gitlab(
      topPipeline({
        id: 7001,
        status: 'success',
        createdAt: '2026-11-20 10:00:00 UTC',
        finishedAt: '2026-11-20 10:06:10 UTC',
        duration: 360,
        builds: [],
      }),
    );
    // Parent, the bridge job (stood for by the child); child, its job and queue.
    const spans = await receiver.waitForSpans(5);
    assert.ok(
      spans.every((x) => x.traceId === GL.trace),
      spans.map((x) => x.traceId).join(' '),
    );
    assert.equal(byId(spans, GL.parent).parentSpanId, '');
    assert.equal(byId(spans, GL.bridge).parentSpanId, GL.parent);
    const childRoot = byId(spans, GL.child);
    assert.equal(childRoot.parentSpanId, GL.bridge);
    assert.equal(childRoot.startTimeUnixNano, s('2026-11-20T10:01:30Z'));
    assert.equal(childRoot.endTimeUnixNano, s('2026-11-20T10:05:30Z'));
    assert.equal(childRoot.attributes['cicd.pipeline.parent.run.id'], '7001');
    assert.equal(byId(spans, GL.childJob).parentSpanId, GL.child);
    const queue = byId(spans, GL.childQueue);
    assert.equal(queue.parentSpanId, GL.childJob);
    // queued_duration (5 s) before the start, not since the job was created.
    assert.equal(queue.startTimeUnixNano, s('2026-11-20T10:01:55Z'));
    assert.equal(queue.endTimeUnixNano, s('2026-11-20T10:02:00Z'));
  });

  it('puts a child pipeline’s job into its pipeline’s trace even when the job’s hook comes first', async () => {
    await gitlab(topPipeline({ id: 7001, status: 'running', builds: [] }));
    // The child's job finishes before its pipeline's first hook got through (a 503 during a
    // restart): it cannot know yet that its pipeline joins 7001's trace, and waits for it.
    await gitlab(
      deployJobHook(7002, {
        createdAt: '2026-11-20 10:01:40 UTC',
        startedAt: '2026-11-20 10:02:00 UTC',
        finishedAt: '2026-11-20 10:05:00 UTC',
        duration: 180,
        queued: 5,
      }),
    );
    await gitlab(childSucceeded());
    await app.stop(); // flushes the exporter
    assert.equal(byId(receiver.spans, GL.child).traceId, GL.trace);
    assert.equal(byId(receiver.spans, GL.childJob).traceId, GL.trace);
    assert.equal(byId(receiver.spans, GL.childQueue).traceId, GL.trace);
  });

  it('keeps a child pipeline under its bridge when the scraper sees it finish again (the API names no parent)', async () => {
    await gitlab(topPipeline({ id: 7001, status: 'running', builds: [] }));
    await gitlab(
      childPipeline({
        id: 7002,
        status: 'failed',
        createdAt: '2026-11-20 10:01:30 UTC',
        finishedAt: '2026-11-20 10:03:00 UTC',
        duration: 90,
      }),
    );
    // Retried, and its success read from the pipelines API: no `source_pipeline` there.
    await app.service.processor.process({
      key: undefined,
      events: [
        {
          kind: 'pipeline',
          source: 'gitlab',
          project: { id: '101', path: 'acme/payments-api', defaultBranch: 'main' },
          pipelineId: '7002',
          attempt: '',
          name: 'parent_pipeline',
          status: 'success',
          ref: { name: 'main', tag: false, mergeRequest: false },
          finishedAt: Date.parse('2026-11-20T10:09:00Z') / 1000,
          durationSeconds: 300,
          queuedSeconds: undefined,
          startedAt: Date.parse('2026-11-20T10:01:30Z') / 1000,
        },
      ],
    });
    await app.stop();
    const roots = receiver.spans.filter((x) => x.spanId === GL.child);
    assert.equal(roots.length, 2, 'failed, then success after the retry: sent again (README)');
    for (const root of roots) {
      assert.equal(root.traceId, GL.trace);
      assert.equal(root.parentSpanId, GL.bridge);
    }
    assert.ok(
      receiver.spans.some((x) => x.spanId === GL.bridge && x.endTimeUnixNano === s('2026-11-20T10:09:00Z')),
    );
  });

  it('gives a GitLab job the same span whichever hook brings its end (Job Hooks say milliseconds, builds seconds)', async () => {
    await gitlab(topPipeline({ id: 7001, status: 'running', builds: [] }));
    await gitlab(
      deployJobHook(7001, {
        createdAt: '2026-11-20T10:01:40.250Z',
        startedAt: '2026-11-20T10:02:00.750Z',
        finishedAt: '2026-11-20T10:05:00.900Z',
        duration: 180.15,
        queued: 5.5,
      }),
    );
    await app.stop();
    const job = byId(receiver.spans, GL.childJob);
    // As the same job in a Pipeline Hook's builds (whole seconds) would give it.
    assert.equal(job.startTimeUnixNano, s('2026-11-20T10:01:40Z'));
    assert.equal(job.endTimeUnixNano, s('2026-11-20T10:05:00Z'));
    const queue = byId(receiver.spans, GL.childQueue);
    assert.equal(queue.startTimeUnixNano, s('2026-11-20T10:01:54.500Z'));
    assert.equal(queue.endTimeUnixNano, s('2026-11-20T10:02:00Z'));
  });

  it('gives duration histograms the trace id as an exemplar, which a real Prometheus stores', async () => {
    await github('workflow_run', run());
    const res = await fetch(`${app.url}/metrics`, {
      headers: { Accept: 'application/openmetrics-text;version=1.0.0' },
    });
    const text = await res.text();
    const exemplars = text.split('\n').filter((l) => l.includes('# {trace_id='));
    assert.ok(
      exemplars.some(
        (l) =>
          l.startsWith('delivery_pipeline_duration_seconds_bucket{') && l.includes(`trace_id="${GH.trace}"`),
      ),
      exemplars.join('\n'),
    );
    const plain = await (await fetch(`${app.url}/metrics`)).text();
    assert.doesNotMatch(plain, /trace_id/);

    const prometheus = await startPrometheus({
      host: '127.0.0.1',
      port: app.service.port,
      flags: ['--enable-feature=exemplar-storage'],
    });
    try {
      await prometheus.waitFor('delivery_pipeline_runs_total', (v) => v === 1);
      const deadline = Date.now() + 20_000;
      let found: unknown[] = [];
      while (Date.now() < deadline && found.length === 0) {
        const now = Date.now() / 1000;
        const q = await fetch(
          `${prometheus.url}/api/v1/query_exemplars?query=delivery_pipeline_duration_seconds_bucket&start=${now - 600}&end=${now + 60}`,
        );
        const body = (await q.json()) as {
          data?: Array<{ exemplars: Array<{ labels: Record<string, string> }> }>;
        };
        found = (body.data ?? []).flatMap((d) => d.exemplars).filter((e) => e.labels.trace_id === GH.trace);
        if (found.length === 0) await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(found.length > 0, 'Prometheus stored no exemplar with the trace id');
    } finally {
      await prometheus.stop();
    }
  });
});

describe('Traces off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('puts no exemplar in OpenMetrics', async () => {
    const app = await startTestApp({ GITHUB_WEBHOOK_SECRET: 'github-default-secret' });
    try {
      assert.equal((await postGithub(app.url, 'workflow_run', run())).status, 200);
      const text = await (
        await fetch(`${app.url}/metrics`, {
          headers: { Accept: 'application/openmetrics-text;version=1.0.0' },
        })
      ).text();
      assert.match(text, /^delivery_pipeline_duration_seconds_bucket\{/m);
      assert.doesNotMatch(text, /trace_id/);
    } finally {
      await app.stop();
    }
  });
});

describe('Traces: a GitLab job whose pipeline never sends its hook', () => {
  it('is exported in its own pipeline’s trace after the hour its counting waits too', async () => {
    const receiver = await startHttpReceiver();
    const clock = new FakeClock(Date.UTC(2026, 10, 20, 10, 0));
    const app = await startTestApp(
      {
        GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint.href,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
      { clock },
    );
    try {
      // The project sends pipelines, so a job of an unknown pipeline waits for its hook. (gitlab-7005t)
      assert.equal((await postGitlab(app.url, topPipeline({ id: 7001, status: 'running' }))).status, 200);
      const job = jobHook({
        id: 8501,
        status: 'success',
        pipelineId: 7005,
        createdAt: '2026-11-20 09:50:00 UTC',
        startedAt: '2026-11-20 09:51:00 UTC',
        finishedAt: '2026-11-20 09:55:00 UTC',
        duration: 240,
        queued: 10,
      });
      assert.equal((await postGitlab(app.url, job)).status, 200);
      clock.advance(1800);
      await app.service.processor.expireActiveJobs();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(receiver.spans.length, 0, 'nothing before the hour is up');
      clock.advance(1801);
      await app.service.processor.expireActiveJobs();
      const spans = await receiver.waitForSpans(2);
      assert.deepEqual(
        spans.map((x) => [x.name, x.traceId]).sort(),
        [
          ['queue-rspec', 'de787bb1354b828ba56d178d88785ae6'],
          ['rspec', 'de787bb1354b828ba56d178d88785ae6'],
        ].sort(),
      );
    } finally {
      await app.stop();
      await receiver.close();
    }
  });
});

describe('Traces with the collector down', () => {
  it('answers webhooks as before, logs the failure without headers, and stops within seconds', async () => {
    const receiver = await startHttpReceiver();
    const endpoint = receiver.endpoint.href;
    await receiver.close(); // nothing listens there any more
    const app = await startTestApp({
      GITHUB_WEBHOOK_SECRET: 'github-default-secret',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer collector-secret-token',
    });
    let stopped = false;
    try {
      for (let i = 0; i < 20; i++) {
        const res = await postGithub(app.url, 'workflow_run', run({ id: 3_000_000 + i }));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.outcome, 'processed');
      }
      const started = Date.now();
      await app.stop();
      stopped = true;
      assert.ok(Date.now() - started < 8000, `stop took ${Date.now() - started} ms`);
      assert.ok(
        app.logs.some(
          (l) => l.level === 40 && ['opentelemetry', 'otlp-export'].includes(String(l.component)),
        ),
        'a warning of the traces component says the export failed',
      );
      assert.doesNotMatch(app.rawLogs(), /collector-secret-token/);
    } finally {
      if (!stopped) await app.stop();
    }
  });
});

describe('Traces: the collector’s headers from Vault', () => {
  it('sends OTEL_EXPORTER_OTLP_HEADERS read from a SECRETS_DIR file, and never prints it', async () => {
    const receiver = await startHttpReceiver();
    const dir = tempDir();
    writeFileSync(join(dir, 'OTEL_EXPORTER_OTLP_HEADERS'), 'authorization=Bearer vault-collector-key\n');
    const app = await startTestApp({
      SECRETS_DIR: dir,
      GITHUB_WEBHOOK_SECRET: 'github-default-secret',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint.href,
    });
    try {
      assert.equal((await postGithub(app.url, 'workflow_run', run())).status, 200);
      await receiver.waitForSpans(1);
      assert.deepEqual(
        receiver.requests.map((r) => r.authorization),
        ['Bearer vault-collector-key'],
      );
    } finally {
      await app.stop();
      await receiver.close();
    }
    assert.doesNotMatch(app.rawLogs(), /vault-collector-key/);
  });
});
