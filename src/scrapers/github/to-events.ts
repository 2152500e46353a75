import type { DeliveryEvent, PipelineStatus, ProjectRef } from '../../events/model.js';
import {
  GITHUB_CONCLUSION,
  githubJobStatus,
  jobStage,
  ranOnRunner,
  runnerType,
  runQueuedSeconds,
  runRef,
} from '../../sources/github/statuses.js';
import { parseTimestamp } from '../../sources/timestamps.js';

export interface ApiRun {
  id: number;
  name?: string | null;
  path?: string | null;
  run_attempt?: number | null;
  event?: string | null;
  head_branch?: string | null;
  status?: string | null;
  conclusion?: string | null;
  created_at?: string | null;
  updated_at?: string | null;
  run_started_at?: string | null;
  head_sha?: string | null;
  html_url?: string | null;
}

export interface ApiJob {
  id: number;
  run_id: number;
  run_attempt?: number | null;
  name: string;
  workflow_name?: string | null;
  head_branch?: string | null;
  status: string;
  conclusion?: string | null;
  created_at?: string | null;
  started_at?: string | null;
  completed_at?: string | null;
  labels?: string[] | null;
  runner_name?: string | null;
  runner_group_name?: string | null;
}

export function runIsFinal(run: ApiRun): boolean {
  return run.status === 'completed' && GITHUB_CONCLUSION[run.conclusion ?? ''] !== undefined;
}

/** A finished run and its jobs as the events workflow_run and workflow_job hooks give. */
export function runEvents(project: ProjectRef, run: ApiRun, jobs: readonly ApiJob[]): DeliveryEvent[] {
  const created = parseTimestamp(run.created_at);
  const started = parseTimestamp(run.run_started_at);
  const updated = parseTimestamp(run.updated_at);
  const final = runIsFinal(run);
  const status: PipelineStatus = final
    ? (GITHUB_CONCLUSION[run.conclusion ?? ''] as PipelineStatus)
    : 'waiting';
  const ref = runRef(run.event, run.head_branch);
  const events: DeliveryEvent[] = [
    {
      kind: 'pipeline',
      source: 'github',
      project,
      pipelineId: String(run.id),
      attempt: String(run.run_attempt ?? 1),
      name:
        run.name !== null && run.name !== undefined && run.name !== '' ? run.name : (run.path ?? 'unknown'),
      status,
      ref,
      finishedAt: final ? updated : undefined,
      durationSeconds:
        final && updated !== undefined && started !== undefined ? updated - started : undefined,
      queuedSeconds: runQueuedSeconds(created, started, run.run_attempt ?? undefined),
      ...(started === undefined ? {} : { startedAt: started }),
      ...(run.head_sha ? { sha: run.head_sha } : {}),
      ...(run.html_url ? { url: run.html_url } : {}),
    },
  ];
  for (const j of jobs) {
    const jobStatus = githubJobStatus(j.status, j.conclusion);
    const ran = ranOnRunner(j.runner_name);
    events.push({
      kind: 'job',
      source: 'github',
      project,
      jobId: String(j.id),
      pipelineId: String(j.run_id),
      name: j.name,
      stage: jobStage(j.workflow_name),
      status: jobStatus,
      ref: { name: j.head_branch ?? run.head_branch ?? '', tag: false, mergeRequest: false },
      runnerType: runnerType(j.labels, j.runner_group_name, j.runner_name),
      createdAt: parseTimestamp(j.created_at),
      startedAt: ran ? parseTimestamp(j.started_at) : undefined,
      finishedAt: parseTimestamp(j.completed_at),
      durationSeconds: undefined,
      queuedSeconds: undefined,
      // A run's jobs list (`filter=all`) names every attempt's jobs.
      attempt: String(j.run_attempt ?? run.run_attempt ?? 1),
    });
  }
  return events;
}
