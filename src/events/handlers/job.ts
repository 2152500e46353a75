import { jobLabel, refLabel } from '../labels.js';
import { jobSpans, jobTraceId } from '../../traces/ci-spans.js';
import type { EventResult, FinalStatus, JobEvent, JobStatus, RunnerType } from '../model.js';
import { type HandlerContext, OLD_JOB_S, TTL } from './context.js';
import { countJob, type DeferredJob, defer, deferredKey, holdSpans, spanWaitKey } from './deferred.js';
import { type PipelineState, pipelineKey, sendsRuns } from './pipeline.js';

/** Lifecycle of one job id: statuses seen, furthest rank reached, queue time recorded. */
interface JobState {
  readonly s: readonly JobStatus[];
  /** The source's own statuses seen, where it gives them (SPEC section 4's natural key). */
  readonly z?: readonly string[];
  readonly r: number;
  readonly q: boolean;
  /** When it was created, if an event before its start said so and a later one may not. */
  readonly c?: number;
  /**
   * When it started and on what runner type, while its queue time waits for the time it was
   * created: a legacy GitHub job's queued delivery, which alone says it, may arrive last.
   */
  readonly b?: readonly [number, RunnerType];
}

/** An entry of `delivery_jobs_active`: the labels it counts under and when it was last news. */
export interface ActiveEntry {
  readonly l: readonly string[];
  readonly at: number;
}

const RANK: Record<JobStatus, number> = {
  waiting: 0,
  pending: 1,
  running: 2,
  success: 3,
  failed: 3,
  canceled: 3,
};
const FINAL = 3;

export const ACTIVE_PREFIX = 'active:';
const jobKey = (e: JobEvent) => `job:${e.source}:${e.project.id}:${e.jobId}`;
const activeKey = (e: JobEvent) => `${ACTIVE_PREFIX}${e.source}:${e.project.id}:${e.jobId}`;

/**
 * Whether the `ref` label of a finished job must wait for its pipeline, which alone can tell a
 * merge request pipeline from a branch pipeline. A job on an ordinary branch waits (GitHub: if
 * its repository sends runs at all; one that sends only `workflow_job` never tells more). A job
 * on a tracked or default branch waits too once its project has sent any pipeline or run, since
 * the pipeline may be for a merge request from that branch: a GitHub pull request from a fork's
 * `main`, or a GitLab pipeline for an external (GitHub) pull request, whose jobs name the
 * branch. A tag or merge request ref decides by itself.
 */
async function refDependsOnPipeline(ctx: HandlerContext, e: JobEvent): Promise<boolean> {
  const own = refLabel(e.ref, e.project, ctx.trackedRefs);
  if (own === 'merge_request' || own === 'tag') return false;
  if (own === 'branch' && e.source === 'gitlab') return true;
  return sendsRuns(ctx, e.source, e.project.id);
}

/**
 * SPEC section 5 job lifecycle: queue time once, at the first event showing the job started;
 * runs and duration once, at the first final status; `delivery_jobs_active` moves only
 * forward, so a late `running` after `success` changes nothing.
 */
