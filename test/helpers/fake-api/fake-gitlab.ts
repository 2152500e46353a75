/**
 * A fake GitLab REST v4 API (/api/v4) over real HTTP with an in-memory model that tests mutate.
 * Serves only the endpoints the scrapers read; see FakeGitlab's route list in the constructor.
 */
import {
  compareNumbers,
  compareStrings,
  type Dialect,
  FakeHttpServer,
  type FakeServerOptions,
  fakeSha,
  HttpError,
  isoMillis,
  listParam,
  optionalMs,
  param,
  type RateLimitState,
  type Reply,
  type RouteContext,
  type TimeInput,
  toMs,
} from './server.js';

export type GitlabPipelineStatus =
  | 'created'
  | 'waiting_for_resource'
  | 'preparing'
  | 'pending'
  | 'running'
  | 'success'
  | 'failed'
  | 'canceling'
  | 'canceled'
  | 'skipped'
  | 'manual'
  | 'scheduled';

export type GitlabJobStatus = GitlabPipelineStatus;
export type GitlabRunnerType = 'instance_type' | 'group_type' | 'project_type';
export type GitlabRunnerStatus = 'online' | 'offline' | 'stale' | 'never_contacted';
export type GitlabDeploymentStatus =
  'created' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'blocked';
export type GitlabMergeRequestState = 'opened' | 'closed' | 'locked' | 'merged';

const PIPELINE_STATUSES: readonly string[] = [
  'created',
  'waiting_for_resource',
  'preparing',
  'pending',
  'running',
  'success',
  'failed',
  'canceling',
  'canceled',
  'skipped',
  'manual',
  'scheduled',
];
const RUNNER_TYPES: readonly string[] = ['instance_type', 'group_type', 'project_type'];
const RUNNER_STATUSES: readonly string[] = ['online', 'offline', 'stale', 'never_contacted'];
const DEPLOYMENT_STATUSES: readonly string[] = [
  'created',
  'running',
  'success',
  'failed',
  'canceled',
  'skipped',
  'blocked',
];

export interface GitlabProjectInput {
  id: number;
  path_with_namespace: string;
  default_branch?: string;
  /** Full path of the namespace; default: path_with_namespace without its last segment. */
  namespace?: string;
  name?: string;
  created_at?: TimeInput;
  archived?: boolean;
}

export interface GitlabPipelineInput {
  id: number;
  iid?: number;
  ref: string;
  sha?: string;
  status: GitlabPipelineStatus;
  source?: string;
  name?: string | null;
  created_at: TimeInput;
  updated_at: TimeInput;
  started_at?: TimeInput | null;
  finished_at?: TimeInput | null;
  /** Default: whole seconds between started_at and finished_at when both are set, else null. */
  duration?: number | null;
  /** Default: whole seconds between created_at and started_at when started_at is set, else null. */
  queued_duration?: number | null;
  tag?: boolean;
}

export interface GitlabJobInput {
  id: number;
  name: string;
  stage: string;
  status: GitlabJobStatus;
  created_at: TimeInput;
  started_at?: TimeInput | null;
  finished_at?: TimeInput | null;
  /** Default: seconds (float) between started_at and finished_at when both are set, else null. */
  duration?: number | null;
  /** Default: seconds (float) between created_at and started_at when started_at is set, else null. */
  queued_duration?: number | null;
  /** Shown as a synthetic runner of this type unless runner_id names a runner added with addRunner. */
  runner_type?: GitlabRunnerType | null;
  runner_id?: number | null;
  /** Retried (superseded) jobs are listed only with include_retried=true. */
  retried?: boolean;
  allow_failure?: boolean;
  /** Default: the pipeline's ref. */
  ref?: string;
  failure_reason?: string;
  tag_list?: string[];
}

export interface GitlabMergeRequestInput {
  id: number;
  iid: number;
  target_branch: string;
  source_branch: string;
  state: GitlabMergeRequestState;
  created_at: TimeInput;
  updated_at: TimeInput;
  merged_at?: TimeInput | null;
  closed_at?: TimeInput | null;
  title?: string;
  sha?: string;
  merge_commit_sha?: string | null;
}

export interface GitlabEnvironmentInput {
  id: number;
  name: string;
  state?: 'available' | 'stopping' | 'stopped';
  external_url?: string | null;
  /** Default: guessed from the name as GitLab does (production, staging, testing, development, other). */
  tier?: string;
  created_at?: TimeInput;
  updated_at?: TimeInput;
}

export interface GitlabDeploymentInput {
  id: number;
  iid?: number;
  status: GitlabDeploymentStatus;
  created_at: TimeInput;
  updated_at: TimeInput;
  finished_at?: TimeInput | null;
  environment: { id: number; name: string };
  ref?: string;
  sha?: string;
  /** A job of this project (added with addJob) shown as the deployable. */
  deployable_job_id?: number;
  /** A raw deployable object (or null); used when deployable_job_id is not given. Default null. */
  deployable?: Record<string, unknown> | null;
}

export interface GitlabRunnerInput {
  id: number;
  description: string;
  runner_type: GitlabRunnerType;
  status: GitlabRunnerStatus;
  paused?: boolean;
  /** Legacy inverse of paused; used when paused is not given. */
  active?: boolean;
  /** Full paths of the groups a group runner belongs to. */
  groups?: string[];
  name?: string;
  tag_list?: string[];
}

