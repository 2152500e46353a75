import type { FinalStatus, JobEvent, PipelineEvent } from '../events/model.js';
import {
  githubJobSpanId,
  githubQueueSpanId,
  githubRunSpanId,
  githubTraceId,
  gitlabJobSpanId,
  gitlabPipelineSpanId,
  gitlabQueueSpanId,
  gitlabTraceId,
} from './ids.js';
import type { AttributeValue, SpanRecord } from './span-record.js';

/**
 * The spans of SPEC section 10, built from the same events the metrics are: a root span per
 * pipeline or run attempt (created to finished), a child span per job (created to finished),
 * and under it the job's queue (created to started). Attributes follow the OpenTelemetry CI/CD
 * semantic conventions (`cicd.pipeline.*`, `vcs.*`).
 */

/** `cicd.pipeline.result` and `cicd.pipeline.task.run.result` values. */
const RESULT: Record<FinalStatus, string> = {
  success: 'success',
  failed: 'failure',
  canceled: 'cancellation',
};

function statusOf(status: FinalStatus): Pick<SpanRecord, 'status' | 'statusMessage'> {
  return {
    status: status === 'success' ? 'ok' : status === 'failed' ? 'error' : 'unset',
    statusMessage: RESULT[status],
  };
}

/**
 * One object per project, kept (bounded): spans posted to the export thread together that share
 * it are copied once (structured clone keeps shared references), and the thread groups spans by it.
 */
const resources = new Map<string, Readonly<Record<string, string>>>();

function resourceOf(e: JobEvent | PipelineEvent): Readonly<Record<string, string>> {
  const key = `${e.source}:${e.project.path}`;
  let resource = resources.get(key);
  if (resource === undefined) {
    if (resources.size >= 10_000) resources.clear();
    resource = {
      'service.name': e.project.path,
      'vcs.provider.name': e.source,
      'vcs.repository.name': e.project.path,
    };
    resources.set(key, resource);
  }
  return resource;
}

/** A span that ends before it starts (clock skew between GitLab nodes) is made empty, at its start. */
function times(startS: number, endS: number): { startS: number; endS: number } {
  return { startS, endS: Math.max(startS, endS) };
}

/** The trace of a pipeline (see pipelineSpan): its attempt's on GitHub, its chain's on GitLab. */
export function pipelineTraceId(e: PipelineEvent, rootPipelineId: string | undefined): string {
  return e.source === 'github'
    ? githubTraceId(e.pipelineId, e.attempt)
    : gitlabTraceId(rootPipelineId ?? e.pipelineId);
}

/**
 * Where a pipeline's root span goes. A GitLab child or multi-project pipeline joins the trace
 * of `rootPipelineId` (the first pipeline of its chain, as far as this service knows it) under
 * its bridge job's span; a GitHub re-run attempt is a trace of its own, linked to the attempt
 * before it, as the collector's githubreceiver does.
 */
export function pipelineSpan(
  e: PipelineEvent,
  status: FinalStatus,
  rootPipelineId: string | undefined,
): SpanRecord | undefined {
  if (e.finishedAt === undefined) return undefined;
  const start =
    e.startedAt ?? (e.durationSeconds === undefined ? e.finishedAt : e.finishedAt - e.durationSeconds);
  const attributes: Record<string, AttributeValue> = {
    'cicd.pipeline.name': e.name,
    'cicd.pipeline.run.id': e.pipelineId,
    'cicd.pipeline.result': RESULT[status],
    'vcs.ref.head.name': e.ref.name,
  };
  if (e.sha !== undefined) attributes['vcs.ref.head.revision'] = e.sha;
  if (e.url !== undefined) attributes['cicd.pipeline.run.url.full'] = e.url;
  const common = {
    name: e.name,
    kind: 'server' as const,
    ...times(start, e.finishedAt),
    ...statusOf(status),
    resource: resourceOf(e),
  };
  if (e.source === 'github') {
    const attempt = Number(e.attempt);
    attributes['cicd.pipeline.run.attempt'] = attempt;
    return {
      ...common,
      traceId: pipelineTraceId(e, rootPipelineId),
      spanId: githubRunSpanId(e.pipelineId, e.attempt),
      attributes,
      ...(attempt > 1
        ? {
            links: [
              {
                traceId: githubTraceId(e.pipelineId, String(attempt - 1)),
                spanId: githubRunSpanId(e.pipelineId, String(attempt - 1)),
              },
            ],
          }
        : {}),
    };
  }
  if (e.parent !== undefined) attributes['cicd.pipeline.parent.run.id'] = e.parent.pipelineId;
  return {
    ...common,
    traceId: pipelineTraceId(e, rootPipelineId),
    spanId: gitlabPipelineSpanId(e.pipelineId),
    ...(e.parent === undefined ? {} : { parentSpanId: gitlabJobSpanId(e.parent.jobId) }),
    attributes,
  };
}

