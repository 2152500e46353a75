import { environmentLabel } from '../labels.js';
import type { DeploymentEvent, DeploymentStatus, EventResult } from '../model.js';
import { type HandlerContext, TTL } from './context.js';
import { applyEnvironment } from './environment.js';

interface DeploymentState {
  /** The natural keys seen: each event's `state`, else its status. */
  readonly s: readonly string[];
  /** When it started running. */
  readonly r?: number;
  readonly done: boolean;
  /** Its duration was observed (it needs a start, which a late `running` or the API may bring). */
  readonly m?: boolean;
  /** Its first final status and when, for a `running` that arrives after it. */
  readonly x?: { readonly s: DeploymentStatus; readonly t: number };
  /** Its latest final status and when, once it changed after the first (see below). */
  readonly l?: { readonly s: DeploymentStatus; readonly t: number };
}

/**
 * A deployment counts once, at its first final status. Its duration runs from `running` (or,
 * on GitHub, the deployment's creation) to that status. The environment gauges follow the
 * latest deployment by time; recovery is measured from the first failure of a failing streak.
 */
export async function applyDeployment(ctx: HandlerContext, e: DeploymentEvent): Promise<EventResult> {
  const { tx, families: f } = ctx;
  const key = `deployment:${e.source}:${e.project.id}:${e.deploymentId}`;
  const st = (await tx.get<DeploymentState>(key)) ?? { s: [], done: false };
  const final = e.status === 'success' || e.status === 'failed' || e.status === 'canceled';
  const seen = e.state ?? e.status;
  if (st.s.includes(seen)) {
    // A final state seen before, but later than a different one since (GitHub takes statuses at
    // any time: failure, success, then failure again): the environment follows it. A
    // redelivery is never later than the latest final status.
    const latest = st.l ?? st.x;
    if (
      final &&
      e.status !== 'canceled' &&
      latest !== undefined &&
      e.status !== latest.s &&
      e.at > latest.t
    ) {
      await followEnvironment(ctx, e);
      tx.put(key, { ...st, l: { s: e.status, t: e.at } } satisfies DeploymentState, TTL.deployment);
      return 'applied';
    }
    // The same final status again, now from the API with the start its webhook lacked: the
    // deployment was counted already, only its duration is still to observe.
    const start = e.startedAt ?? st.r ?? e.runningAt;
    if (!final || st.m === true || start === undefined || e.at < start) return 'duplicate';
    tx.observe(
      f.deploymentDuration,
      [e.source, e.project.path, environmentLabel(e.environment), e.status],
      e.at - start,
    );
    tx.put(key, { ...st, m: true } satisfies DeploymentState, TTL.deployment);
    return 'applied';
  }
  const next: { -readonly [K in keyof DeploymentState]: DeploymentState[K] } = {
    ...st,
    s: [...st.s, seen],
  };
  if (e.status === 'running' && st.r === undefined) {
    next.r = e.at;
    // GitLab sends each status from its own job, so `running` may come after the final status,
    // whose duration then still waits for this start.
    if (st.done && st.m !== true && st.x !== undefined && st.x.t >= e.at) {
      const labels = [e.source, e.project.path, environmentLabel(e.environment), st.x.s];
      tx.observe(f.deploymentDuration, labels, st.x.t - e.at);
      next.m = true;
    }
  }

  if (final && !st.done) {
    next.done = true;
    next.x = { s: e.status, t: e.at };
    const env = environmentLabel(e.environment);
    const labels = [e.source, e.project.path, env, e.status];
    tx.inc(f.deploymentRuns, labels);
    const start = e.startedAt ?? st.r ?? e.runningAt;
    if (start !== undefined && e.at >= start) {
      tx.observe(f.deploymentDuration, labels, e.at - start);
      next.m = true;
    }

    // A canceled deployment leaves the environment on what it ran before.
    if (e.status !== 'canceled') await followEnvironment(ctx, e);
  } else if (final && st.done && e.status !== 'canceled') {
    // A later, different final status of a deployment already counted (GitHub takes statuses
    // at any time; GitLab's API can mark a failed deployment successful): still counted once,
    // at its first, but the environment now runs what this one says, so its gauges and its
    // history (a failure followed by this success is a recovery) follow it.
    const latest = st.l ?? st.x;
    if (latest !== undefined && e.status !== latest.s && e.at > latest.t) {
      next.l = { s: e.status, t: e.at };
      await followEnvironment(ctx, e);
    } else if (latest !== undefined && e.at < latest.t) {
      // An earlier final status delivered after a later one: it joins the environment's history
      // where it belongs by time, so `error` then `success` is a recovery in either order (the
      // gauges follow the latest by time, as ever).
      await followEnvironment(ctx, e);
    }
  }
  tx.put(key, next, TTL.deployment);
  return 'applied';
}

/** The environment's gauges and history take a finished (not canceled) deployment status. */
async function followEnvironment(ctx: HandlerContext, e: DeploymentEvent): Promise<void> {
  const { tx, families: f } = ctx;
  const env = environmentLabel(e.environment);
  if (e.status === 'success') {
    const envLabels = [e.source, e.project.path, env];
    const last = f.environmentLastDeployment.valueOf(envLabels);
    if (last === undefined || e.at > last) tx.set(f.environmentLastDeployment, envLabels, e.at);
  }
  await applyEnvironment(ctx, e, env);
}
