import { environmentLabel } from '../labels.js';
import type { DeploymentEvent, DeploymentStatus, EventResult } from '../model.js';
import { type HandlerContext, TTL } from './context.js';

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
}

/**
 * An environment's finished deployments (not canceled), oldest first, the latest HISTORY of
 * them: `[at, ok (1 success, 0 failed), id, recovery observed (1) or not (0)]`. Kept whole
 * rather than the latest only, so that the gauges and the recovery times do not depend on the
 * order the deployments arrive in. Versions before it kept `{ t, failingSince }`.
 */
interface EnvironmentState {
  readonly h?: ReadonlyArray<readonly [number, 0 | 1, string, 0 | 1]>;
  readonly t?: number;
  readonly failingSince?: number;
}
type Finished = [number, 0 | 1, string, 0 | 1];

/** Finished deployments kept per environment: a failing streak longer than this starts later. */
const HISTORY = 100;

/** Order of finished deployments: by time, then by id (GitLab and GitHub ids grow). */
function before(a: Finished, b: Finished): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  const [x, y] = [Number(a[2]), Number(b[2])];
  return Number.isFinite(x) && Number.isFinite(y) && x !== y ? x < y : a[2] < b[2];
}

function historyOf(st: EnvironmentState | undefined): Finished[] {
  if (st === undefined) return [];
  if (st.h !== undefined) return st.h.map((f) => [...f] as Finished);
  // Kept by an earlier version: the latest finish, and the streak it was failing since.
  if (st.t === undefined) return [];
  if (st.failingSince === undefined) return [[st.t, 1, '', 1]];
  return st.failingSince < st.t
    ? [
        [st.failingSince, 0, '', 0],
        [st.t, 0, '', 0],
      ]
    : [[st.t, 0, '', 0]];
}

/** Index of the first failure of the failing streak that ends just before `i` (none: -1). */
function streakStart(h: readonly Finished[], i: number): number {
  let first = -1;
  for (let j = i - 1; j >= 0 && (h[j] as Finished)[1] === 0; j--) first = j;
  return first;
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

    const envLabels = [e.source, e.project.path, env];
    if (e.status === 'success') {
      const last = f.environmentLastDeployment.valueOf(envLabels);
      if (last === undefined || e.at > last) tx.set(f.environmentLastDeployment, envLabels, e.at);
    }
    // A canceled deployment leaves the environment on what it ran before.
    if (e.status !== 'canceled') {
      const envKey = `environment:${e.source}:${e.project.id}:${env}`;
      const h = historyOf(await tx.get<EnvironmentState>(envKey));
      const entry: Finished = [e.at, e.status === 'success' ? 1 : 0, e.deploymentId, 0];
      let at = h.length;
      while (at > 0 && before(entry, h[at - 1] as Finished)) at--;
      h.splice(at, 0, entry);
      if (at === h.length - 1) tx.set(f.environmentUp, envLabels, entry[1]);
      // The success whose recovery this deployment completes: this one, or, for a failure
      // that arrives after it, the next success if its streak was empty until now. A failure
      // that arrives after its streak's success was observed cannot change that observation
      // (a histogram is only added to): see docs/metrics.md.
      let success = -1;
      if (entry[1] === 1) success = at;
      else {
        let next = at + 1;
        while (next < h.length && (h[next] as Finished)[1] === 0) next++;
        if (next < h.length) success = next;
      }
      const s = success >= 0 ? (h[success] as Finished) : undefined;
      const first = s === undefined ? -1 : streakStart(h, success);
      if (s !== undefined && s[3] === 0 && first >= 0) {
        tx.observe(f.environmentRecovery, envLabels, s[0] - (h[first] as Finished)[0]);
        s[3] = 1;
      }
      tx.put(envKey, { h: h.slice(-HISTORY) } satisfies EnvironmentState);
    }
  }
  tx.put(key, next, TTL.deployment);
  return 'applied';
}
