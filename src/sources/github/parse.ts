import { z } from 'zod';
import type { DeliveryEvent, PipelineStatus, ProjectRef } from '../../events/model.js';
import { InvalidPayloadError } from '../invalid-payload-error.js';
import type { SourceParsed } from '../webhook-check.js';
import { check } from '../check-schema.js';
import { parseTimestamp } from '../timestamps.js';
import {
  runQueuedSeconds,
  GITHUB_CONCLUSION,
  GITHUB_DEPLOYMENT_STATE,
  GITHUB_RUN_STATUS,
  githubJobStatus,
  jobStage,
  ranOnRunner,
  runnerType,
  runRef,
} from './statuses.js';

/**
 * GitHub webhook payloads (docs.github.com webhook-events-and-payloads) into source-neutral
 * events. `check_run` is never used: every Actions job is also a check run.
 */
export type GithubParsed = SourceParsed;

const id = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String);
const time = z.string().nullish();

const repository = z.object({
  id,
  full_name: z.string().min(1),
  default_branch: z.string().nullish(),
});

const workflowJob = z.object({
  workflow_job: z.object({
    id,
    run_id: id,
    run_attempt: z.number().int().nullish(),
    name: z.string(),
    workflow_name: z.string().nullish(),
    head_branch: z.string().nullish(),
    status: z.string(),
    conclusion: z.string().nullish(),
    created_at: time,
    started_at: time,
    completed_at: time,
    labels: z.array(z.string()).nullish(),
    runner_name: z.string().nullish(),
    runner_group_name: z.string().nullish(),
  }),
  repository,
});

const workflowRun = z.object({
  workflow_run: z.object({
    id,
    name: z.string().nullish(),
    path: z.string().nullish(),
    run_attempt: z.number().int().nullish(),
    event: z.string().nullish(),
    head_branch: z.string().nullish(),
    status: z.string().nullish(),
    conclusion: z.string().nullish(),
    created_at: time,
    updated_at: time,
    run_started_at: time,
    head_sha: z.string().nullish(),
    html_url: z.string().nullish(),
  }),
  repository,
});

const deployment = z.object({ id, environment: z.string().min(1), created_at: z.string() });

const deploymentHook = z.object({ deployment, repository });

const deploymentStatusHook = z.object({
  deployment_status: z.object({
    state: z.string(),
    environment: z.string().nullish(),
    created_at: z.string(),
  }),
  deployment,
  repository,
});

const pullRequestHook = z.object({
  action: z.string(),
  pull_request: z.object({
    id,
    merged: z.boolean().nullish(),
    created_at: time,
    merged_at: time,
    base: z.object({ ref: z.string() }),
  }),
  repository,
});

const releaseHook = z.object({ action: z.string(), release: z.object({ id }), repository });

function project(r: z.infer<typeof repository>): ProjectRef {
  return { id: r.id, path: r.full_name, defaultBranch: r.default_branch ?? undefined };
}

/** Parses one verified GitHub payload, by its `X-GitHub-Event` name. */
export function parseGithub(event: string, body: unknown): GithubParsed {
  switch (event) {
    case 'workflow_job':
      return { kind: 'events', events: [jobEvent(body)] };
    case 'workflow_run':
      return { kind: 'events', events: [runEvent(body)] };
    case 'deployment': {
      const d = check(deploymentHook, body);
      const at = timestamp(d.deployment.created_at, 'deployment.created_at');
      return {
        kind: 'events',
        events: [
          {
            kind: 'deployment',
            source: 'github',
            project: project(d.repository),
            deploymentId: d.deployment.id,
            environment: d.deployment.environment,
            status: 'waiting',
            state: 'created',
            at,
            startedAt: at,
          },
        ],
      };
    }
    case 'deployment_status': {
      const d = check(deploymentStatusHook, body);
      return {
        kind: 'events',
        events: [
          {
            kind: 'deployment',
            source: 'github',
            project: project(d.repository),
            deploymentId: d.deployment.id,
            environment: d.deployment_status.environment ?? d.deployment.environment,
            status: GITHUB_DEPLOYMENT_STATE[d.deployment_status.state] ?? 'waiting',
            state: d.deployment_status.state,
            at: timestamp(d.deployment_status.created_at, 'deployment_status.created_at'),
            startedAt: timestamp(d.deployment.created_at, 'deployment.created_at'),
          },
        ],
      };
    }
    case 'pull_request': {
      const p = check(pullRequestHook, body);
      if (p.action !== 'closed' || p.pull_request.merged !== true) {
        return { kind: 'ignored', reason: `pull_request ${p.action} without a merge` };
      }
      return {
        kind: 'events',
        events: [
          {
            kind: 'merge',
            source: 'github',
            project: project(p.repository),
            mergeRequestId: p.pull_request.id,
            targetRef: p.pull_request.base.ref,
            createdAt: parseTimestamp(p.pull_request.created_at),
            mergedAt: parseTimestamp(p.pull_request.merged_at),
          },
        ],
      };
    }
    case 'release': {
      const r = check(releaseHook, body);
      if (r.action !== 'published') return { kind: 'ignored', reason: `release ${r.action}` };
      return {
        kind: 'events',
        events: [
          { kind: 'release', source: 'github', project: project(r.repository), releaseId: r.release.id },
        ],
      };
    }
    default:
      return { kind: 'ignored', reason: `event ${event}` };
  }
}

