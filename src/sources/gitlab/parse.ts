import { z } from 'zod';
import type { DeliveryEvent, JobEvent, ProjectRef } from '../../events/model.js';
import { InvalidPayloadError } from '../invalid-payload-error.js';
import type { SourceParsed } from '../webhook-check.js';
import { check } from '../check-schema.js';
import { parseTimestamp } from '../timestamps.js';
import {
  GITLAB_DEPLOYMENT_STATUS,
  GITLAB_JOB_STATUS,
  GITLAB_PIPELINE_STATUS,
  gitlabRunnerType,
  isMergeRequestSource,
  pipelineQueuedSeconds,
} from './statuses.js';
import { gitlabProjectOf } from './project-of.js';

/**
 * GitLab webhook payloads (docs: user/project/integrations/webhook_events) into
 * source-neutral events. Handlers never see these shapes.
 */
export type GitlabParsed = SourceParsed;

const id = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String);
const time = z.string().nullish();
const seconds = z.number().nonnegative().nullish();
const runner = z.object({ runner_type: z.string().nullish(), is_shared: z.boolean().nullish() }).nullish();

const jobHook = z.object({
  build_id: id,
  build_name: z.string(),
  build_stage: z.string(),
  build_status: z.string(),
  build_created_at: time,
  build_created_at_iso: time,
  build_started_at: time,
  build_started_at_iso: time,
  build_finished_at: time,
  build_finished_at_iso: time,
  build_duration: seconds,
  build_queued_duration: seconds,
  pipeline_id: id.nullish(),
  ref: z.string(),
  tag: z.boolean().nullish(),
  runner,
});

const build = z.object({
  id,
  stage: z.string(),
  name: z.string(),
  status: z.string(),
  created_at: time,
  started_at: time,
  finished_at: time,
  duration: seconds,
  queued_duration: seconds,
  runner,
});

const pipelineHook = z.object({
  object_attributes: z.object({
    id,
    ref: z.string(),
    tag: z.boolean().nullish(),
    source: z.string().nullish(),
    status: z.string(),
    name: z.string().nullish(),
    created_at: time,
    finished_at: time,
    duration: seconds,
    queued_duration: seconds,
    sha: z.string().nullish(),
    url: z.string().nullish(),
  }),
  merge_request: z.object({}).nullish(),
  builds: z.array(build).nullish(),
  // Only read for traces: a malformed one is left out rather than refusing the delivery.
  source_pipeline: z.unknown().optional(),
});

const sourcePipeline = z.object({
  project: z.object({ id }),
  pipeline_id: id,
  job_id: id,
});

const deploymentHook = z.object({
  deployment_id: id,
  status: z.string(),
  status_changed_at: z.string(),
  environment: z.string().min(1),
});

const mergeRequestHook = z.object({
  object_attributes: z.object({
    id,
    action: z.string().nullish(),
    target_branch: z.string(),
    created_at: time,
    updated_at: time,
    merged_at: time,
  }),
});

const releaseHook = z.object({ id, action: z.string() });

const projectShape = z.object({ default_branch: z.string().nullish() }).nullish();

function projectOf(body: unknown): ProjectRef {
  const identity = gitlabProjectOf(body);
  if (identity.id === undefined || identity.path === undefined) {
    throw new InvalidPayloadError('project: the payload names no project id and path');
  }
  const project = projectShape.safeParse((body as { project?: unknown }).project);
  const defaultBranch = project.success ? (project.data?.default_branch ?? undefined) : undefined;
  return { id: identity.id, path: identity.path, defaultBranch };
}

const orUndefined = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/** Parses one authenticated GitLab payload. Throws InvalidPayloadError naming the field. */
export function parseGitlab(body: unknown): GitlabParsed {
  const kind = (body as { object_kind?: unknown }).object_kind;
  switch (kind) {
    case 'build':
      return { kind: 'events', events: [jobEvent(body)] };
    case 'pipeline':
      return { kind: 'events', events: pipelineEvents(body) };
    case 'deployment':
      return { kind: 'events', events: [deploymentEvent(body)] };
    case 'merge_request': {
      const mr = check(mergeRequestHook, body).object_attributes;
      if (mr.action !== 'merge')
        return { kind: 'ignored', reason: `merge request action ${mr.action ?? 'none'}` };
      const createdAt = parseTimestamp(mr.created_at);
      // `merged_at` is in newer payloads; the merge event's `updated_at` is the merge time.
      const mergedAt = parseTimestamp(mr.merged_at) ?? parseTimestamp(mr.updated_at);
      return {
        kind: 'events',
        events: [
          {
            kind: 'merge',
            source: 'gitlab',
            project: projectOf(body),
            mergeRequestId: mr.id,
            targetRef: mr.target_branch,
            createdAt,
            mergedAt,
          },
        ],
      };
    }
    case 'release': {
      const release = check(releaseHook, body);
      if (release.action !== 'create') return { kind: 'ignored', reason: `release action ${release.action}` };
      return {
        kind: 'events',
        events: [{ kind: 'release', source: 'gitlab', project: projectOf(body), releaseId: release.id }],
      };
    }
    default:
      return { kind: 'ignored', reason: `object_kind ${typeof kind === 'string' ? kind : 'missing'}` };
  }
}

