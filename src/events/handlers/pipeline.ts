import { refLabel } from '../labels.js';
import { bridgeSpan, pipelineSpan, pipelineTraceId } from '../../traces/ci-spans.js';
import type { EventResult, FinalStatus, PipelineEvent, PipelineStatus } from '../model.js';
import { compareIds } from './compare-ids.js';
import { type HandlerContext, TTL } from './context.js';
import { deferredKey, release, releaseSpans, spanWaitKey } from './deferred.js';

/** What is known of one pipeline id: its labels, statuses seen, queue time, runs counted. */
export interface PipelineState {
  /** The `ref` label, which its jobs take too. */
  readonly r: string;
  /** The `pipeline` label, the stage of GitHub jobs that do not say their workflow. */
  readonly n: string;
  /** `attempt:status` of every event seen (the natural key: a re-run's statuses are new). */
  readonly s: readonly string[];
  readonly q: boolean;
  /** `attempt:status` of every run counted. */
  readonly f: readonly string[];
  /** The latest finish time of this pipeline that the last-run gauges were offered. */
  readonly t?: number;
  /** When it was first known here (this service's clock; unset by versions before it). */
  readonly c?: number;
  /**
   * The first pipeline of its chain, whose trace it and its jobs join: set for a GitLab child
   * or multi-project pipeline (`source_pipeline`), from its parent's own, else the parent. Kept only
   * while traces are on, like `y`.
   */
  readonly x?: string;
  /**
   * The bridge job that triggered it (`source_pipeline`), kept so that a later finish seen
   * without it (the pipelines API) re-sends its root span under the same parent.
   */
  readonly y?: NonNullable<PipelineEvent['parent']>;
}

/**
 * The run the last-run gauges of one pipeline name and ref show: two runs that finish in the
 * same second are told apart by pipeline id, then attempt (both grow), not by arrival.
 */
interface LatestRun {
  readonly t: number;
  readonly id: string;
  readonly a: string;
}

function later(a: LatestRun, b: LatestRun): boolean {
  if (a.id !== b.id) return compareIds(a.id, b.id) > 0;
  return compareIds(a.a, b.a) > 0;
}

/**
 * Set once a project has sent a pipeline or workflow run (webhook or API): its pipelines are
 * then expected, and a job finished before its pipeline waits for it (job.ts). Projects whose
 * hooks send only jobs never set it, and their jobs on tracked branches are counted at once.
 */
export const runsKey = (source: string, projectId: string) => `runs:${source}:${projectId}`;

/** Whether `projectId` has sent runs (see runsKey). */
export async function sendsRuns(ctx: HandlerContext, source: string, projectId: string): Promise<boolean> {
  const key = runsKey(source, projectId);
  let seen = ctx.runsSeen.get(key);
  if (seen === undefined) {
    seen = (await ctx.tx.get(key)) !== undefined;
    ctx.runsSeen.set(key, seen);
  }
  return seen;
}

export const pipelineKey = (source: string, projectId: string, pipelineId: string) =>
  `pipeline:${source}:${projectId}:${pipelineId}`;

const FINAL: readonly PipelineStatus[] = ['success', 'failed', 'canceled', 'skipped'];

/**
 * Whether a run of this attempt and status was counted. GitLab has no attempt number (`''`):
 * SPEC section 4 keys its pipelines by (project, id, status), so a pipeline that succeeds again
 * after a manual job is played later (a deploy gate) is not a second successful run; its runs
 * counted by an earlier version, which told attempts apart by finish time, match too.
 */
function counted(runs: readonly string[], attempt: string, status: PipelineStatus): boolean {
  if (attempt !== '') return runs.includes(`${attempt}:${status}`);
  return runs.some((r) => r.endsWith(`:${status}`));
}

/**
 * Counts each (pipeline id, attempt, final status) once, so a pipeline that fails and then
 * succeeds after a retry counts both. The last-run gauges follow the finish time, so an older
 * run that arrives late does not move them back.
 */