export interface FakeGitlabOptions extends FakeServerOptions {
  /** X-Total, X-Total-Pages and the rel="last" link are left out above this many results (GitLab: 10000). */
  countLimit?: number;
  /** Treat updated_after/updated_before as strict bounds. Real GitLab (UpdatedAtFilterable) compares
   * inclusively (>= / <=); default false = like GitLab. */
  exclusiveUpdatedBounds?: boolean;
  /** GitLab's relative URL root (`/gitlab`): the API is under `<root>/api/v4`, pages under `<root>/`. */
  root?: string;
  /** Leave out the Link header and page only by X-Next-Page (a proxy that drops it, a GitLab look-alike). */
  noLinkHeader?: boolean;
}

interface Project {
  input: GitlabProjectInput;
  namespace: string;
  pipelines: Map<number, GitlabPipelineInput>;
  /** job id -> pipeline id */
  jobPipeline: Map<number, number>;
  jobs: Map<number, GitlabJobInput>;
  mergeRequests: Map<number, GitlabMergeRequestInput>;
  environments: Map<number, GitlabEnvironmentInput>;
  deployments: Map<number, GitlabDeploymentInput>;
}

const USER = {
  id: 1,
  username: 'root',
  name: 'Administrator',
  state: 'active',
  locked: false,
  avatar_url: null,
};

const DETAILED: Record<string, { text: string; label: string }> = {
  created: { text: 'Created', label: 'created' },
  waiting_for_resource: { text: 'Waiting', label: 'waiting for resource' },
  preparing: { text: 'Preparing', label: 'preparing' },
  pending: { text: 'Pending', label: 'pending' },
  running: { text: 'Running', label: 'running' },
  success: { text: 'Passed', label: 'passed' },
  failed: { text: 'Failed', label: 'failed' },
  canceling: { text: 'Canceling', label: 'canceling' },
  canceled: { text: 'Canceled', label: 'canceled' },
  skipped: { text: 'Skipped', label: 'skipped' },
  manual: { text: 'Manual', label: 'manual action' },
  scheduled: { text: 'Scheduled', label: 'scheduled' },
};

function guessTier(name: string): string {
  const n = name.toLowerCase();
  if (/(prod|live)/.test(n)) return 'production';
  if (/(stag|model|pre|demo)/.test(n)) return 'staging';
  if (/(test|qc)/.test(n)) return 'testing';
  if (/(dev|review|trunk)/.test(n)) return 'development';
  return 'other';
}

