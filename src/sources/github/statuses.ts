import type { DeploymentStatus, JobStatus, PipelineStatus, RefInfo, RunnerType } from '../../events/model.js';

/** GitHub's statuses as the source-neutral model sees them; webhooks and the API share them. */
/** SPEC section 5: `cancelled` is `canceled`; `failure`, `timed_out`, `startup_failure` are `failed`. */
export const GITHUB_CONCLUSION: Record<string, 'success' | 'failed' | 'canceled' | 'skipped'> = {
  success: 'success',
  failure: 'failed',
  timed_out: 'failed',
  startup_failure: 'failed',
  cancelled: 'canceled',
  skipped: 'skipped',
  neutral: 'skipped',
};

export const GITHUB_RUN_STATUS: Record<string, PipelineStatus> = {
  requested: 'pending',
  queued: 'pending',
  pending: 'pending',
  waiting: 'waiting',
  in_progress: 'running',
};

export const GITHUB_JOB_STATUS: Record<string, JobStatus> = {
  queued: 'pending',
  pending: 'pending',
  waiting: 'waiting',
  in_progress: 'running',
};

export const GITHUB_DEPLOYMENT_STATE: Record<string, DeploymentStatus> = {
  queued: 'waiting',
  pending: 'waiting',
  in_progress: 'running',
  success: 'success',
  failure: 'failed',
  error: 'failed',
  // A newer deployment to the environment replaced this one: not an outcome of its own.
  inactive: 'superseded',
};

/**
 * Events whose runs are for a pull request: `head_branch` is then the pull request's head branch
 * (perhaps a fork's `main`), not a branch the run's result says anything about.
 */
const PULL_REQUEST_EVENTS = new Set([
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment',
]);

/**
 * A workflow run's ref. A run for a release is on the release's tag (`head_branch` is the tag's
 * name); a run for a pushed tag cannot be told from one for a branch of that name.
 */
export function runRef(event: string | null | undefined, headBranch: string | null | undefined): RefInfo {
  return {
    name: headBranch ?? '',
    tag: event === 'release',
    mergeRequest: event !== null && event !== undefined && PULL_REQUEST_EVENTS.has(event),
  };
}

/** A job's `stage` is its workflow's name; an empty one is none (the run's `pipeline` is used). */
export function jobStage(workflowName: string | null | undefined): string | undefined {
  return workflowName !== null && workflowName !== undefined && workflowName !== ''
    ? workflowName
    : undefined;
}

/**
 * Whether a job ran, by its runner: one no runner ever took (cancelled while queued) never
 * started, whatever `started_at` says (GitHub fills it in for queued jobs too). A payload without
 * the field at all (older GitHub Enterprise Server) cannot say, and its `started_at` is taken.
 */
export function ranOnRunner(runnerName: string | null | undefined): boolean {
  return runnerName === undefined || (runnerName !== null && runnerName !== '');
}

/** `runner_type` of a job from its labels and runner: SPEC section 5 `github-hosted` or `self-hosted`. */
export function runnerType(
  labels: readonly string[] | null | undefined,
  group: string | null | undefined,
  name: string | null | undefined,
): RunnerType {
  if (labels?.includes('self-hosted')) return 'self-hosted';
  // The group decides when there is one: a self-hosted runner may be named "GitHub Actions 7".
  if (group !== null && group !== undefined && group !== '') {
    return group === 'GitHub Actions' ? 'github-hosted' : 'self-hosted';
  }
  return name?.startsWith('GitHub Actions') === true ? 'github-hosted' : 'unknown';
}

/** A job's status: `completed` with skipped, neutral or a null conclusion is no outcome. */
export function githubJobStatus(status: string, conclusion: string | null | undefined): JobStatus {
  if (status !== 'completed') return GITHUB_JOB_STATUS[status] ?? 'waiting';
  const outcome = GITHUB_CONCLUSION[conclusion ?? ''];
  return outcome === 'success' || outcome === 'failed' || outcome === 'canceled' ? outcome : 'waiting';
}

/**
 * A workflow run's queue time: `run_started_at - created_at`, of its first attempt only. A
 * re-run keeps the run's `created_at` and moves `run_started_at` to the re-run's start, so for
 * attempt 2 and later the difference is the time between attempts, not a queue; and since
 * the queue time is observed once per run id, it must not depend on which attempt's event
 * arrives first.
 */
export function runQueuedSeconds(
  created: number | undefined,
  started: number | undefined,
  attempt: number | undefined,
): number | undefined {
  if ((attempt ?? 1) > 1 || created === undefined || started === undefined) return undefined;
  return started - created;
}
