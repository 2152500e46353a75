import type { DeploymentEvent } from '../model.js';
import { compareIds } from './compare-ids.js';
import type { HandlerContext } from './context.js';

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
  return compareIds(a[2], b[2]) < 0;
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
 * A finished (not canceled) deployment in its environment's history: `delivery_environment_up`
 * follows the latest by finish time, and the recovery of the success it completes is observed.
 * The history is the environment's own (`review/feature-x`), while `env` is its label
 * (`review/*`): one review app's success is no recovery of another's failure.
 */
export async function applyEnvironment(ctx: HandlerContext, e: DeploymentEvent, env: string): Promise<void> {
  const { tx, families: f } = ctx;
  const envLabels = [e.source, e.project.path, env];
  const envKey = `environment:${e.source}:${e.project.id}:${e.environment}`;
  // Versions before kept one history per label: a review app without its own history yet
  // starts from it, so a streak begun before an upgrade still ends in a recovery.
  const labelKey = `environment:${e.source}:${e.project.id}:${env}`;
  const kept =
    (await tx.get<EnvironmentState>(envKey)) ??
    (labelKey === envKey ? undefined : await tx.get<EnvironmentState>(labelKey));
  const h = historyOf(kept);
  const entry: Finished = [e.at, e.status === 'success' ? 1 : 0, e.deploymentId, 0];
  let at = h.length;
  while (at > 0 && before(entry, h[at - 1] as Finished)) at--;
  h.splice(at, 0, entry);
  if (at === h.length - 1) {
    if (labelKey === envKey) tx.set(f.environmentUp, envLabels, entry[1]);
    else {
      // Several review apps share the label: it follows the latest deployment of any of them.
      const latestKey = `environment-latest:${e.source}:${e.project.id}:${env}`;
      const latest = await tx.get<readonly [number, string]>(latestKey);
      const newer: Finished = [latest?.[0] ?? -Infinity, 0, latest?.[1] ?? '', 0];
      if (latest === undefined || before(newer, entry)) {
        tx.set(f.environmentUp, envLabels, entry[1]);
        tx.put(latestKey, [entry[0], entry[2]]);
      }
    }
  }
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