export async function applyPipeline(ctx: HandlerContext, e: PipelineEvent): Promise<EventResult> {
  const { tx, families: f } = ctx;
  const key = pipelineKey(e.source, e.project.id, e.pipelineId);
  const known = await tx.get<PipelineState>(key);
  const st: PipelineState = known ?? {
    r: refLabel(e.ref, e.project, ctx.trackedRefs),
    n: e.name,
    s: [],
    q: false,
    f: [],
    c: tx.now,
  };
  const labels = [e.source, e.project.path, e.name, st.r];
  const final = FINAL.includes(e.status);
  const run = `${e.attempt}:${e.status}`;
  const newRun = final && !counted(st.f, e.attempt, e.status);
  const newQueue = !st.q && e.queuedSeconds !== undefined && e.queuedSeconds >= 0;
  // A GitLab pipeline that finishes again later with a status it had before (a manual job
  // played after it finished, a retry that fails again) is no new run, but it is the latest
  // finish: the last-run gauges follow it (SPEC section 5: latest by finish time).
  const laterFinish =
    final &&
    e.status !== 'skipped' &&
    e.finishedAt !== undefined &&
    (st.t === undefined || e.finishedAt > st.t);
  if (known !== undefined && !newRun && !newQueue && !laterFinish && st.s.includes(run)) return 'duplicate';

  // Only while tracing: the chain a child pipeline's trace follows.
  let root = st.x;
  if (ctx.tracing && root === undefined && e.parent !== undefined) {
    const parent = await tx.get<PipelineState>(
      pipelineKey(e.source, e.parent.projectId, e.parent.pipelineId),
    );
    root = parent?.x ?? e.parent.pipelineId;
  }
  const traceId = ctx.tracing ? pipelineTraceId(e, root) : undefined;
  if (known === undefined) {
    // Jobs that finished before it: their exemplars point to the trace it joined.
    await release(ctx, deferredKey(e.source, e.project.id, e.pipelineId), st.r, e.name, traceId);
    if (traceId !== undefined)
      await releaseSpans(ctx, spanWaitKey(e.source, e.project.id, e.pipelineId), traceId);
  }
  // Written again once half its lifetime has passed: a project that keeps sending pipelines
  // stays one that sends them, across restarts.
  const marker = await tx.get<{ at: number }>(runsKey(e.source, e.project.id));
  if (marker === undefined || marker.at < tx.now - TTL.runs / 2) {
    tx.put(runsKey(e.source, e.project.id), { at: tx.now }, TTL.runs);
    ctx.runsSeen.set(runsKey(e.source, e.project.id), true);
  }
  if (newQueue) tx.observe(f.pipelineQueued, labels, e.queuedSeconds as number, traceId);
  if (newRun) {
    const withStatus = [...labels, e.status];
    tx.inc(f.pipelineRuns, withStatus);
    if (e.durationSeconds !== undefined && e.durationSeconds >= 0) {
      tx.observe(f.pipelineDuration, withStatus, e.durationSeconds, traceId);
    }
    if (ctx.tracing && e.status !== 'skipped') {
      // The pipelines API does not say `source_pipeline`: a finish the scraper sees keeps the
      // parent a hook told, so the same span id keeps its parent (and its bridge span).
      const withParent = e.parent === undefined && st.y !== undefined ? { ...e, parent: st.y } : e;
      const span = pipelineSpan(withParent, e.status as FinalStatus, root);
      if (span !== undefined) tx.spans.push(span);
      const bridge = bridgeSpan(withParent, e.status as FinalStatus, root);
      if (bridge !== undefined) tx.spans.push(bridge);
    }
  }
  // A skipped pipeline ran nothing: it says nothing about whether the pipeline is healthy.
  if ((newRun || laterFinish) && e.status !== 'skipped' && e.finishedAt !== undefined) {
    const lastKey = `pipeline-last:${e.source}:${e.project.id}:${JSON.stringify([e.name, st.r])}`;
    const latest = await tx.get<LatestRun>(lastKey);
    const last = f.pipelineLastRun.valueOf(labels);
    const run: LatestRun = { t: e.finishedAt, id: e.pipelineId, a: e.attempt };
    // Without a kept latest run (an earlier version), an equal time goes to the newer arrival.
    if (
      last === undefined ||
      e.finishedAt > last ||
      (e.finishedAt === last && (latest === undefined || later(run, latest)))
    ) {
      tx.set(f.pipelineUp, labels, e.status === 'success' ? 1 : 0);
      tx.set(f.pipelineLastRun, labels, e.finishedAt);
      if (e.durationSeconds !== undefined) tx.set(f.pipelineLastDuration, labels, e.durationSeconds);
      tx.put(lastKey, run satisfies LatestRun, TTL.pipeline);
    }
  }
  tx.put(
    key,
    {
      r: st.r,
      n: st.n,
      s: st.s.includes(run) ? st.s : [...st.s, run],
      q: st.q || newQueue,
      f: newRun ? [...st.f, run] : st.f,
      ...(laterFinish || st.t !== undefined
        ? { t: laterFinish ? (e.finishedAt as number) : (st.t as number) }
        : {}),
      ...(st.c === undefined ? {} : { c: st.c }),
      ...(root === undefined ? {} : { x: root }),
      ...(st.y !== undefined ? { y: st.y } : e.parent !== undefined && ctx.tracing ? { y: e.parent } : {}),
    } satisfies PipelineState,
    TTL.pipeline,
  );
  return 'applied';
}
