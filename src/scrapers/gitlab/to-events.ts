import type {
  DeliveryEvent,
  DeploymentEvent,
  MergeEvent,
  PipelineEvent,
  PipelineStatus,
  ProjectRef,
} from '../../events/model.js';
import {
  GITLAB_JOB_STATUS,
  gitlabRunnerType,
  isMergeRequestSource,
  pipelineQueuedSeconds,
} from '../../sources/gitlab/statuses.js';
import { parseTimestamp } from '../../sources/timestamps.js';

/** When the pipeline was created, in whole seconds as its hooks give it (a trace's start). */
function startOf(p: ApiPipeline): { startedAt?: number } {
  const t = seconds(parseTimestamp(p.created_at));
  return t === undefined ? {} : { startedAt: t };
}

/** The GitLab REST v4 shapes the scraper reads (fields it uses only). */
export interface ApiPipeline {
  id: number;
  ref: string;
  tag?: boolean | null;
  status: string;
  source?: string | null;
  name?: string | null;
  created_at?: string | null;
  updated_at?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  duration?: number | null;
  queued_duration?: number | null;
  sha?: string | null;
  web_url?: string | null;
}

export interface ApiJob {
  id: number;
  name: string;
  stage: string;
  status: string;
  created_at?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  duration?: number | null;
  queued_duration?: number | null;
  runner?: { runner_type?: string | null; is_shared?: boolean | null } | null;
}

export interface ApiDeployment {
  id: number;
  status: string;
  created_at?: string | null;
  updated_at?: string | null;
  finished_at?: string | null;
  environment?: { name?: string | null } | null;
  deployable?: { started_at?: string | null } | null;
}

export interface ApiMergeRequest {
  id: number;
  target_branch: string;
  created_at?: string | null;
  merged_at?: string | null;
  updated_at?: string | null;
}

export const FINAL_PIPELINE = new Set(['success', 'failed', 'canceled', 'skipped']);

const orUndefined = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/**
 * Whole seconds, as GitLab's hooks give every time (the API gives milliseconds): a repaired
 * deployment or merge then shows the same numbers as its hook would have.
 */
const seconds = (t: number | undefined): number | undefined => (t === undefined ? undefined : Math.floor(t));

/**
 * One finished pipeline and its jobs as the events a Pipeline Hook would have given, so the
 * processor's natural keys see them as the same pipeline, attempt and jobs.
 */
export function pipelineEvents(
  project: ProjectRef,
  p: ApiPipeline,
  jobs: readonly ApiJob[],
): DeliveryEvent[] {
  const ref = { name: p.ref, tag: p.tag === true, mergeRequest: isMergeRequestSource(p.source) };
  // Whole seconds, as Pipeline Hooks give it: a repaired run shows the same finish time.
  const finishedAt = seconds(parseTimestamp(p.finished_at));
  const status = (FINAL_PIPELINE.has(p.status) ? p.status : 'waiting') as PipelineStatus;
  const events: DeliveryEvent[] = [
    {
      kind: 'pipeline',
      source: 'gitlab',
      project,
      pipelineId: String(p.id),
      attempt: '',
      name: p.name !== null && p.name !== undefined && p.name !== '' ? p.name : (p.source ?? 'unknown'),
      status,
      ref,
      finishedAt,
      durationSeconds: orUndefined(p.duration),
      queuedSeconds: pipelineQueuedSeconds(
        p.queued_duration,
        (p.started_at !== null && p.started_at !== undefined) ||
          (p.duration !== null && p.duration !== undefined),
      ),
      ...startOf(p),
      ...(p.sha ? { sha: p.sha } : {}),
      ...(p.web_url ? { url: p.web_url } : {}),
    },
  ];
  for (const j of jobs) {
    events.push({
      kind: 'job',
      source: 'gitlab',
      project,
      jobId: String(j.id),
      pipelineId: String(p.id),
      name: j.name,
      stage: j.stage,
      status: GITLAB_JOB_STATUS[j.status] ?? 'waiting',
      sourceStatus: j.status,
      ref,
      runnerType: gitlabRunnerType(j.runner),
      createdAt: parseTimestamp(j.created_at),
      startedAt: parseTimestamp(j.started_at),
      finishedAt: parseTimestamp(j.finished_at),
      durationSeconds: orUndefined(j.duration),
      queuedSeconds: orUndefined(j.queued_duration),
    });
  }
  return events;
}

/**
 * The run the pipeline list showed finished, when the pipeline changed before its detail was
 * read: retried (running again) or finished again with another status. The API shows only a
 * pipeline's latest status, so this one is counted now or never (SPEC section 5: a pipeline that
 * fails and then succeeds after a retry counts both). Its finish time is the list's
 * `updated_at`, which a status change sets; its duration is not shown any more.
 */
export function listedRunEvent(
  project: ProjectRef,
  listed: Pick<ApiPipeline, 'status' | 'updated_at'>,
  detail: ApiPipeline,
): PipelineEvent | undefined {
  if (!FINAL_PIPELINE.has(listed.status) || listed.status === detail.status) return undefined;
  const [event] = pipelineEvents(project, detail, []);
  if (event?.kind !== 'pipeline') return undefined;
  return {
    ...event,
    status: listed.status as PipelineStatus,
    finishedAt: seconds(parseTimestamp(listed.updated_at)),
    durationSeconds: undefined,
    queuedSeconds: undefined,
  };
}

/** A finished deployment as the final Deployment Hook would have told it. */
export function deploymentEvent(project: ProjectRef, d: ApiDeployment): DeploymentEvent | undefined {
  const status =
    d.status === 'success' || d.status === 'failed' || d.status === 'canceled' ? d.status : undefined;
  const at = seconds(parseTimestamp(d.finished_at) ?? parseTimestamp(d.updated_at));
  const environment = d.environment?.name;
  if (status === undefined || at === undefined || !environment) return undefined;
  // When its job started; a deployment whose job never started (canceled or failed while
  // created) has no duration, as its hooks give none (README: the duration needs `running`).
  const runningAt = seconds(parseTimestamp(d.deployable?.started_at));
  return {
    kind: 'deployment',
    source: 'gitlab',
    project,
    deploymentId: String(d.id),
    environment,
    status,
    at,
    startedAt: undefined,
    ...(runningAt === undefined ? {} : { runningAt }),
  };
}

export function mergeEvent(project: ProjectRef, mr: ApiMergeRequest): MergeEvent {
  return {
    kind: 'merge',
    source: 'gitlab',
    project,
    mergeRequestId: String(mr.id),
    targetRef: mr.target_branch,
    createdAt: seconds(parseTimestamp(mr.created_at)),
    mergedAt: seconds(parseTimestamp(mr.merged_at) ?? parseTimestamp(mr.updated_at)),
  };
}