function parentPaths(fullPath: string): string[] {
  const parts = fullPath.split('/');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

function projectName(p: Project): string {
  return p.input.name ?? p.input.path_with_namespace.split('/').at(-1)!;
}

function badRequest(error: string): HttpError {
  return new HttpError(400, { error });
}

function seconds(from: number | null, to: number | null, round: boolean): number | null {
  if (from === null || to === null) return null;
  const s = (to - from) / 1000;
  return round ? Math.round(s) : s;
}

const gitlabDialect: Dialect = {
  prefix: '/api/v4',
  etags: false,
  isAuthorized(ctx, token) {
    const privateToken = ctx.headers['private-token'];
    if (privateToken === token) return true;
    const auth = ctx.headers.authorization;
    if (auth !== undefined && /^bearer\s+/i.test(auth) && auth.replace(/^bearer\s+/i, '') === token)
      return true;
    return ctx.query.get('private_token') === token || ctx.query.get('access_token') === token;
  },
  unauthorized: () => ({ status: 401, body: { message: '401 Unauthorized' } }),
  notFound: () => ({ status: 404, body: { message: '404 Not Found' } }),
  serverError: () => ({ status: 500, body: { message: '500 Internal Server Error' } }),
  tooManyRequests: () => ({ status: 429, body: { message: 'Retry later' } }),
  budgetExceeded: (state, nowMs) => ({
    status: 429,
    body: { message: 'Retry later' },
    headers: { 'retry-after': String(Math.max(1, state.reset - Math.floor(nowMs / 1000))) },
  }),
  rateLimitHeaders: (s: RateLimitState) => ({
    'ratelimit-limit': String(s.limit),
    'ratelimit-observed': String(s.used),
    'ratelimit-remaining': String(s.remaining),
    'ratelimit-reset': String(s.reset),
    'ratelimit-resettime': new Date(s.reset * 1000).toUTCString(),
  }),
};

/**
 * Fake GitLab REST v4. Endpoints (GET only, under /api/v4):
 * /projects/:id/pipelines, /projects/:id/pipelines/:pipeline_id, /projects/:id/pipelines/:pipeline_id/jobs,
 * /groups/:id/projects, /projects/:id/merge_requests, /projects/:id/environments, /projects/:id/deployments,
 * /runners/all, /groups/:id/runners. `:id` is a numeric id or a URL-encoded full path.
 */
export class FakeGitlab extends FakeHttpServer {
  readonly #projects = new Map<number, Project>();
  readonly #groups = new Map<string, number>();
  readonly #runners = new Map<number, GitlabRunnerInput>();
  readonly #runnerJobs = new Map<number, number>();
  #nextGroupId = 1000;
  readonly countLimit: number;
  /** See FakeGitlabOptions.noLinkHeader; may be changed between requests. */
  noLinkHeader: boolean;
  exclusiveUpdatedBounds: boolean;
  readonly #root: string;

  constructor(options: FakeGitlabOptions = {}) {
    super({ ...gitlabDialect, prefix: `${options.root ?? ''}/api/v4` }, options);
    this.#root = options.root ?? '';
    this.countLimit = options.countLimit ?? 10_000;
    this.exclusiveUpdatedBounds = options.exclusiveUpdatedBounds ?? false;
    this.noLinkHeader = options.noLinkHeader ?? false;
    this.route('GET', '/projects/:id/pipelines', (c) => this.#listPipelines(c));
    this.route('GET', '/projects/:id/pipelines/:pipeline_id', (c) => this.#getPipeline(c));
    this.route('GET', '/projects/:id/pipelines/:pipeline_id/jobs', (c) => this.#listJobs(c));
    this.route('GET', '/groups/:id/projects', (c) => this.#groupProjects(c));
    this.route('GET', '/projects/:id/merge_requests', (c) => this.#listMergeRequests(c));
    this.route('GET', '/projects/:id/environments', (c) => this.#listEnvironments(c));
    this.route('GET', '/projects/:id/deployments', (c) => this.#listDeployments(c));
    this.route('GET', '/runners/all', (c) => this.#allRunners(c));
    this.route('GET', '/groups/:id/runners', (c) => this.#groupRunners(c));
  }

  static async start(options: FakeGitlabOptions = {}): Promise<FakeGitlab> {
    return new FakeGitlab(options).listen();
  }

  // ---- model ----

  addProject(input: GitlabProjectInput): void {
    if (this.#projects.has(input.id)) throw new Error(`project ${input.id} exists`);
    const parts = input.path_with_namespace.split('/');
    if (parts.length < 2) throw new Error('path_with_namespace needs a namespace');
    const namespace = input.namespace ?? parts.slice(0, -1).join('/');
    for (const g of parentPaths(namespace)) this.#ensureGroup(g);
    this.#projects.set(input.id, {
      input: { ...input },
      namespace,
      pipelines: new Map(),
      jobPipeline: new Map(),
      jobs: new Map(),
      mergeRequests: new Map(),
      environments: new Map(),
      deployments: new Map(),
    });
  }

  /** Gives a group an explicit id (before any project creates it) or returns its id. */
  addGroup(fullPath: string, id?: number): number {
    const existing = this.#groups.get(fullPath);
    if (existing !== undefined) {
      if (id !== undefined && id !== existing)
        throw new Error(`group ${fullPath} already has id ${existing}`);
      return existing;
    }
    for (const g of parentPaths(fullPath).slice(0, -1)) this.#ensureGroup(g);
    const gid = id ?? this.#nextGroupId++;
    this.#groups.set(fullPath, gid);
    return gid;
  }

  /** The numeric id of a group known from a project path (or addGroup). */
  groupId(fullPath: string): number {
    const id = this.#groups.get(fullPath);
    if (id === undefined) throw new Error(`unknown group ${fullPath}`);
    return id;
  }

  addPipeline(projectId: number, input: GitlabPipelineInput): void {
    const p = this.#project(projectId);
    if (p.pipelines.has(input.id)) throw new Error(`pipeline ${input.id} exists`);
    this.#checkTimes(input);
    p.pipelines.set(input.id, { ...input });
  }

  updatePipeline(projectId: number, id: number, changes: Partial<Omit<GitlabPipelineInput, 'id'>>): void {
    const p = this.#project(projectId);
    const old = p.pipelines.get(id);
    if (old === undefined) throw new Error(`no pipeline ${id}`);
    const next = { ...old, ...changes, id };
    this.#checkTimes(next);
    p.pipelines.set(id, next);
  }

  addJob(projectId: number, pipelineId: number, input: GitlabJobInput): void {
    const p = this.#project(projectId);
    if (!p.pipelines.has(pipelineId)) throw new Error(`no pipeline ${pipelineId}`);
    if (p.jobs.has(input.id)) throw new Error(`job ${input.id} exists`);
    this.#checkTimes(input);
    p.jobs.set(input.id, { ...input });
    p.jobPipeline.set(input.id, pipelineId);
  }

  updateJob(projectId: number, jobId: number, changes: Partial<Omit<GitlabJobInput, 'id'>>): void {
    const p = this.#project(projectId);
    const old = p.jobs.get(jobId);
    if (old === undefined) throw new Error(`no job ${jobId}`);
    const next = { ...old, ...changes, id: jobId };
    this.#checkTimes(next);
    p.jobs.set(jobId, next);
  }

  addMergeRequest(projectId: number, input: GitlabMergeRequestInput): void {
    const p = this.#project(projectId);
    this.#checkTimes(input);
    p.mergeRequests.set(input.id, { ...input });
  }

  updateMergeRequest(
    projectId: number,
    id: number,
    changes: Partial<Omit<GitlabMergeRequestInput, 'id'>>,
  ): void {
    const p = this.#project(projectId);
    const old = p.mergeRequests.get(id);
    if (old === undefined) throw new Error(`no merge request ${id}`);
    p.mergeRequests.set(id, { ...old, ...changes, id });
  }

  addEnvironment(projectId: number, input: GitlabEnvironmentInput): void {
    const p = this.#project(projectId);
    this.#checkTimes(input);
    p.environments.set(input.id, { ...input });
  }

  addDeployment(projectId: number, input: GitlabDeploymentInput): void {
    const p = this.#project(projectId);
    this.#checkTimes(input);
    p.deployments.set(input.id, { ...input });
  }

  updateDeployment(projectId: number, id: number, changes: Partial<Omit<GitlabDeploymentInput, 'id'>>): void {
    const p = this.#project(projectId);
    const old = p.deployments.get(id);
    if (old === undefined) throw new Error(`no deployment ${id}`);
    const next = { ...old, ...changes, id };
    this.#checkTimes(next);
    p.deployments.set(id, next);
  }

  addRunner(input: GitlabRunnerInput): void {
    for (const g of input.groups ?? []) this.addGroup(g);
    this.#runners.set(input.id, { ...input });
  }

  updateRunner(id: number, changes: Partial<Omit<GitlabRunnerInput, 'id'>>): void {
    const old = this.#runners.get(id);
    if (old === undefined) throw new Error(`no runner ${id}`);
    this.#runners.set(id, { ...old, ...changes, id });
  }

  /** Number of jobs the runner is running; shown as job_execution_status 'active' (> 0) or 'idle'. */
  setRunnerJobs(runnerId: number, runningJobCount: number): void {
    this.#runnerJobs.set(runnerId, runningJobCount);
  }

  // ---- helpers ----

  #ensureGroup(path: string): void {
    if (!this.#groups.has(path)) this.#groups.set(path, this.#nextGroupId++);
  }

  #checkTimes(input: object): void {
    for (const [k, v] of Object.entries(input)) {
      if (k.endsWith('_at') && v !== null && v !== undefined) toMs(v as TimeInput);
    }
  }

  #project(id: number): Project {
    const p = this.#projects.get(id);
    if (p === undefined) throw new Error(`no project ${id}`);
    return p;
  }

  #resolveProject(ref: string): Project {
    if (/^\d+$/.test(ref)) {
      const p = this.#projects.get(Number(ref));
      if (p !== undefined) return p;
    } else {
      for (const p of this.#projects.values()) {
        if (p.input.path_with_namespace.toLowerCase() === ref.toLowerCase()) return p;
      }
    }
    throw new HttpError(404, { message: '404 Project Not Found' });
  }

  #resolveGroup(ref: string): string {
    for (const [path, id] of this.#groups) {
      if (/^\d+$/.test(ref) ? id === Number(ref) : path.toLowerCase() === ref.toLowerCase()) return path;
    }
    throw new HttpError(404, { message: '404 Group Not Found' });
  }

  #time(query: URLSearchParams, key: string): number | undefined {
    const v = param(query, key);
    if (v === undefined) return undefined;
    const ms = Date.parse(v.replace(' ', '+'));
    if (!Number.isFinite(ms)) throw badRequest(`${key} is invalid`);
    return ms;
  }

  #oneOf(query: URLSearchParams, key: string, allowed: readonly string[]): string | undefined {
    const v = param(query, key);
    if (v !== undefined && !allowed.includes(v)) throw badRequest(`${key} does not have a valid value`);
    return v;
  }

  #bool(query: URLSearchParams, key: string): boolean | undefined {
    const v = param(query, key);
    if (v === undefined) return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw badRequest(`${key} is invalid`);
  }

  /** updated_after / updated_before, inclusive like GitLab unless exclusiveUpdatedBounds. */
  #updatedFilter(query: URLSearchParams): (ms: number) => boolean {
    const after = this.#time(query, 'updated_after');
    const before = this.#time(query, 'updated_before');
    const strict = this.exclusiveUpdatedBounds;
    return (ms) =>
      (after === undefined || (strict ? ms > after : ms >= after)) &&
      (before === undefined || (strict ? ms < before : ms <= before));
  }

  #webUrl(p: Project, suffix = ''): string {
    return `${this.url}${this.#root}/${p.input.path_with_namespace}${suffix}`;
  }

  /** GitLab offset pagination with X-* headers and a Link header. */
  #paginate<T>(ctx: RouteContext, items: T[]): Reply {
    const pageRaw = param(ctx.query, 'page');
    const perPageRaw = param(ctx.query, 'per_page');
    if (pageRaw !== undefined && !/^-?\d+$/.test(pageRaw)) throw badRequest('page is invalid');
    if (perPageRaw !== undefined && !/^-?\d+$/.test(perPageRaw)) throw badRequest('per_page is invalid');
    if (perPageRaw !== undefined && Number(perPageRaw) === 0)
      throw badRequest('per_page has a value not allowed');
    const page = Math.max(1, pageRaw === undefined ? 1 : Number(pageRaw));
    let perPage = perPageRaw === undefined ? 20 : Number(perPageRaw);
    if (perPage < 1) perPage = 20;
    perPage = Math.min(100, perPage);
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const outOfRange = page > totalPages;
    const nextPage = !outOfRange && page < totalPages ? page + 1 : null;
    const prevPage = !outOfRange && page > 1 ? page - 1 : null;
    const withCounts = total <= this.countLimit;

    const base: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(ctx.params)) base.push([k, v]);
    for (const [k, v] of ctx.query)
      if (k !== 'page' && k !== 'per_page' && !(k in ctx.params)) base.push([k, v]);
    const href = (p: number): string => {
      const pairs: Array<[string, string]> = [...base, ['page', String(p)], ['per_page', String(perPage)]];
      pairs.sort((a, b) => compareStrings(a[0], b[0]));
      const search = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
      return `${this.url}${ctx.path}?${search}`;
    };
    const links: string[] = [];
    if (prevPage !== null) links.push(`<${href(prevPage)}>; rel="prev"`);
    if (nextPage !== null) links.push(`<${href(nextPage)}>; rel="next"`);
    links.push(`<${href(1)}>; rel="first"`);
    if (withCounts) links.push(`<${href(totalPages)}>; rel="last"`);

    const headers: Record<string, string> = {
      'x-page': String(page),
      'x-per-page': String(perPage),
      'x-next-page': nextPage === null ? '' : String(nextPage),
      'x-prev-page': prevPage === null ? '' : String(prevPage),
      ...(this.noLinkHeader ? {} : { link: links.join(', ') }),
    };
    if (withCounts) {
      headers['x-total'] = String(total);
      headers['x-total-pages'] = String(totalPages);
    }
    return { status: 200, body: items.slice((page - 1) * perPage, page * perPage), headers };
  }

  // ---- renderers ----

  #pipelineBasic(p: Project, pl: GitlabPipelineInput): Record<string, unknown> {
    return {
      id: pl.id,
      iid: pl.iid ?? pl.id,
      project_id: p.input.id,
      sha: pl.sha ?? fakeSha(`pipeline-${pl.id}`),
      ref: pl.ref,
      status: pl.status,
      source: pl.source ?? 'push',
      created_at: isoMillis(toMs(pl.created_at)),
      updated_at: isoMillis(toMs(pl.updated_at)),
      web_url: this.#webUrl(p, `/-/pipelines/${pl.id}`),
      name: pl.name ?? null,
    };
  }

  #pipelineDetail(p: Project, pl: GitlabPipelineInput): Record<string, unknown> {
    const created = toMs(pl.created_at);
    const started = optionalMs(pl.started_at);
    const finished = optionalMs(pl.finished_at);
    const d = DETAILED[pl.status] ?? { text: pl.status, label: pl.status };
    const detailsPath = `/${p.input.path_with_namespace}/-/pipelines/${pl.id}`;
    return {
      ...this.#pipelineBasic(p, pl),
      before_sha: '0000000000000000000000000000000000000000',
      tag: pl.tag ?? false,
      yaml_errors: null,
      user: { ...USER, web_url: `${this.url}${this.#root}/root` },
      started_at: isoMillis(started),
      finished_at: isoMillis(finished),
      committed_at: null,
      duration: pl.duration !== undefined ? pl.duration : seconds(started, finished, true),
      queued_duration:
        pl.queued_duration !== undefined ? pl.queued_duration : seconds(created, started, true),
      coverage: null,
      detailed_status: {
        icon: `status_${pl.status}`,
        text: d.text,
        label: d.label,
        group: pl.status,
        tooltip: d.label,
        has_details: true,
        details_path: detailsPath,
        illustration: null,
        favicon: `/assets/ci_favicons/favicon_status_${pl.status}.png`,
      },
      archived: false,
    };
  }

  #runnerEntity(r: GitlabRunnerInput): Record<string, unknown> {
    const paused = r.paused ?? r.active === false;
    return {
      id: r.id,
      description: r.description,
      ip_address: null,
      active: !paused,
      paused,
      is_shared: r.runner_type === 'instance_type',
      runner_type: r.runner_type,
      name: r.name ?? 'gitlab-runner',
      online: r.status === 'online',
      status: r.status,
      job_execution_status: (this.#runnerJobs.get(r.id) ?? 0) > 0 ? 'active' : 'idle',
    };
  }

  #jobEntity(p: Project, job: GitlabJobInput): Record<string, unknown> {
    const pipelineId = p.jobPipeline.get(job.id)!;
    const pl = p.pipelines.get(pipelineId)!;
    const created = toMs(job.created_at);
    const started = optionalMs(job.started_at);
    const finished = optionalMs(job.finished_at);
    const sha = pl.sha ?? fakeSha(`pipeline-${pl.id}`);
    let runner: Record<string, unknown> | null = null;
    const registered = job.runner_id == null ? undefined : this.#runners.get(job.runner_id);
    if (registered !== undefined) runner = this.#runnerEntity(registered);
    else if (job.runner_type != null) {
      runner = this.#runnerEntity({
        id: job.runner_id ?? 900_000 + RUNNER_TYPES.indexOf(job.runner_type),
        description: `fake ${job.runner_type.replace('_type', '')} runner`,
        runner_type: job.runner_type,
        status: 'online',
      });
    }
    const entity: Record<string, unknown> = {
      id: job.id,
      status: job.status,
      stage: job.stage,
      name: job.name,
      ref: job.ref ?? pl.ref,
      tag: pl.tag ?? false,
      coverage: null,
      allow_failure: job.allow_failure ?? false,
      created_at: isoMillis(created),
      started_at: isoMillis(started),
      finished_at: isoMillis(finished),
      erased_at: null,
      duration: job.duration !== undefined ? job.duration : seconds(started, finished, false),
      queued_duration:
        job.queued_duration !== undefined ? job.queued_duration : seconds(created, started, false),
      user: { ...USER, web_url: `${this.url}${this.#root}/root` },
      commit: {
        id: sha,
        short_id: sha.slice(0, 8),
        title: 'Commit',
        created_at: isoMillis(toMs(pl.created_at)),
        web_url: this.#webUrl(p, `/-/commit/${sha}`),
      },
      pipeline: this.#pipelineBasic(p, pl),
      web_url: this.#webUrl(p, `/-/jobs/${job.id}`),
      project: { ci_job_token_scope_enabled: false },
      artifacts: [],
      runner,
      runner_manager: null,
      artifacts_expire_at: null,
      archived: false,
      tag_list: job.tag_list ?? [],
    };
    if (job.status === 'failed') entity.failure_reason = job.failure_reason ?? 'script_failure';
    return entity;
  }

  #projectEntity(p: Project): Record<string, unknown> {
    const path = p.input.path_with_namespace;
    const name = projectName(p);
    const created = p.input.created_at === undefined ? Date.UTC(2026, 0, 1) : toMs(p.input.created_at);
    const nsPath = p.namespace;
    return {
      id: p.input.id,
      description: null,
      name,
      name_with_namespace: [...nsPath.split('/'), name].join(' / '),
      path: path.split('/').at(-1),
      path_with_namespace: path,
      created_at: isoMillis(created),
      default_branch: p.input.default_branch ?? 'main',
      tag_list: [],
      topics: [],
      ssh_url_to_repo: `git@127.0.0.1:${path}.git`,
      http_url_to_repo: `${this.url}/${path}.git`,
      web_url: `${this.url}${this.#root}/${path}`,
      avatar_url: null,
      star_count: 0,
      forks_count: 0,
      last_activity_at: isoMillis(created),
      namespace: {
        id: this.#groups.get(nsPath) ?? null,
        name: nsPath.split('/').at(-1),
        path: nsPath.split('/').at(-1),
        kind: 'group',
        full_path: nsPath,
        parent_id: nsPath.includes('/')
          ? (this.#groups.get(nsPath.split('/').slice(0, -1).join('/')) ?? null)
          : null,
        avatar_url: null,
        web_url: `${this.url}${this.#root}/groups/${nsPath}`,
      },
      archived: p.input.archived ?? false,
      visibility: 'private',
    };
  }

  // ---- endpoints ----

  #listPipelines(ctx: RouteContext): Reply {
    const p = this.#resolveProject(ctx.params.id!);
    const q = ctx.query;
    const status = this.#oneOf(q, 'status', PIPELINE_STATUSES);
    const orderBy = this.#oneOf(q, 'order_by', ['id', 'status', 'ref', 'updated_at', 'user_id']) ?? 'id';
    const sort = this.#oneOf(q, 'sort', ['asc', 'desc']) ?? 'desc';
    const updated = this.#updatedFilter(q);
    const createdAfter = this.#time(q, 'created_after');
    const createdBefore = this.#time(q, 'created_before');
    const ref = param(q, 'ref');
    const source = param(q, 'source');
    const sha = param(q, 'sha');
    const name = param(q, 'name');
    const scope = this.#oneOf(q, 'scope', ['running', 'pending', 'finished', 'branches', 'tags']);
    const finished = ['success', 'failed', 'canceled', 'skipped'];
    const list = [...p.pipelines.values()].filter((pl) => {
      const created = toMs(pl.created_at);
      return (
        (status === undefined || pl.status === status) &&
        (ref === undefined || pl.ref === ref) &&
        (source === undefined || (pl.source ?? 'push') === source) &&
        (sha === undefined || (pl.sha ?? fakeSha(`pipeline-${pl.id}`)) === sha) &&
        (name === undefined || pl.name === name) &&
        updated(toMs(pl.updated_at)) &&
        (createdAfter === undefined || created >= createdAfter) &&
        (createdBefore === undefined || created <= createdBefore) &&
        (scope === undefined ||
          (scope === 'running' && pl.status === 'running') ||
          (scope === 'pending' && pl.status === 'pending') ||
          (scope === 'finished' && finished.includes(pl.status)) ||
          (scope === 'tags' && pl.tag === true) ||
          (scope === 'branches' && pl.tag !== true))
      );
    });
    const dir = sort === 'asc' ? 1 : -1;
    list.sort((a, b) => {
      let c = 0;
      if (orderBy === 'updated_at') c = toMs(a.updated_at) - toMs(b.updated_at);
      else if (orderBy === 'status') c = compareStrings(a.status, b.status);
      else if (orderBy === 'ref') c = compareStrings(a.ref, b.ref);
      return (c !== 0 ? c : a.id - b.id) * dir;
    });
    return this.#paginate(
      ctx,
      list.map((pl) => this.#pipelineBasic(p, pl)),
    );
  }

  #getPipeline(ctx: RouteContext): Reply {
    const p = this.#resolveProject(ctx.params.id!);
    const id = ctx.params.pipeline_id!;
    const pl = /^\d+$/.test(id) ? p.pipelines.get(Number(id)) : undefined;
    if (pl === undefined) throw new HttpError(404, { message: '404 Not found' });
    return { status: 200, body: this.#pipelineDetail(p, pl) };
  }

  #listJobs(ctx: RouteContext): Reply {
    const p = this.#resolveProject(ctx.params.id!);
    const id = ctx.params.pipeline_id!;
    const pipelineId = /^\d+$/.test(id) ? Number(id) : Number.NaN;
    if (!p.pipelines.has(pipelineId)) throw new HttpError(404, { message: '404 Not found' });
    const includeRetried = this.#bool(ctx.query, 'include_retried') ?? false;
    const scopes = listParam(ctx.query, 'scope');
    for (const s of scopes) {
      if (!PIPELINE_STATUSES.includes(s)) throw badRequest('scope does not have a valid value');
    }
    const jobs = [...p.jobs.values()]
      .filter(
        (j) =>
          p.jobPipeline.get(j.id) === pipelineId &&
          (includeRetried || j.retried !== true) &&
          (scopes.length === 0 || scopes.includes(j.status)),
      )
      .sort((a, b) => b.id - a.id);
    return this.#paginate(
      ctx,
      jobs.map((j) => this.#jobEntity(p, j)),
    );
  }

  #groupProjects(ctx: RouteContext): Reply {
    const group = this.#resolveGroup(ctx.params.id!);
    const q = ctx.query;
    const subgroups = this.#bool(q, 'include_subgroups') ?? false;
    const archived = this.#bool(q, 'archived');
    const orderBy = this.#oneOf(q, 'order_by', [
      'id',
      'name',
      'path',
      'created_at',
      'updated_at',
      'last_activity_at',
    ]);
    const sort = this.#oneOf(q, 'sort', ['asc', 'desc']) ?? 'desc';
    const list = [...this.#projects.values()].filter(
      (p) =>
        (p.namespace === group || (subgroups && p.namespace.startsWith(`${group}/`))) &&
        (archived === undefined || (p.input.archived ?? false) === archived),
    );
    const dir = sort === 'asc' ? 1 : -1;
    list.sort((a, b) => {
      let c = 0;
      if (orderBy === 'name') c = compareStrings(projectName(a), projectName(b));
      else if (orderBy === 'path')
        c = compareStrings(a.input.path_with_namespace, b.input.path_with_namespace);
      else if (orderBy !== 'id') {
        const ca = a.input.created_at === undefined ? 0 : toMs(a.input.created_at);
        const cb = b.input.created_at === undefined ? 0 : toMs(b.input.created_at);
        c = ca - cb;
      }
      return (c !== 0 ? c : a.input.id - b.input.id) * dir;
    });
    return this.#paginate(
      ctx,
      list.map((p) => this.#projectEntity(p)),
    );
  }

  #listMergeRequests(ctx: RouteContext): Reply {
    const p = this.#resolveProject(ctx.params.id!);
    const q = ctx.query;
    const state = this.#oneOf(q, 'state', ['opened', 'closed', 'locked', 'merged', 'all']) ?? 'all';
    const orderBy =
      this.#oneOf(q, 'order_by', [
        'created_at',
        'updated_at',
        'merged_at',
        'title',
        'label_priority',
        'priority',
      ]) ?? 'created_at';
    const sort = this.#oneOf(q, 'sort', ['asc', 'desc']) ?? 'desc';
    const updated = this.#updatedFilter(q);
    const createdAfter = this.#time(q, 'created_after');
    const createdBefore = this.#time(q, 'created_before');
    const target = param(q, 'target_branch');
    const sourceBranch = param(q, 'source_branch');
    const list = [...p.mergeRequests.values()].filter((mr) => {
      const created = toMs(mr.created_at);
      return (
        (state === 'all' || mr.state === state) &&
        updated(toMs(mr.updated_at)) &&
        (createdAfter === undefined || created >= createdAfter) &&
        (createdBefore === undefined || created <= createdBefore) &&
        (target === undefined || mr.target_branch === target) &&
        (sourceBranch === undefined || mr.source_branch === sourceBranch)
      );
    });
    const dir = sort === 'asc' ? 1 : -1;
    list.sort((a, b) => {
      let c: number;
      if (orderBy === 'updated_at') c = toMs(a.updated_at) - toMs(b.updated_at);
      else if (orderBy === 'merged_at') c = compareNumbers(optionalMs(a.merged_at), optionalMs(b.merged_at));
      else if (orderBy === 'title') c = compareStrings(a.title ?? '', b.title ?? '');
      else c = toMs(a.created_at) - toMs(b.created_at);
      return (c !== 0 ? c : a.id - b.id) * dir;
    });
    return this.#paginate(
      ctx,
      list.map((mr) => {
        const sha = mr.sha ?? fakeSha(`mr-${mr.id}`);
        return {
          id: mr.id,
          iid: mr.iid,
          project_id: p.input.id,
          title: mr.title ?? `Merge request !${mr.iid}`,
          description: '',
          state: mr.state,
          created_at: isoMillis(toMs(mr.created_at)),
          updated_at: isoMillis(toMs(mr.updated_at)),
          merged_by: mr.state === 'merged' ? { ...USER, web_url: `${this.url}${this.#root}/root` } : null,
          merged_at: isoMillis(optionalMs(mr.merged_at)),
          closed_by: null,
          closed_at: isoMillis(optionalMs(mr.closed_at)),
          target_branch: mr.target_branch,
          source_branch: mr.source_branch,
          author: { ...USER, web_url: `${this.url}${this.#root}/root` },
          source_project_id: p.input.id,
          target_project_id: p.input.id,
          draft: false,
          work_in_progress: false,
          merge_status: mr.state === 'opened' ? 'can_be_merged' : 'merged',
          detailed_merge_status: mr.state === 'opened' ? 'mergeable' : 'not_open',
          sha,
          merge_commit_sha: mr.merge_commit_sha !== undefined ? mr.merge_commit_sha : null,
          squash_commit_sha: null,
          reference: `!${mr.iid}`,
          web_url: this.#webUrl(p, `/-/merge_requests/${mr.iid}`),
        };
      }),
    );
  }

  #environmentEntity(e: GitlabEnvironmentInput): Record<string, unknown> {
    const created = e.created_at === undefined ? Date.UTC(2026, 0, 1) : toMs(e.created_at);
    return {
      id: e.id,
      name: e.name,
      slug: e.name.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
      external_url: e.external_url ?? null,
      created_at: isoMillis(created),
      updated_at: isoMillis(e.updated_at === undefined ? created : toMs(e.updated_at)),
      tier: e.tier ?? guessTier(e.name),
      state: e.state ?? 'available',
    };
  }

  #listEnvironments(ctx: RouteContext): Reply {
    const p = this.#resolveProject(ctx.params.id!);
    const q = ctx.query;
    const name = param(q, 'name');
    const search = param(q, 'search');
    const states = this.#oneOf(q, 'states', ['available', 'stopping', 'stopped']);
    const list = [...p.environments.values()]
      .filter(
        (e) =>
          (name === undefined || e.name === name) &&
          (search === undefined || e.name.includes(search)) &&
          (states === undefined || (e.state ?? 'available') === states),
      )
      .sort((a, b) => a.id - b.id);
    return this.#paginate(
      ctx,
      list.map((e) => this.#environmentEntity(e)),
    );
  }

  #listDeployments(ctx: RouteContext): Reply {
    const p = this.#resolveProject(ctx.params.id!);
    const q = ctx.query;
    const status = this.#oneOf(q, 'status', DEPLOYMENT_STATUSES);
    const orderBy =
      this.#oneOf(q, 'order_by', ['id', 'iid', 'created_at', 'updated_at', 'finished_at', 'ref']) ?? 'id';
    const sort = this.#oneOf(q, 'sort', ['asc', 'desc']) ?? 'asc';
    const environment = param(q, 'environment');
    const byUpdated = param(q, 'updated_after') !== undefined || param(q, 'updated_before') !== undefined;
    const finishedAfter = this.#time(q, 'finished_after');
    const finishedBefore = this.#time(q, 'finished_before');
    const byFinished = finishedAfter !== undefined || finishedBefore !== undefined;
    const fail = (m: string): HttpError => new HttpError(400, { message: `400 Bad request - ${m}` });
    if (byUpdated && byFinished)
      throw fail('Both `updated_at` filter and `finished_at` filter can not be specified');
    if (byFinished !== (orderBy === 'finished_at'))
      throw fail('`finished_at` filter and `finished_at` sorting must be paired');
    if (byFinished && status !== 'success')
      throw fail('`finished_at` filter must be combined with `success` status filter.');
    const updated = this.#updatedFilter(q);
    const list = [...p.deployments.values()].filter((d) => {
      const fin = optionalMs(d.finished_at);
      return (
        (status === undefined || d.status === status) &&
        (environment === undefined || d.environment.name === environment) &&
        updated(toMs(d.updated_at)) &&
        (finishedAfter === undefined || (fin !== null && fin >= finishedAfter)) &&
        (finishedBefore === undefined || (fin !== null && fin <= finishedBefore))
      );
    });
    // GitLab forces updated_at ordering when filtering by updated_at, and sorts by id for created_at/iid.
    const effectiveOrder = byUpdated ? 'updated_at' : orderBy;
    const dir = sort === 'asc' ? 1 : -1;
    list.sort((a, b) => {
      let c = 0;
      if (effectiveOrder === 'updated_at') c = toMs(a.updated_at) - toMs(b.updated_at);
      else if (effectiveOrder === 'finished_at')
        c = compareNumbers(optionalMs(a.finished_at), optionalMs(b.finished_at));
      else if (effectiveOrder === 'ref') c = compareStrings(a.ref ?? 'main', b.ref ?? 'main');
      return (c !== 0 ? c : a.id - b.id) * dir;
    });
    return this.#paginate(
      ctx,
      list.map((d) => {
        const env = p.environments.get(d.environment.id);
        let deployable: Record<string, unknown> | null = d.deployable ?? null;
        if (d.deployable_job_id !== undefined) {
          const job = p.jobs.get(d.deployable_job_id);
          if (job === undefined) throw new Error(`deployment ${d.id}: no job ${d.deployable_job_id}`);
          deployable = this.#jobEntity(p, job);
        }
        const envEntity =
          env === undefined ? this.#environmentEntity(d.environment) : this.#environmentEntity(env);
        return {
          id: d.id,
          iid: d.iid ?? d.id,
          ref: d.ref ?? p.input.default_branch ?? 'main',
          sha: d.sha ?? fakeSha(`deployment-${d.id}`),
          created_at: isoMillis(toMs(d.created_at)),
          updated_at: isoMillis(toMs(d.updated_at)),
          finished_at: isoMillis(optionalMs(d.finished_at)),
          status: d.status,
          user: { ...USER, web_url: `${this.url}${this.#root}/root` },
          environment: {
            id: envEntity.id,
            name: envEntity.name,
            slug: envEntity.slug,
            external_url: envEntity.external_url,
            created_at: envEntity.created_at,
            updated_at: envEntity.updated_at,
          },
          deployable,
        };
      }),
    );
  }

  #filterRunners(q: URLSearchParams, list: GitlabRunnerInput[]): Array<Record<string, unknown>> {
    const type = this.#oneOf(q, 'type', RUNNER_TYPES);
    const status = this.#oneOf(q, 'status', RUNNER_STATUSES);
    const paused = this.#bool(q, 'paused');
    const tags = (param(q, 'tag_list') ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    return list
      .filter(
        (r) =>
          (type === undefined || r.runner_type === type) &&
          (status === undefined || r.status === status) &&
          (paused === undefined || (r.paused ?? r.active === false) === paused) &&
          tags.every((t) => (r.tag_list ?? []).includes(t)),
      )
      .sort((a, b) => a.id - b.id)
      .map((r) => this.#runnerEntity(r));
  }

  #allRunners(ctx: RouteContext): Reply {
    return this.#paginate(ctx, this.#filterRunners(ctx.query, [...this.#runners.values()]));
  }

  /** Like GitLab: group runners of the group and its ancestors, plus instance runners. */
  #groupRunners(ctx: RouteContext): Reply {
    const group = this.#resolveGroup(ctx.params.id!);
    const ancestors = parentPaths(group);
    const list = [...this.#runners.values()].filter(
      (r) =>
        r.runner_type === 'instance_type' ||
        (r.runner_type === 'group_type' && (r.groups ?? []).some((g) => ancestors.includes(g))),
    );
    return this.#paginate(ctx, this.#filterRunners(ctx.query, list));
  }
}
