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