/**
 * The span of the bridge (trigger) job that started a GitLab child or multi-project pipeline,
 * under which the child's root span sits. GitLab sends no Job Hook for a bridge job and lists
 * none in a Pipeline Hook's `builds` (`latest_builds` are Ci::Build only) or in the jobs API, so
 * the child pipeline stands for it: from the child's start to its finish, made with its root span.
 */
export function bridgeSpan(
  e: PipelineEvent,
  status: FinalStatus,
  rootPipelineId: string | undefined,
): SpanRecord | undefined {
  const root = pipelineSpan(e, status, rootPipelineId);
  if (e.source !== 'gitlab' || e.parent === undefined || root === undefined) return undefined;
  return {
    traceId: root.traceId,
    spanId: gitlabJobSpanId(e.parent.jobId),
    parentSpanId: gitlabPipelineSpanId(e.parent.pipelineId),
    name: `trigger ${e.name}`,
    kind: 'internal',
    startS: root.startS,
    endS: root.endS,
    ...statusOf(status),
    attributes: {
      'cicd.pipeline.task.run.id': e.parent.jobId,
      'cicd.pipeline.run.id': e.parent.pipelineId,
      'cicd.pipeline.task.run.result': RESULT[status],
    },
    resource: root.resource,
  };
}

/**
 * A GitLab job's times in whole seconds: a Job Hook gives milliseconds, a Pipeline Hook's
 * `builds` and the API's jobs list (as the scraper reads it) whole seconds, and whichever brings
 * the job's end first makes its span, which must not depend on which one that was.
 */
function wholeSeconds(e: JobEvent): JobEvent {
  const floor = (t: number | undefined) => (t === undefined ? undefined : Math.floor(t));
  return {
    ...e,
    createdAt: floor(e.createdAt),
    startedAt: floor(e.startedAt),
    finishedAt: floor(e.finishedAt),
  };
}

/** The trace a job's spans go to (see jobSpans); undefined for a job that names no pipeline. */
export function jobTraceId(e: JobEvent, rootPipelineId: string | undefined): string | undefined {
  if (e.pipelineId === undefined) return undefined;
  return e.source === 'github'
    ? githubTraceId(e.pipelineId, e.attempt ?? '1')
    : gitlabTraceId(rootPipelineId ?? e.pipelineId);
}

/**
 * A finished job's span and its queue span. `rootPipelineId` as for pipelineSpan (GitLab: the
 * trace its pipeline joined). A job that names no pipeline, or no finish time, has no place.
 */
export function jobSpans(
  event: JobEvent,
  status: FinalStatus,
  rootPipelineId: string | undefined,
): SpanRecord[] {
  const github = event.source === 'github';
  const e = github ? event : wholeSeconds(event);
  if (e.pipelineId === undefined || e.finishedAt === undefined) return [];
  const attempt = e.attempt ?? '1';
  const traceId = jobTraceId(e, rootPipelineId) as string;
  const spanId = github ? githubJobSpanId(e.jobId) : gitlabJobSpanId(e.jobId);
  const created = e.createdAt ?? e.startedAt ?? e.finishedAt;
  const attributes: Record<string, AttributeValue> = {
    'cicd.pipeline.task.name': e.name,
    'cicd.pipeline.task.run.id': e.jobId,
    'cicd.pipeline.task.run.result': RESULT[status],
    'cicd.pipeline.run.id': e.pipelineId,
    'cicd.worker.type': e.runnerType,
  };
  if (e.stage !== undefined) attributes['cicd.pipeline.task.stage'] = e.stage;
  const resource = resourceOf(e);
  const spans: SpanRecord[] = [
    {
      traceId,
      spanId,
      parentSpanId: github ? githubRunSpanId(e.pipelineId, attempt) : gitlabPipelineSpanId(e.pipelineId),
      name: e.name,
      kind: 'internal',
      ...times(created, e.finishedAt),
      ...statusOf(status),
      attributes,
      resource,
    },
  ];
  // GitLab's `queued_duration` is the time pending, without the wait for earlier stages that
  // lies between a job's creation and its start: the queue ends at the start and lasts that long.
  const queueStart =
    e.startedAt !== undefined && e.queuedSeconds !== undefined ? e.startedAt - e.queuedSeconds : e.createdAt;
  if (queueStart !== undefined && e.startedAt !== undefined) {
    const queue = times(queueStart, e.startedAt);
    spans.push({
      traceId,
      spanId: github ? githubQueueSpanId(e.jobId) : gitlabQueueSpanId(e.jobId),
      parentSpanId: spanId,
      name: `queue-${e.name}`,
      kind: 'internal',
      ...queue,
      status: 'unset',
      // As the collector's githubreceiver gives it: nanoseconds, a double.
      attributes: { 'cicd.pipeline.run.queue.duration': (queue.endS - queue.startS) * 1e9 },
      resource,
    });
  }
  return spans;
}
