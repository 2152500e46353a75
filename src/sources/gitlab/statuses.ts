import type { DeploymentStatus, JobStatus, PipelineStatus, RunnerType } from '../../events/model.js';

/** GitLab's statuses as the source-neutral model sees them; webhooks and the API share them. */
export const GITLAB_JOB_STATUS: Record<string, JobStatus> = {
  created: 'waiting',
  manual: 'waiting',
  scheduled: 'waiting',
  skipped: 'waiting',
  waiting_for_resource: 'pending',
  preparing: 'pending',
  pending: 'pending',
  running: 'running',
  canceling: 'running',
  waiting_for_callback: 'running',
  success: 'success',
  failed: 'failed',
  canceled: 'canceled',
};

export const GITLAB_PIPELINE_STATUS: Record<string, PipelineStatus> = {
  ...GITLAB_JOB_STATUS,
  skipped: 'skipped',
};

export const GITLAB_DEPLOYMENT_STATUS: Record<string, DeploymentStatus> = {
  created: 'waiting',
  blocked: 'waiting',
  running: 'running',
  success: 'success',
  failed: 'failed',
  canceled: 'canceled',
};

export const GITLAB_RUNNER_TYPE: Record<string, RunnerType> = {
  instance_type: 'instance',
  group_type: 'group',
  project_type: 'project',
};

/**
 * A job's `runner_type` from its runner (Job Hook, Pipeline Hook build, jobs API alike). A runner
 * object without `runner_type` (older GitLab) still says `is_shared`: a shared runner is an
 * instance runner; a specific one may be a group's or a project's.
 */
export function gitlabRunnerType(
  runner:
    { runner_type?: string | null | undefined; is_shared?: boolean | null | undefined } | null | undefined,
): RunnerType {
  const type = GITLAB_RUNNER_TYPE[runner?.runner_type ?? ''];
  if (type !== undefined) return type;
  return runner?.is_shared === true ? 'instance' : 'unknown';
}

/**
 * Pipeline sources that run for a merge request (SPEC section 5 `ref="merge_request"`):
 * GitLab's own, and the pull requests of CI/CD for external repositories (GitHub), which have
 * no GitLab merge request and name a plain branch.
 */
const MERGE_REQUEST_SOURCES = new Set(['merge_request_event', 'external_pull_request_event']);

export function isMergeRequestSource(source: string | null | undefined): boolean {
  return source !== null && source !== undefined && MERGE_REQUEST_SOURCES.has(source);
}

/**
 * A pipeline's queue time from GitLab's `queued_duration`, which is null both before the
 * pipeline starts and when it started within its first second (`Ci::Pipeline#queued_duration`
 * drops a zero). `started`: the pipeline is known to have started, so null means 0 s.
 */
export function pipelineQueuedSeconds(
  queued: number | null | undefined,
  started: boolean,
): number | undefined {
  if (queued === null) return started ? 0 : undefined;
  return queued;
}
