import { readFileSync } from 'node:fs';

/** GitLab's documented example payloads (test/fixtures/gitlab), re-shaped per test. */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/gitlab/${name}.json`, import.meta.url), 'utf8'));
}

/** GitLab's Push Hook example for project 101 acme/payments-api: authentic, answered `ignored`. */
export function pushHook(): Record<string, unknown> {
  const push = fixture('push-hook');
  return {
    ...push,
    project: { ...(push.project as object), id: 101, path_with_namespace: 'acme/payments-api' },
    project_id: 101,
  };
}

export const PROJECT = {
  id: 101,
  name: 'payments-api',
  description: '',
  web_url: 'https://gitlab.example.com/acme/payments-api',
  avatar_url: null,
  git_ssh_url: 'git@gitlab.example.com:acme/payments-api.git',
  git_http_url: 'https://gitlab.example.com/acme/payments-api.git',
  namespace: 'acme',
  visibility_level: 0,
  path_with_namespace: 'acme/payments-api',
  default_branch: 'main',
};

export interface JobOptions {
  id: number;
  status: string;
  name?: string;
  stage?: string;
  pipelineId?: number;
  ref?: string;
  tag?: boolean;
  createdAt?: string | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  duration?: number | null;
  queued?: number | null;
  runnerType?: string | null;
  allowFailure?: boolean;
  project?: Record<string, unknown>;
}

/** A Job Hook shaped like GitLab's documented one. */
export function jobHook(o: JobOptions): Record<string, unknown> {
  const base = fixture('job-hook');
  const project = o.project ?? PROJECT;
  return {
    ...base,
    ref: o.ref ?? 'main',
    tag: o.tag ?? false,
    build_id: o.id,
    build_name: o.name ?? 'rspec',
    build_stage: o.stage ?? 'test',
    build_status: o.status,
    build_created_at: o.createdAt === undefined ? '2026-11-20T10:00:00.000Z' : o.createdAt,
    build_created_at_iso: null,
    build_started_at: o.startedAt ?? null,
    build_started_at_iso: null,
    build_finished_at: o.finishedAt ?? null,
    build_finished_at_iso: null,
    build_duration: o.duration ?? null,
    build_queued_duration: o.queued ?? null,
    build_allow_failure: o.allowFailure ?? false,
    pipeline_id: o.pipelineId ?? 5001,
    project_id: project.id,
    project_name: project.path_with_namespace,
    project,
    repository: {
      ...(base.repository as object),
      homepage: project.web_url,
      git_ssh_url: project.git_ssh_url,
    },
    runner:
      o.runnerType === null || o.runnerType === undefined
        ? null
        : { ...(base.runner as object), runner_type: o.runnerType },
  };
}

export interface PipelineOptions {
  id: number;
  status: string;
  ref?: string;
  tag?: boolean;
  source?: string;
  name?: string | null;
  createdAt?: string;
  finishedAt?: string | null;
  duration?: number | null;
  queued?: number | null;
  builds?: Array<Record<string, unknown>>;
  mergeRequest?: boolean;
}

/** A Pipeline Hook shaped like GitLab's documented one. */
export function pipelineHook(o: PipelineOptions): Record<string, unknown> {
  const base = fixture('pipeline-hook');
  return {
    ...base,
    object_attributes: {
      ...(base.object_attributes as object),
      id: o.id,
      iid: o.id - 5000,
      name: o.name === undefined ? null : o.name,
      ref: o.ref ?? 'main',
      tag: o.tag ?? false,
      source: o.source ?? 'push',
      status: o.status,
      detailed_status: o.status,
      created_at: o.createdAt ?? '2026-11-20 10:00:00 UTC',
      finished_at: o.finishedAt ?? null,
      duration: o.duration ?? null,
      queued_duration: o.queued ?? null,
    },
    merge_request: o.mergeRequest ? base.merge_request : null,
    project: PROJECT,
    builds: o.builds ?? [],
  };
}

/** One entry of a Pipeline Hook's `builds` list. */
export function build(o: {
  id: number;
  status: string;
  name?: string;
  stage?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
  duration?: number | null;
  queued?: number | null;
  runnerType?: string | null;
}): Record<string, unknown> {
  const base = (fixture('pipeline-hook').builds as Array<Record<string, unknown>>)[1] as Record<
    string,
    unknown
  >;
  return {
    ...base,
    id: o.id,
    stage: o.stage ?? 'test',
    name: o.name ?? 'rspec',
    status: o.status,
    created_at: '2026-11-20 10:00:00 UTC',
    started_at: o.startedAt ?? null,
    finished_at: o.finishedAt ?? null,
    duration: o.duration ?? null,
    queued_duration: o.queued ?? null,
    runner: o.runnerType ? { ...(base.runner as object), runner_type: o.runnerType } : null,
  };
}

export function deploymentHook(o: {
  id: number;
  status: string;
  at: string;
  environment?: string;
}): Record<string, unknown> {
  return {
    ...fixture('deployment-hook'),
    deployment_id: o.id,
    status: o.status,
    status_changed_at: o.at,
    environment: o.environment ?? 'production',
    project: PROJECT,
  };
}

export function mergeHook(o: {
  id: number;
  target?: string;
  createdAt: string;
  updatedAt: string;
  mergedAt?: string;
}) {
  const base = fixture('merge-request-merge-hook');
  return {
    ...base,
    project: PROJECT,
    object_attributes: {
      ...(base.object_attributes as object),
      id: o.id,
      target_branch: o.target ?? 'main',
      created_at: o.createdAt,
      updated_at: o.updatedAt,
      ...(o.mergedAt === undefined ? {} : { merged_at: o.mergedAt }),
    },
  };
}

export function releaseHook(o: { id: number; action?: string }) {
  return { ...fixture('release-hook'), id: o.id, action: o.action ?? 'create', project: PROJECT };
}

const EVENT_OF_KIND: Record<string, string> = {
  build: 'Job Hook',
  pipeline: 'Pipeline Hook',
  deployment: 'Deployment Hook',
  merge_request: 'Merge Request Hook',
  release: 'Release Hook',
  push: 'Push Hook',
};

export const GITLAB_SECRET = 'acme-payments-webhook-secret';

/** POSTs a payload the way GitLab does; returns status and JSON answer. */
export async function postGitlab(
  url: string,
  body: unknown,
  options: { token?: string | null; key?: string; event?: string; contentType?: string; path?: string } = {},
): Promise<{ status: number; body: { outcome?: string; error?: string } }> {
  const kind = (body as { object_kind?: string }).object_kind ?? '';
  const headers: Record<string, string> = {
    'Content-Type': options.contentType ?? 'application/json',
    'X-Gitlab-Event': options.event ?? EVENT_OF_KIND[kind] ?? 'Unknown Hook',
    'X-Gitlab-Event-UUID': 'shared-by-recursive-hooks',
    'User-Agent': 'GitLab/17.6.0',
  };
  const token = options.token === undefined ? GITLAB_SECRET : options.token;
  if (token !== null) headers['X-Gitlab-Token'] = token;
  if (options.key !== undefined) headers['Idempotency-Key'] = options.key;
  const res = await fetch(`${url}${options.path ?? '/webhooks/gitlab'}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as { outcome?: string; error?: string }),
  };
}
