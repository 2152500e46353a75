/**
 * The source-neutral events that webhooks and scrapers both produce (STYLE: one processor
 * applies them, so reconciliation and dedupe are one mechanism). Times are unix seconds,
 * fractional where the source gives more precision.
 */

export type Source = 'gitlab' | 'github';

export interface ProjectRef {
  /** GitLab project id or GitHub repository id, as a string. */
  readonly id: string;
  /** `path_with_namespace` or `full_name`: the `project` label. */
  readonly path: string;
  readonly defaultBranch: string | undefined;
}

export interface RefInfo {
  readonly name: string;
  readonly tag: boolean;
  /** A merge request (GitLab) or pull request (GitHub) pipeline. */
  readonly mergeRequest: boolean;
}

/** SPEC section 5 `runner_type` values. */
export type RunnerType = 'instance' | 'group' | 'project' | 'github-hosted' | 'self-hosted' | 'unknown';

/**
 * Where a job stands. `waiting` is created, manual, scheduled or skipped: not in a queue and
 * not final (a skipped job may still run later).
 */
export type JobStatus = 'waiting' | 'pending' | 'running' | 'success' | 'failed' | 'canceled';

export type FinalStatus = 'success' | 'failed' | 'canceled';

export interface JobEvent {
  readonly kind: 'job';
  readonly source: Source;
  readonly project: ProjectRef;
  readonly jobId: string;
  readonly pipelineId: string | undefined;
  /** Without a parallel suffix such as ` 3/8`. */
  readonly name: string;
  /** GitLab stage; GitHub workflow name. Unknown in legacy GitHub payloads: the run's name then. */
  readonly stage: string | undefined;
  readonly status: JobStatus;
  /**
   * The source's own status where several fold into one `status` (GitLab `preparing` and
   * `pending` are both pending): SPEC section 4's natural key is the source's status.
   */
  readonly sourceStatus?: string;
  readonly ref: RefInfo;
  readonly runnerType: RunnerType;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  /** Source's own duration field (GitLab `build_duration`), preferred to a difference. */
  readonly durationSeconds: number | undefined;
  /** Source's own queue time (GitLab `build_queued_duration`). */
  readonly queuedSeconds: number | undefined;
  readonly createdAt: number | undefined;
  /** GitHub `run_attempt` of the run this job belongs to (traces: the job's trace is its attempt's). */
  readonly attempt?: string;
}

export type PipelineStatus = 'waiting' | 'pending' | 'running' | FinalStatus | 'skipped';

export interface PipelineEvent {
  readonly kind: 'pipeline';
  readonly source: Source;
  readonly project: ProjectRef;
  readonly pipelineId: string;
  /**
   * Tells attempts of one pipeline id apart: GitHub `run_attempt`; GitLab has no attempt
   * number, so the finish time of the run stands in (a retried pipeline finishes again later).
   */
  readonly attempt: string;
  /** The `pipeline` label: GitHub workflow name, GitLab pipeline name or source. */
  readonly name: string;
  readonly status: PipelineStatus;
  readonly ref: RefInfo;
  readonly finishedAt: number | undefined;
  readonly durationSeconds: number | undefined;
  readonly queuedSeconds: number | undefined;
  /**
   * When this run began, the start of its trace's root span: GitLab `created_at`, GitHub
   * `run_started_at` (the attempt's own start; `created_at` is the first attempt's).
   */
  readonly startedAt?: number;
  /** The commit it ran for (`sha`, `head_sha`): a trace attribute. */
  readonly sha?: string;
  /** Its page for people: a trace attribute. */
  readonly url?: string;
  /**
   * GitLab `source_pipeline`: the pipeline and bridge job that triggered this child or
   * multi-project pipeline, whose trace it joins.
   */
  readonly parent?: { readonly projectId: string; readonly pipelineId: string; readonly jobId: string };
}

export type DeploymentStatus = 'waiting' | 'running' | FinalStatus | 'superseded';

export interface DeploymentEvent {
  readonly kind: 'deployment';
  readonly source: Source;
  readonly project: ProjectRef;
  readonly deploymentId: string;
  /** The environment name as sent (the label folds dynamic names). */
  readonly environment: string;
  readonly status: DeploymentStatus;
  /**
   * The source's own state where several map to one status (GitHub `created`, `queued` and
   * `pending` are all waiting): the natural key, so each is new once. Else `status` is.
   */
  readonly state?: string;
  /** When the deployment reached this status. */
  readonly at: number;
  /** GitHub: the deployment's own `created_at`, where its duration starts. */
  readonly startedAt: number | undefined;
  /**
   * GitLab, from the API: when it started running, used only when no `running` webhook told
   * it (the webhook's own time wins, so a repaired deployment measures the same).
   */
  readonly runningAt?: number;
}

export interface MergeEvent {
  readonly kind: 'merge';
  readonly source: Source;
  readonly project: ProjectRef;
  readonly mergeRequestId: string;
  readonly targetRef: string;
  readonly createdAt: number | undefined;
  readonly mergedAt: number | undefined;
}

export interface ReleaseEvent {
  readonly kind: 'release';
  readonly source: Source;
  readonly project: ProjectRef;
  readonly releaseId: string;
}

export type DeliveryEvent = JobEvent | PipelineEvent | DeploymentEvent | MergeEvent | ReleaseEvent;

/** What applying one event did. */
export type EventResult = 'applied' | 'duplicate';