function jobEvent(body: unknown): JobEvent {
  const j = check(jobHook, body);
  const status = GITLAB_JOB_STATUS[j.build_status] ?? 'waiting';
  return {
    kind: 'job',
    source: 'gitlab',
    project: projectOf(body),
    jobId: j.build_id,
    pipelineId: orUndefined(j.pipeline_id),
    name: j.build_name,
    stage: j.build_stage,
    status,
    sourceStatus: j.build_status,
    ref: { name: j.ref, tag: j.tag === true, mergeRequest: j.ref.startsWith('refs/merge-requests/') },
    runnerType: gitlabRunnerType(j.runner),
    createdAt: parseTimestamp(j.build_created_at) ?? parseTimestamp(j.build_created_at_iso),
    startedAt: parseTimestamp(j.build_started_at) ?? parseTimestamp(j.build_started_at_iso),
    finishedAt: parseTimestamp(j.build_finished_at) ?? parseTimestamp(j.build_finished_at_iso),
    durationSeconds: orUndefined(j.build_duration),
    queuedSeconds: orUndefined(j.build_queued_duration),
  };
}

function pipelineEvents(body: unknown): DeliveryEvent[] {
  const p = check(pipelineHook, body);
  const a = p.object_attributes;
  const project = projectOf(body);
  const ref = {
    name: a.ref,
    tag: a.tag === true,
    mergeRequest:
      isMergeRequestSource(a.source) || (p.merge_request !== null && p.merge_request !== undefined),
  };
  const finishedSeconds = parseTimestamp(a.finished_at);
  const status = GITLAB_PIPELINE_STATUS[a.status] ?? 'waiting';
  const startedAt = parseTimestamp(a.created_at);
  const source = sourcePipeline.safeParse(p.source_pipeline);
  const events: DeliveryEvent[] = [
    {
      kind: 'pipeline',
      source: 'gitlab',
      project,
      pipelineId: a.id,
      // GitLab has no attempt number: SPEC section 4 keys a pipeline by (project, id, status).
      attempt: '',
      name: a.name !== null && a.name !== undefined && a.name !== '' ? a.name : (a.source ?? 'unknown'),
      status,
      ref,
      finishedAt: finishedSeconds,
      durationSeconds: orUndefined(a.duration),
      // A duration is only set for a pipeline that started.
      queuedSeconds: pipelineQueuedSeconds(
        a.queued_duration,
        status === 'running' || (a.duration !== null && a.duration !== undefined),
      ),
      ...(startedAt === undefined ? {} : { startedAt }),
      ...(a.sha ? { sha: a.sha } : {}),
      ...(a.url ? { url: a.url } : {}),
      ...(source.success
        ? {
            parent: {
              projectId: source.data.project.id,
              pipelineId: source.data.pipeline_id,
              jobId: source.data.job_id,
            },
          }
        : {}),
    },
  ];
  // The builds list feeds the same job logic as Job Hooks; the pipeline event comes first so
  // its jobs take its `ref` value.
  for (const b of p.builds ?? []) {
    events.push({
      kind: 'job',
      source: 'gitlab',
      project,
      jobId: b.id,
      pipelineId: a.id,
      name: b.name,
      stage: b.stage,
      status: GITLAB_JOB_STATUS[b.status] ?? 'waiting',
      sourceStatus: b.status,
      ref,
      runnerType: gitlabRunnerType(b.runner),
      createdAt: parseTimestamp(b.created_at),
      startedAt: parseTimestamp(b.started_at),
      finishedAt: parseTimestamp(b.finished_at),
      durationSeconds: orUndefined(b.duration),
      queuedSeconds: orUndefined(b.queued_duration),
    });
  }
  return events;
}

function deploymentEvent(body: unknown): DeliveryEvent {
  const d = check(deploymentHook, body);
  const at = parseTimestamp(d.status_changed_at);
  if (at === undefined)
    throw new InvalidPayloadError(`status_changed_at: '${d.status_changed_at}' is not a timestamp`);
  return {
    kind: 'deployment',
    source: 'gitlab',
    project: projectOf(body),
    deploymentId: d.deployment_id,
    environment: d.environment,
    status: GITLAB_DEPLOYMENT_STATUS[d.status] ?? 'waiting',
    at,
    startedAt: undefined,
  };
}
