import type { SpanRecord } from '../../traces/span-record.js';
import type { HandlerContext } from './context.js';
import { TTL } from './context.js';

/**
 * A finished job whose `ref` label depends on its pipeline: its own ref is an ordinary branch,
 * and only the pipeline says whether it ran for a merge request (SPEC section 5: a job takes its
 * pipeline's `ref` value once the pipeline is known). It is counted when the pipeline arrives,
 * or, if it never does, after an hour with the label its own ref gives.
 */
export interface DeferredJob {
  readonly source: string;
  readonly project: string;
  readonly stage: string | undefined;
  readonly job: string;
  readonly status: string;
  readonly duration: number | undefined;
  /** The `ref` label if the pipeline never shows up. */
  readonly fallbackRef: string;
  readonly at: number;
  /** Its trace, the exemplar of its duration (only while tracing). */
  readonly tr?: string;
}

export const DEFERRED_PREFIX = 'deferred:';
/** How long a job waits for its pipeline before it is counted without it. */
export const DEFER_LIMIT_S = 3600;

export const deferredKey = (source: string, projectId: string, pipelineId: string) =>
  `${DEFERRED_PREFIX}${source}:${projectId}:${pipelineId}`;

export function countJob(ctx: HandlerContext, d: DeferredJob, ref: string, stage: string): void {
  const labels = [d.source, d.project, ref, stage, d.job, d.status];
  ctx.tx.inc(ctx.families.jobRuns, labels);
  if (d.duration !== undefined) ctx.tx.observe(ctx.families.jobDuration, labels, d.duration, d.tr);
}

/**
 * Keeps a finished job until its pipeline comes, under a key of its own below the pipeline's
 * (`<deferredKey>:<job id>`): one list per pipeline was read and written again whole for every
 * job, which a pipeline of thousands of jobs whose hook never came made quadratic.
 */
export function defer(ctx: HandlerContext, key: string, jobId: string, job: DeferredJob): void {
  ctx.tx.put(`${key}:${jobId}`, job, TTL.job);
}

/** Counts the jobs that waited for this pipeline, under its `ref` (and name as a fallback stage). */
export async function release(
  ctx: HandlerContext,
  key: string,
  ref: string,
  pipelineName: string,
  traceId?: string,
): Promise<void> {
  for (const { key: jobKey, value } of await ctx.tx.scan<DeferredJob>(`${key}:`)) {
    const job = value.tr === undefined || traceId === undefined ? value : { ...value, tr: traceId };
    countJob(ctx, job, ref, value.stage ?? pipelineName);
    ctx.tx.delete(jobKey);
  }
  // Kept by versions before one key per job: the whole list under the pipeline's own key.
  const waiting = await ctx.tx.get<DeferredJob[]>(key);
  if (waiting === undefined) return;
  for (const d of waiting) countJob(ctx, d, ref, d.stage ?? pipelineName);
  ctx.tx.delete(key);
}

/** Spans of finished GitLab jobs waiting for their pipeline's first hook (see job.ts). */
export interface HeldSpans {
  readonly spans: readonly SpanRecord[];
  readonly at: number;
}

export const SPAN_WAIT_PREFIX = 'span-wait:';

export const spanWaitKey = (source: string, projectId: string, pipelineId: string) =>
  `${SPAN_WAIT_PREFIX}${source}:${projectId}:${pipelineId}`;

export function holdSpans(
  ctx: HandlerContext,
  key: string,
  jobId: string,
  spans: readonly SpanRecord[],
): void {
  ctx.tx.put(`${key}:${jobId}`, { spans, at: ctx.tx.now } satisfies HeldSpans, TTL.job);
}

/** Hands the held spans of a pipeline's jobs to the exporter, in the trace its pipeline joined. */
export async function releaseSpans(ctx: HandlerContext, key: string, traceId: string): Promise<void> {
  for (const { key: held, value } of await ctx.tx.scan<HeldSpans>(`${key}:`)) {
    ctx.tx.spans.push(...value.spans.map((s) => ({ ...s, traceId })));
    ctx.tx.delete(held);
  }
}
