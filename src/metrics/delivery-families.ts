import type { FamilyDef, FamilyView } from './family.js';
import type { MetricState } from './metric-state.js';

/**
 * The metrics of SPEC section 5 that events feed. Their series are durable. Names live here
 * only. Budgets are wide: labels are bounded by design (no ids), the budget only guards memory.
 */
const MAX_SERIES = 100_000;

const JOB_DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
const QUEUE_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const PIPELINE_DURATION_BUCKETS = [60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 7200, 14400];
const DEPLOYMENT_DURATION_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const RECOVERY_BUCKETS = [300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800];
const LEAD_TIME_BUCKETS = [3600, 14400, 28800, 86400, 172800, 259200, 604800, 1209600, 2592000];

const JOB = ['source', 'project', 'ref', 'stage', 'job', 'status'] as const;
const PIPELINE = ['source', 'project', 'pipeline', 'ref'] as const;
const DEPLOYMENT = ['source', 'project', 'environment', 'status'] as const;
const ENVIRONMENT = ['source', 'project', 'environment'] as const;

type Def = Omit<FamilyDef, 'maxSeries'>;

/** Every event metric's definition, without its budget. */
export const DELIVERY_FAMILY_DEFS = {
  jobRuns: {
    name: 'delivery_job_runs_total',
    type: 'counter',
    help: 'Jobs that reached success, failed or canceled, once per job id',
    labelNames: JOB,
  },
  jobDuration: {
    name: 'delivery_job_duration_seconds',
    type: 'histogram',
    help: 'Run time of jobs that finished, in seconds',
    labelNames: JOB,
    buckets: JOB_DURATION_BUCKETS,
  },
  jobQueued: {
    name: 'delivery_job_queued_seconds',
    type: 'histogram',
    help: 'Time jobs waited for a runner before they started, in seconds',
    labelNames: ['source', 'project', 'runner_type'],
    buckets: QUEUE_BUCKETS,
  },
  jobsActive: {
    name: 'delivery_jobs_active',
    type: 'gauge',
    help: 'Jobs pending or running now, as webhooks last told',
    labelNames: ['source', 'project', 'runner_type', 'state'],
  },
  pipelineRuns: {
    name: 'delivery_pipeline_runs_total',
    type: 'counter',
    help: 'Pipeline runs that finished, once per pipeline id, attempt (GitHub) and final status',
    labelNames: [...PIPELINE, 'status'],
  },
  pipelineDuration: {
    name: 'delivery_pipeline_duration_seconds',
    type: 'histogram',
    help: 'Duration of finished pipeline runs, in seconds',
    labelNames: [...PIPELINE, 'status'],
    buckets: PIPELINE_DURATION_BUCKETS,
  },
  pipelineQueued: {
    name: 'delivery_pipeline_queued_seconds',
    type: 'histogram',
    help: 'Time pipelines waited before they started, in seconds, once per pipeline id',
    labelNames: PIPELINE,
    buckets: QUEUE_BUCKETS,
  },
  pipelineUp: {
    name: 'delivery_pipeline_up',
    type: 'gauge',
    help: '1 if the latest finished run, by finish time, succeeded, else 0',
    labelNames: PIPELINE,
  },
  pipelineLastRun: {
    name: 'delivery_pipeline_last_run_timestamp_seconds',
    type: 'gauge',
    help: 'Finish time of the latest finished run',
    labelNames: PIPELINE,
  },
  pipelineLastDuration: {
    name: 'delivery_pipeline_last_run_duration_seconds',
    type: 'gauge',
    help: 'Duration of the latest finished run, in seconds',
    labelNames: PIPELINE,
  },
  deploymentRuns: {
    name: 'delivery_deployment_runs_total',
    type: 'counter',
    help: 'Deployments that reached a final status',
    labelNames: DEPLOYMENT,
  },
  deploymentDuration: {
    name: 'delivery_deployment_duration_seconds',
    type: 'histogram',
    help: 'Duration of deployments, in seconds: from webhooks by source, project, environment and status; pushed by CI by target and status',
    labelNames: DEPLOYMENT,
    buckets: DEPLOYMENT_DURATION_BUCKETS,
  },
  environmentUp: {
    name: 'delivery_environment_up',
    type: 'gauge',
    help: '1 if the latest deployment of the environment succeeded, else 0',
    labelNames: ENVIRONMENT,
  },
  environmentLastDeployment: {
    name: 'delivery_environment_last_deployment_timestamp_seconds',
    type: 'gauge',
    help: 'Time of the latest successful deployment of the environment',
    labelNames: ENVIRONMENT,
  },
  environmentRecovery: {
    name: 'delivery_environment_recovery_seconds',
    type: 'histogram',
    help: 'Time from the first failed deployment of a failing environment to its next successful one, in seconds',
    labelNames: ENVIRONMENT,
    buckets: RECOVERY_BUCKETS,
  },
  mergesTotal: {
    name: 'delivery_merge_requests_merged_total',
    type: 'counter',
    help: 'Merge requests and pull requests merged, by target ref',
    labelNames: ['source', 'project', 'ref'],
  },
  leadTime: {
    name: 'delivery_merge_request_lead_time_seconds',
    type: 'histogram',
    help: 'Time from creating a merge request to merging it, in seconds',
    labelNames: ['source', 'project', 'ref'],
    buckets: LEAD_TIME_BUCKETS,
  },
  releases: {
    name: 'delivery_releases_total',
    type: 'counter',
    help: 'Releases created (GitLab) or published (GitHub)',
    labelNames: ['source', 'project'],
  },
} satisfies Record<string, Def>;

export type DeliveryFamilies = { readonly [K in keyof typeof DELIVERY_FAMILY_DEFS]: FamilyView };

export function defineDeliveryFamilies(state: MetricState): DeliveryFamilies {
  const out: Partial<Record<keyof typeof DELIVERY_FAMILY_DEFS, FamilyView>> = {};
  for (const [key, def] of Object.entries(DELIVERY_FAMILY_DEFS) as Array<
    [keyof typeof DELIVERY_FAMILY_DEFS, Def]
  >) {
    out[key] = state.define({ ...def, maxSeries: MAX_SERIES });
  }
  return out as DeliveryFamilies;
}
