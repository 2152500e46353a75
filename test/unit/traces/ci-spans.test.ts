import assert from 'node:assert/strict';
import type { JobEvent, PipelineEvent } from '../../../src/events/model.js';
import { jobSpans, pipelineSpan } from '../../../src/traces/ci-spans.js';

// Expected ids computed outside this code, with `printf '%s' INPUT | sha256sum`, from the
// inputs the OpenTelemetry Collector's githubreceiver hashes (trace: `<run><attempt>t`, first
// 16 bytes; run span: `<run><attempt>s`, job: `<job>-j`, queue: `<job>-q`, bytes 8-15).
const RUN = '12719320830';
const JOB = '35483121697';

const project = { id: '766311065', path: 'example/example-repo', defaultBranch: 'main' };

function run(over: Partial<PipelineEvent> = {}): PipelineEvent {
  return {
    kind: 'pipeline',
    source: 'github',
    project,
    pipelineId: RUN,
    attempt: '1',
    name: 'Release',
    status: 'success',
    ref: { name: 'main', tag: false, mergeRequest: false },
    finishedAt: 1736654830,
    durationSeconds: 10,
    queuedSeconds: 2,
    startedAt: 1736654820,
    sha: '3dd4d0f1d80f389d5849adb029f7398d8d0f8bc1',
    ...over,
  };
}

function job(over: Partial<JobEvent> = {}): JobEvent {
  return {
    kind: 'job',
    source: 'github',
    project,
    jobId: JOB,
    pipelineId: RUN,
    name: 'Test Report',
    stage: 'Release',
    status: 'success',
    ref: { name: 'main', tag: false, mergeRequest: false },
    runnerType: 'github-hosted',
    createdAt: 1736654821,
    startedAt: 1736654823,
    finishedAt: 1736654829,
    durationSeconds: undefined,
    queuedSeconds: undefined,
    attempt: '1',
    ...over,
  };
}

describe('CI spans', () => {
  it('derives GitHub ids as the Collector githubreceiver does (run attempt trace, run span, job and queue spans)', () => {
    const root = pipelineSpan(run(), 'success', undefined);
    assert.equal(root?.traceId, '94ecad9abb9ba862ff2e02944d2d683e');
    assert.equal(root?.spanId, '2fddcabd120543ec');
    assert.equal(root?.parentSpanId, undefined);
    assert.equal(root?.kind, 'server');
    assert.equal(root?.startS, 1736654820);
    assert.equal(root?.endS, 1736654830);
    assert.equal(root?.status, 'ok');
    assert.equal(root?.attributes['cicd.pipeline.result'], 'success');
    assert.equal(root?.attributes['vcs.ref.head.revision'], '3dd4d0f1d80f389d5849adb029f7398d8d0f8bc1');
    assert.equal(root?.links, undefined);

    const [jobSpan, queue, ...rest] = jobSpans(job(), 'success', undefined);
    assert.equal(rest.length, 0);
    assert.equal(jobSpan?.traceId, '94ecad9abb9ba862ff2e02944d2d683e');
    assert.equal(jobSpan?.spanId, 'f6549b61d49cb05d');
    assert.equal(jobSpan?.parentSpanId, '2fddcabd120543ec');
    assert.equal(jobSpan?.startS, 1736654821);
    assert.equal(jobSpan?.endS, 1736654829);
    assert.equal(queue?.spanId, '3ac82a76d60b4859');
    assert.equal(queue?.parentSpanId, 'f6549b61d49cb05d');
    assert.equal(queue?.name, 'queue-Test Report');
    assert.equal(queue?.startS, 1736654821);
    assert.equal(queue?.endS, 1736654823);
    assert.equal(queue?.attributes['cicd.pipeline.run.queue.duration'], 2e9);
  });

  it('makes a re-run attempt a trace of its own, linked to the attempt before it', () => {
    const root = pipelineSpan(run({ attempt: '2', status: 'failed' }), 'failed', undefined);
    assert.equal(root?.traceId, '82920c55181f55d1be0ed785f63d7d8a');
    assert.equal(root?.spanId, '76321cbec43ad3bf');
    assert.equal(root?.status, 'error');
    assert.deepEqual(root?.links, [
      { traceId: '94ecad9abb9ba862ff2e02944d2d683e', spanId: '2fddcabd120543ec' },
    ]);
    const [jobSpan] = jobSpans(job({ attempt: '2', jobId: '99' }), 'failed', undefined);
    assert.equal(jobSpan?.traceId, '82920c55181f55d1be0ed785f63d7d8a');
    assert.equal(jobSpan?.parentSpanId, '76321cbec43ad3bf');
  });

  it('puts a GitLab child pipeline in its root pipeline’s trace, under its bridge job', () => {
    const gitlab = { source: 'gitlab' as const, attempt: '' };
    const parent = pipelineSpan(run({ ...gitlab, pipelineId: '1001' }), 'success', undefined);
    assert.equal(parent?.traceId, 'ea34aa2f08defeff964dcb54de7dee8f');
    assert.equal(parent?.spanId, '77803a5c6022b7c9');
    const child = pipelineSpan(
      run({ ...gitlab, pipelineId: '1002', parent: { projectId: '5', pipelineId: '1001', jobId: '2001' } }),
      'success',
      '1001',
    );
    assert.equal(child?.traceId, 'ea34aa2f08defeff964dcb54de7dee8f');
    assert.equal(child?.parentSpanId, '119c63a00a92afb0');
    const [bridge, bridgeQueue] = jobSpans(
      (({ attempt: _, ...rest }) => rest)(
        job({ source: 'gitlab', jobId: '2001', pipelineId: '1001', queuedSeconds: 1.5 }),
      ),
      'success',
      undefined,
    );
    assert.equal(bridge?.spanId, '119c63a00a92afb0');
    assert.equal(bridge?.parentSpanId, '77803a5c6022b7c9');
    assert.equal(bridgeQueue?.spanId, '9be928b6f0df845d');
    // GitLab's queued_duration is the time pending: the queue ends at the start and lasts that long.
    assert.equal(bridgeQueue?.startS, 1736654821.5);
    assert.equal(bridgeQueue?.endS, 1736654823);
  });

  it('places no span for a job without a pipeline or a finish, and never ends a span before it starts', () => {
    assert.deepEqual(jobSpans(job({ pipelineId: undefined }), 'success', undefined), []);
    assert.deepEqual(jobSpans(job({ finishedAt: undefined }), 'success', undefined), []);
    const skewed = pipelineSpan(run({ startedAt: 1736654840 }), 'canceled', undefined);
    assert.equal(skewed?.startS, 1736654840);
    assert.equal(skewed?.endS, 1736654840);
    assert.equal(skewed?.status, 'unset');
    assert.equal(skewed?.attributes['cicd.pipeline.result'], 'cancellation');
  });
});