export async function applyJob(ctx: HandlerContext, e: JobEvent): Promise<EventResult> {
  const { tx, families: f } = ctx;
  const key = jobKey(e);
  const st = (await tx.get<JobState>(key)) ?? { s: [], r: -1, q: false };
  // GitLab's `waiting_for_resource`, `preparing` and `pending` are one status here, but each
  // is news: a new one is no duplicate, and keeps the job's active entry from expiring.
  const raw = e.sourceStatus;
  const seenRaw = raw !== undefined && st.z !== undefined ? st.z.includes(raw) : st.s.includes(e.status);
  if (seenRaw) return 'duplicate';
  const rank = RANK[e.status];
  const finishing = rank === FINAL && st.r < FINAL;
  const pipeline =
    finishing && e.pipelineId !== undefined
      ? await tx.get<PipelineState>(pipelineKey(e.source, e.project.id, e.pipelineId))
      : undefined;
  // An old job of an old pipeline updated again (a manual job played weeks later): it was
  // counted then, and its state is gone since (see OLD_JOB_S). The pipeline must be old by this
  // service's clock too, so that a replayed payload or a GitLab whose clock is off loses nothing.
  if (
    pipeline?.c !== undefined &&
    pipeline.c <= tx.now - OLD_JOB_S &&
    e.finishedAt !== undefined &&
    e.finishedAt <= tx.now - OLD_JOB_S
  )
    return 'duplicate';
  let queued = st.q;
  // Only while tracing, and only when something is observed: the trace its observations point
  // to (a GitLab child pipeline's jobs are in their root pipeline's trace, which its state knows).
  let traceIdMemo: string | undefined | null = null;
  const traceIdOf = async (): Promise<string | undefined> => {
    if (!ctx.tracing) return undefined;
    traceIdMemo ??= jobTraceId(
      e,
      (
        pipeline ??
        (e.source === 'gitlab' && e.pipelineId !== undefined
          ? await tx.get<PipelineState>(pipelineKey(e.source, e.project.id, e.pipelineId))
          : undefined)
      )?.x,
    );
    return traceIdMemo;
  };

  const createdAt = e.createdAt ?? st.c;
  const started = e.status === 'running' || (rank === FINAL && e.startedAt !== undefined);
  if (started && !st.q) {
    const seconds =
      e.queuedSeconds ??
      (e.startedAt !== undefined && createdAt !== undefined ? e.startedAt - createdAt : undefined);
    if (seconds !== undefined && seconds >= 0) {
      const traceId = ctx.tracing ? await traceIdOf() : undefined;
      tx.observe(f.jobQueued, [e.source, e.project.path, e.runnerType], seconds, traceId);
      queued = true;
    }
  } else if (!st.q && st.b !== undefined && createdAt !== undefined && st.b[0] >= createdAt) {
    // The start came first: its queue time, under the runner type it started on.
    const traceId = ctx.tracing ? await traceIdOf() : undefined;
    tx.observe(f.jobQueued, [e.source, e.project.path, st.b[1]], st.b[0] - createdAt, traceId);
    queued = true;
  }
  const startedOn: JobState['b'] = queued
    ? undefined
    : started && e.startedAt !== undefined
      ? [e.startedAt, e.runnerType]
      : st.b;

  if (rank > st.r) {
    const active = await tx.get<ActiveEntry>(activeKey(e));
    if (active !== undefined) {
      tx.inc(f.jobsActive, active.l, -1);
      tx.delete(activeKey(e));
    }
    if (e.status === 'pending' || e.status === 'running') {
      const labels = [e.source, e.project.path, e.runnerType, e.status];
      tx.inc(f.jobsActive, labels, 1);
      tx.put(activeKey(e), { l: labels, at: tx.now } satisfies ActiveEntry, TTL.job);
    }
  } else if (e.status === 'pending' || e.status === 'running') {
    // News of the same rank (GitLab `preparing` after `waiting_for_resource`) keeps the entry.
    if (rank === st.r) {
      const active = await tx.get<ActiveEntry>(activeKey(e));
      if (active !== undefined)
        tx.put(activeKey(e), { l: active.l, at: tx.now } satisfies ActiveEntry, TTL.job);
    }
    // It does not count (again), but its series exists at 0, as it would had the statuses
    // arrived in order (which series exist must not depend on the order).
    tx.inc(f.jobsActive, [e.source, e.project.path, e.runnerType, e.status], 0);
  }

  if (finishing) {
    // Not awaited at all while traces are off: this is the webhook hot path.
    const traceId = ctx.tracing ? await traceIdOf() : undefined;
    const ran =
      e.durationSeconds ??
      (e.startedAt !== undefined && e.finishedAt !== undefined ? e.finishedAt - e.startedAt : undefined);
    const job: DeferredJob = {
      source: e.source,
      project: e.project.path,
      stage: e.stage,
      job: jobLabel(e.name),
      status: e.status,
      duration:
        ran !== undefined && ran >= 0 && (e.startedAt !== undefined || e.durationSeconds !== undefined)
          ? ran
          : undefined,
      fallbackRef: refLabel(e.ref, e.project, ctx.trackedRefs),
      at: tx.now,
      ...(traceId === undefined ? {} : { tr: traceId }),
    };
    if (ctx.tracing) {
      const spans = jobSpans(e, e.status as FinalStatus, pipeline?.x);
      // A GitLab job whose pipeline is not known yet may belong to a child pipeline, whose trace
      // only its Pipeline Hook (`source_pipeline`) tells: its spans wait for that hook (or, like
      // a deferred job, an hour), so that the trace does not depend on the order of arrival.
      if (
        pipeline === undefined &&
        e.source === 'gitlab' &&
        e.pipelineId !== undefined &&
        spans.length > 0 &&
        (await sendsRuns(ctx, e.source, e.project.id))
      ) {
        holdSpans(ctx, spanWaitKey(e.source, e.project.id, e.pipelineId), e.jobId, spans);
      } else tx.spans.push(...spans);
    }
    if (pipeline !== undefined) countJob(ctx, job, pipeline.r, e.stage ?? pipeline.n);
    else if (e.pipelineId !== undefined && (await refDependsOnPipeline(ctx, e))) {
      defer(ctx, deferredKey(e.source, e.project.id, e.pipelineId), e.jobId, job);
    } else countJob(ctx, job, job.fallbackRef, e.stage ?? 'unknown');
  }

  const next: JobState = {
    s: st.s.includes(e.status) ? st.s : [...st.s, e.status],
    ...(raw === undefined ? {} : { z: [...(st.z ?? []), raw] }),
    r: Math.max(st.r, rank),
    q: queued,
    ...(startedOn === undefined ? {} : { b: startedOn }),
  };
  // Kept until the job starts: a legacy GitHub job says when it was created only while queued.
  tx.put(key, !started && createdAt !== undefined ? { ...next, c: createdAt } : next, TTL.job);
  return 'applied';
}