function timestamp(value: string, field: string): number {
  const t = parseTimestamp(value);
  if (t === undefined) throw new InvalidPayloadError(`${field}: '${value}' is not a timestamp`);
  return t;
}

function jobEvent(body: unknown): DeliveryEvent {
  const { workflow_job: j, repository: r } = check(workflowJob, body);
  const status = githubJobStatus(j.status, j.conclusion);
  // A job that no runner ever took (cancelled while queued) never started, whatever
  // `started_at` says: GitHub fills it in for queued jobs too.
  const startedAt = ranOnRunner(j.runner_name) ? parseTimestamp(j.started_at) : undefined;
  return {
    kind: 'job',
    source: 'github',
    project: project(r),
    jobId: j.id,
    pipelineId: j.run_id,
    name: j.name,
    stage: jobStage(j.workflow_name),
    status,
    ref: { name: j.head_branch ?? '', tag: false, mergeRequest: false },
    runnerType: runnerType(j.labels, j.runner_group_name, j.runner_name),
    // The legacy shape (GitHub Enterprise Server before 3.6) has no `created_at`; while the job
    // is queued its `started_at` is when it was created.
    createdAt:
      parseTimestamp(j.created_at) ?? (j.status === 'queued' ? parseTimestamp(j.started_at) : undefined),
    startedAt,
    finishedAt: parseTimestamp(j.completed_at),
    durationSeconds: undefined,
    queuedSeconds: undefined,
    ...(j.run_attempt === null || j.run_attempt === undefined ? {} : { attempt: String(j.run_attempt) }),
  };
}

function runEvent(body: unknown): DeliveryEvent {
  const { workflow_run: w, repository: r } = check(workflowRun, body);
  let status: PipelineStatus = GITHUB_RUN_STATUS[w.status ?? ''] ?? 'waiting';
  if (w.status === 'completed') status = GITHUB_CONCLUSION[w.conclusion ?? ''] ?? 'waiting';
  const created = parseTimestamp(w.created_at);
  const started = parseTimestamp(w.run_started_at);
  const updated = parseTimestamp(w.updated_at);
  const final = w.status === 'completed' && GITHUB_CONCLUSION[w.conclusion ?? ''] !== undefined;
  return {
    kind: 'pipeline',
    source: 'github',
    project: project(r),
    pipelineId: w.id,
    attempt: String(w.run_attempt ?? 1),
    name: w.name !== null && w.name !== undefined && w.name !== '' ? w.name : (w.path ?? 'unknown'),
    status,
    ref: runRef(w.event, w.head_branch),
    finishedAt: final ? updated : undefined,
    durationSeconds: final && updated !== undefined && started !== undefined ? updated - started : undefined,
    // Only once the run has started: a run waiting for approval (`action_required`) or left
    // `stale` has a `run_started_at` that says nothing about its queue.
    queuedSeconds:
      status === 'running' || final
        ? runQueuedSeconds(created, started, w.run_attempt ?? undefined)
        : undefined,
    ...(started === undefined ? {} : { startedAt: started }),
    ...(w.head_sha ? { sha: w.head_sha } : {}),
    ...(w.html_url ? { url: w.html_url } : {}),
  };
}
