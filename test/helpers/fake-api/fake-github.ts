/**
 * A fake GitHub REST API (api.github.com style, or GHES under a prefix such as /api/v3) over real HTTP
 * with an in-memory model that tests mutate. Serves only the Actions endpoints the scrapers read.
 */
import {
  type Dialect,
  FakeHttpServer,
  type FakeServerOptions,
  fakeSha,
  HttpError,
  isoSeconds,
  type RateLimitState,
  type Reply,
  type RouteContext,
  stableId,
  type TimeInput,
  toMs,
} from './server.js';

export type GithubRunStatus = 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
export type GithubConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required'
  | 'stale'
  | 'startup_failure';

const RUN_STATUSES: readonly string[] = [
  'queued',
  'in_progress',
  'completed',
  'waiting',
  'requested',
  'pending',
];
const CONCLUSIONS: readonly string[] = [
  'success',
  'failure',
  'neutral',
  'cancelled',
  'skipped',
  'timed_out',
  'action_required',
  'stale',
  'startup_failure',
];
const READ_ONLY_LABELS = new Set(['self-hosted', 'linux', 'windows', 'macos', 'x64', 'arm64', 'arm']);
const DOCS = 'https://docs.github.com/rest';

export interface GithubRepoInput {
  id: number;
  /** Organization login. */
  owner: string;
  name: string;
  default_branch?: string;
  archived?: boolean;
  private?: boolean;
  created_at?: TimeInput;
}

export interface GithubRunInput {
  id: number;
  name: string;
  /** e.g. `.github/workflows/ci.yml` */
  path: string;
  run_attempt?: number;
  event?: string;
  head_branch: string;
  head_sha?: string;
  status: GithubRunStatus;
  conclusion?: GithubConclusion | string | null;
  created_at: TimeInput;
  updated_at: TimeInput;
  /** Default: created_at. */
  run_started_at?: TimeInput;
  run_number?: number;
  /** Default: one id per distinct path in the repository. */
  workflow_id?: number;
  display_title?: string;
}

export interface GithubJobInput {
  id: number;
  run_attempt?: number;
  name: string;
  /** Default: the run's name. */
  workflow_name?: string;
  /** Default: the run's head_branch. */
  head_branch?: string;
  status: GithubRunStatus;
  conclusion?: GithubConclusion | string | null;
  created_at: TimeInput;
  /** Default: created_at (GitHub never sends null). */
  started_at?: TimeInput;
  completed_at?: TimeInput | null;
  labels?: string[];
  runner_name?: string | null;
  runner_group_name?: string | null;
  /** Default: the id of a registered runner with runner_name, else a stable id from the name, else null. */
  runner_id?: number | null;
  /** Default: 0 for 'GitHub Actions', 1 for 'Default', a stable id for other names, null without a name. */
  runner_group_id?: number | null;
}

export interface GithubRunnerInput {
  id: number;
  name: string;
  os?: string;
  status: 'online' | 'offline';
  busy: boolean;
  /** Default ['self-hosted', 'Linux', 'X64']. */
  labels?: string[];
  ephemeral?: boolean;
}

export type GithubRunnerScope = { org: string } | { repo: string };

export interface FakeGithubOptions extends FakeServerOptions {
  /** Path prefix, '' like api.github.com (default) or '/api/v3' like GitHub Enterprise Server. */
  prefix?: string;
  /** Link headers of repository endpoints point at /repositories/:id/... as api.github.com does for
   * many endpoints (both forms are served). Default false: links repeat the requested path. */
  repositoryIdLinks?: boolean;
  /** Workflow-run searches (actor, branch, check_suite_id, created, event, head_sha, status) return at
   * most this many results; default 1000 like GitHub. */
  searchCap?: number;
  /** At most this many items per page whatever per_page asks (a proxy or an older GitHub
   * Enterprise Server may serve fewer); default 100 like GitHub. */
  maxPerPage?: number;
  /** The unfiltered runs list refuses a page past this many runs (page × per_page) with 422
   * "pagination is limited for this resource"; default 40,000, as github.com does
   * (apache/devlake#8842). */
  runsPaginationLimit?: number;
}

interface Repo {
  input: GithubRepoInput;
  runs: Map<number, GithubRunInput>;
  jobs: Map<number, { runId: number; input: GithubJobInput }>;
  runners: Map<number, GithubRunnerInput>;
  workflowIds: Map<string, number>;
}

interface Org {
  login: string;
  runners: Map<number, GithubRunnerInput>;
}

/** ms truncated to whole seconds, as GitHub stores and shows timestamps. */
function ghMs(t: TimeInput): number {
  return Math.floor(toMs(t) / 1000) * 1000;
}

function validationFailed(message: string): HttpError {
  return new HttpError(422, {
    message: 'Validation Failed',
    errors: [message],
    documentation_url: DOCS,
    status: '422',
  });
}

/** GitHub search date syntax for `created`: `>=X`, `>X`, `<=X`, `<X`, `A..B` (with `*`), or a plain date. */
export function parseDateRange(value: string): (ms: number) => boolean {
  const span = (s: string): { lo: number; hi: number } => {
    const v = s.trim().replace(' ', '+');
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      const lo = Date.parse(`${v}T00:00:00Z`);
      if (!Number.isFinite(lo)) throw validationFailed(`invalid date ${s}`);
      return { lo, hi: lo + 86_400_000 };
    }
    const t = Date.parse(v);
    if (!Number.isFinite(t)) throw validationFailed(`invalid date ${s}`);
    return { lo: t, hi: t + 1000 };
  };
  const v = value.trim();
  if (v.includes('..')) {
    const [a = '*', b = '*'] = v.split('..');
    const lo = a.trim() === '*' ? null : span(a).lo;
    const hi = b.trim() === '*' ? null : span(b).hi;
    return (ms) => (lo === null || ms >= lo) && (hi === null || ms < hi);
  }
  const m = /^(>=|<=|>|<)?(.*)$/.exec(v)!;
  const { lo, hi } = span(m[2]!);
  switch (m[1]) {
    case '>=':
      return (ms) => ms >= lo;
    case '>':
      return (ms) => ms >= hi;
    case '<=':
      return (ms) => ms < hi;
    case '<':
      return (ms) => ms < lo;
    default:
      return (ms) => ms >= lo && ms < hi;
  }
}

function makeDialect(prefix: string): Dialect {
  return {
    prefix,
    etags: true,
    isAuthorized(ctx, token) {
      const auth = ctx.headers.authorization;
      if (auth === undefined) return false;
      const m = /^(token|bearer)\s+(.+)$/i.exec(auth.trim());
      return m !== null && m[2] === token;
    },
    unauthorized: (ctx) => ({
      status: 401,
      body: {
        message:
          ctx !== null && ctx.headers.authorization === undefined
            ? 'Requires authentication'
            : 'Bad credentials',
        documentation_url: DOCS,
        status: '401',
      },
    }),
    notFound: () => ({ status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } }),
    serverError: () => ({ status: 500, body: { message: 'Server Error' } }),
    tooManyRequests: () => ({
      status: 429,
      body: {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
        documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
        status: '429',
      },
    }),
    budgetExceeded: () => ({
      status: 403,
      body: {
        message:
          'API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.',
        documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`,
        status: '403',
      },
    }),
    rateLimitHeaders: (s: RateLimitState) => ({
      'x-ratelimit-limit': String(s.limit),
      'x-ratelimit-remaining': String(s.remaining),
      'x-ratelimit-reset': String(s.reset),
      'x-ratelimit-used': String(s.used),
      'x-ratelimit-resource': 'core',
      'x-github-api-version-selected': '2022-11-28',
    }),
  };
}

/**
 * Fake GitHub REST API. Endpoints (GET only, under `prefix`):
 * /repos/:owner/:repo/actions/runs, /repos/:owner/:repo/actions/runs/:run_id/jobs,
 * /repos/:owner/:repo/actions/runs/:run_id/attempts/:attempt/jobs, /orgs/:org/repos,
 * /orgs/:org/actions/runners, /repos/:owner/:repo/actions/runners
 * (repository endpoints also as /repositories/:repo_id/...).
 */
export class FakeGithub extends FakeHttpServer {
  readonly #repos = new Map<string, Repo>();
  readonly #orgs = new Map<string, Org>();
  readonly prefix: string;
  readonly repositoryIdLinks: boolean;
  searchCap: number;
  maxPerPage: number;
  runsPaginationLimit: number;

  constructor(options: FakeGithubOptions = {}) {
    const prefix = (options.prefix ?? '').replace(/\/+$/, '');
    super(makeDialect(prefix), options);
    this.prefix = prefix;
    this.repositoryIdLinks = options.repositoryIdLinks ?? false;
    this.searchCap = options.searchCap ?? 1000;
    this.maxPerPage = options.maxPerPage ?? 100;
    this.runsPaginationLimit = options.runsPaginationLimit ?? 40_000;
    this.#repoRoute('/actions/runs', (c, r) => this.#listRuns(c, r));
    this.#repoRoute('/actions/runs/:run_id/jobs', (c, r) => this.#listJobs(c, r, null));
    this.#repoRoute('/actions/runs/:run_id/attempts/:attempt/jobs', (c, r) =>
      this.#listJobs(c, r, Number(c.params.attempt)),
    );
    this.#repoRoute('/actions/runners', (c, r) => this.#listRunners(c, r.runners));
    this.route('GET', '/orgs/:org/repos', (c) => this.#orgRepos(c));
    this.route('GET', '/orgs/:org/actions/runners', (c) =>
      this.#listRunners(c, this.#org(c.params.org!).runners),
    );
  }

  static async start(options: FakeGithubOptions = {}): Promise<FakeGithub> {
    return new FakeGithub(options).listen();
  }

  // ---- model ----

  addRepo(input: GithubRepoInput): void {
    const key = `${input.owner}/${input.name}`.toLowerCase();
    if (this.#repos.has(key)) throw new Error(`repo ${key} exists`);
    this.#ensureOrg(input.owner);
    this.#repos.set(key, {
      input: { ...input },
      runs: new Map(),
      jobs: new Map(),
      runners: new Map(),
      workflowIds: new Map(),
    });
  }

  addRun(fullName: string, input: GithubRunInput): void {
    const repo = this.#repo(fullName);
    if (repo.runs.has(input.id)) throw new Error(`run ${input.id} exists`);
    this.#checkTimes(input);
    repo.runs.set(input.id, { ...input });
    if (!repo.workflowIds.has(input.path)) {
      repo.workflowIds.set(input.path, stableId(`${repo.input.id}:${input.path}`, 90_000_000) + 10_000_000);
    }
  }

  updateRun(fullName: string, id: number, changes: Partial<Omit<GithubRunInput, 'id'>>): void {
    const repo = this.#repo(fullName);
    const old = repo.runs.get(id);
    if (old === undefined) throw new Error(`no run ${id}`);
    const next = { ...old, ...changes, id };
    this.#checkTimes(next);
    repo.runs.set(id, next);
  }

  addJob(fullName: string, runId: number, input: GithubJobInput): void {
    const repo = this.#repo(fullName);
    if (!repo.runs.has(runId)) throw new Error(`no run ${runId}`);
    if (repo.jobs.has(input.id)) throw new Error(`job ${input.id} exists`);
    this.#checkTimes(input);
    repo.jobs.set(input.id, { runId, input: { ...input } });
  }

  updateJob(fullName: string, jobId: number, changes: Partial<Omit<GithubJobInput, 'id'>>): void {
    const repo = this.#repo(fullName);
    const old = repo.jobs.get(jobId);
    if (old === undefined) throw new Error(`no job ${jobId}`);
    const next = { ...old.input, ...changes, id: jobId };
    this.#checkTimes(next);
    repo.jobs.set(jobId, { runId: old.runId, input: next });
  }

  addRunner(scope: GithubRunnerScope, input: GithubRunnerInput): void {
    const runners = 'org' in scope ? this.#ensureOrg(scope.org).runners : this.#repo(scope.repo).runners;
    runners.set(input.id, { ...input });
  }

  updateRunner(scope: GithubRunnerScope, id: number, changes: Partial<Omit<GithubRunnerInput, 'id'>>): void {
    const runners = 'org' in scope ? this.#ensureOrg(scope.org).runners : this.#repo(scope.repo).runners;
    const old = runners.get(id);
    if (old === undefined) throw new Error(`no runner ${id}`);
    runners.set(id, { ...old, ...changes, id });
  }

  removeRunner(scope: GithubRunnerScope, id: number): void {
    const runners = 'org' in scope ? this.#ensureOrg(scope.org).runners : this.#repo(scope.repo).runners;
    runners.delete(id);
  }

  // ---- helpers ----

  #ensureOrg(login: string): Org {
    const key = login.toLowerCase();
    let org = this.#orgs.get(key);
    if (org === undefined) {
      org = { login, runners: new Map() };
      this.#orgs.set(key, org);
    }
    return org;
  }

  #org(login: string): Org {
    const org = this.#orgs.get(login.toLowerCase());
    if (org === undefined)
      throw new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
    return org;
  }

  #repo(fullName: string): Repo {
    const repo = this.#repos.get(fullName.toLowerCase());
    if (repo === undefined) throw new Error(`no repo ${fullName}`);
    return repo;
  }

  #checkTimes(input: object): void {
    for (const [k, v] of Object.entries(input)) {
      if (k.endsWith('_at') && v !== null && v !== undefined) toMs(v as TimeInput);
    }
  }

  #repoRoute(sub: string, handler: (ctx: RouteContext, repo: Repo) => Reply): void {
    const notFound = (): HttpError =>
      new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
    this.route('GET', `/repos/:owner/:repo${sub}`, (c) => {
      const repo = this.#repos.get(`${c.params.owner}/${c.params.repo}`.toLowerCase());
      if (repo === undefined) throw notFound();
      return handler(c, repo);
    });
    this.route('GET', `/repositories/:repo_id${sub}`, (c) => {
      const repo = [...this.#repos.values()].find((r) => String(r.input.id) === c.params.repo_id);
      if (repo === undefined) throw notFound();
      return handler(c, repo);
    });
  }

  /** GitHub pagination: page/per_page (default 30, max 100) and a Link header when there is more than one page. */
  #paginate<T>(ctx: RouteContext, items: T[], wrap: (page: T[]) => unknown, repo?: Repo): Reply {
    const pageRaw = Number.parseInt(ctx.query.get('page') ?? '', 10);
    const perPageRaw = Number.parseInt(ctx.query.get('per_page') ?? '', 10);
    const page = Number.isFinite(pageRaw) && pageRaw >= 1 ? pageRaw : 1;
    const perPage =
      Number.isFinite(perPageRaw) && perPageRaw >= 1
        ? Math.min(this.maxPerPage, perPageRaw)
        : Math.min(this.maxPerPage, 30);
    const lastPage = Math.max(1, Math.ceil(items.length / perPage));
    const headers: Record<string, string> = {};
    if (lastPage > 1 || page > 1) {
      let path = ctx.path;
      if (this.repositoryIdLinks && repo !== undefined) {
        path = path.replace(/\/repos\/[^/]+\/[^/]+/, `/repositories/${repo.input.id}`);
      }
      const href = (p: number): string => {
        const q = new URLSearchParams(ctx.query);
        q.set('page', String(p));
        return `${this.url}${path}?${q.toString()}`;
      };
      const links: string[] = [];
      if (page > 1) links.push(`<${href(Math.min(page - 1, lastPage))}>; rel="prev"`);
      if (page < lastPage) {
        links.push(`<${href(page + 1)}>; rel="next"`);
        links.push(`<${href(lastPage)}>; rel="last"`);
      }
      if (page > 1) links.push(`<${href(1)}>; rel="first"`);
      headers.link = links.join(', ');
    }
    return { status: 200, body: wrap(items.slice((page - 1) * perPage, page * perPage)), headers };
  }

  #repoEntity(repo: Repo): Record<string, unknown> {
    const r = repo.input;
    const full = `${r.owner}/${r.name}`;
    const created = r.created_at === undefined ? Date.UTC(2026, 0, 1) : ghMs(r.created_at);
    return {
      id: r.id,
      node_id: `R_${r.id}`,
      name: r.name,
      full_name: full,
      private: r.private ?? false,
      owner: { login: r.owner, id: stableId(r.owner.toLowerCase()), type: 'Organization' },
      html_url: `${this.url}/${full}`,
      url: `${this.apiUrl}/repos/${full}`,
      fork: false,
      created_at: isoSeconds(created),
      updated_at: isoSeconds(created),
      pushed_at: isoSeconds(created),
      default_branch: r.default_branch ?? 'main',
      archived: r.archived ?? false,
      disabled: false,
      visibility: r.private === true ? 'private' : 'public',
    };
  }

  #runEntity(repo: Repo, run: GithubRunInput): Record<string, unknown> {
    const full = `${repo.input.owner}/${repo.input.name}`;
    const api = `${this.apiUrl}/repos/${full}/actions/runs/${run.id}`;
    const sha = run.head_sha ?? fakeSha(`run-${run.id}`);
    const attempt = run.run_attempt ?? 1;
    const workflowId = run.workflow_id ?? repo.workflowIds.get(run.path)!;
    const actor = { login: 'octocat', id: 1, type: 'User' };
    const repository = this.#repoEntity(repo);
    return {
      id: run.id,
      name: run.name,
      node_id: `WFR_${run.id}`,
      head_branch: run.head_branch,
      head_sha: sha,
      path: run.path,
      display_title: run.display_title ?? run.name,
      run_number: run.run_number ?? run.id,
      event: run.event ?? 'push',
      status: run.status,
      conclusion: run.conclusion ?? null,
      workflow_id: workflowId,
      check_suite_id: run.id + 1_000_000_000,
      check_suite_node_id: `CS_${run.id}`,
      url: api,
      html_url: `${this.url}/${full}/actions/runs/${run.id}`,
      pull_requests: [],
      created_at: isoSeconds(ghMs(run.created_at)),
      updated_at: isoSeconds(ghMs(run.updated_at)),
      actor,
      run_attempt: attempt,
      referenced_workflows: [],
      run_started_at: isoSeconds(ghMs(run.run_started_at ?? run.created_at)),
      triggering_actor: actor,
      jobs_url: `${api}/jobs`,
      logs_url: `${api}/logs`,
      check_suite_url: `${this.apiUrl}/repos/${full}/check-suites/${run.id + 1_000_000_000}`,
      artifacts_url: `${api}/artifacts`,
      cancel_url: `${api}/cancel`,
      rerun_url: `${api}/rerun`,
      previous_attempt_url: attempt > 1 ? `${api}/attempts/${attempt - 1}` : null,
      workflow_url: `${this.apiUrl}/repos/${full}/actions/workflows/${workflowId}`,
      head_commit: {
        id: sha,
        tree_id: fakeSha(`tree-${sha}`),
        message: 'Commit',
        timestamp: isoSeconds(ghMs(run.created_at)),
        author: { name: 'Octo Cat', email: 'octocat@example.com' },
        committer: { name: 'Octo Cat', email: 'octocat@example.com' },
      },
      repository,
      head_repository: repository,
    };
  }

  #jobEntity(repo: Repo, runId: number, job: GithubJobInput): Record<string, unknown> {
    const run = repo.runs.get(runId)!;
    const full = `${repo.input.owner}/${repo.input.name}`;
    const runnerName = job.runner_name ?? null;
    let runnerId: number | null = null;
    if (job.runner_id !== undefined) runnerId = job.runner_id;
    else if (runnerName !== null) {
      const registered =
        [...repo.runners.values()].find((r) => r.name === runnerName) ??
        [...(this.#orgs.get(repo.input.owner.toLowerCase())?.runners.values() ?? [])].find(
          (r) => r.name === runnerName,
        );
      runnerId = registered?.id ?? stableId(runnerName, 100_000);
    }
    const groupName = job.runner_group_name ?? null;
    let groupId: number | null;
    if (job.runner_group_id !== undefined) groupId = job.runner_group_id;
    else if (groupName === null) groupId = null;
    else if (groupName === 'GitHub Actions') groupId = 0;
    else if (groupName === 'Default') groupId = 1;
    else groupId = stableId(groupName, 10_000) + 1;
    return {
      id: job.id,
      run_id: runId,
      workflow_name: job.workflow_name ?? run.name,
      head_branch: job.head_branch ?? run.head_branch,
      run_url: `${this.apiUrl}/repos/${full}/actions/runs/${runId}`,
      run_attempt: job.run_attempt ?? 1,
      node_id: `CR_${job.id}`,
      head_sha: run.head_sha ?? fakeSha(`run-${run.id}`),
      url: `${this.apiUrl}/repos/${full}/actions/jobs/${job.id}`,
      html_url: `${this.url}/${full}/actions/runs/${runId}/job/${job.id}`,
      status: job.status,
      conclusion: job.conclusion ?? null,
      created_at: isoSeconds(ghMs(job.created_at)),
      started_at: isoSeconds(ghMs(job.started_at ?? job.created_at)),
      completed_at: job.completed_at == null ? null : isoSeconds(ghMs(job.completed_at)),
      name: job.name,
      steps: [],
      check_run_url: `${this.apiUrl}/repos/${full}/check-runs/${job.id}`,
      labels: job.labels ?? ['ubuntu-latest'],
      runner_id: runnerId,
      runner_name: runnerName,
      runner_group_id: groupId,
      runner_group_name: groupName,
    };
  }

  #runnerEntity(r: GithubRunnerInput): Record<string, unknown> {
    const labels = r.labels ?? ['self-hosted', 'Linux', 'X64'];
    return {
      id: r.id,
      name: r.name,
      os: r.os ?? 'linux',
      status: r.status,
      busy: r.busy,
      ephemeral: r.ephemeral ?? false,
      labels: labels.map((name) => ({
        id: stableId(name.toLowerCase(), 100_000),
        name,
        type: READ_ONLY_LABELS.has(name.toLowerCase()) ? 'read-only' : 'custom',
      })),
    };
  }

  // ---- endpoints ----

  #listRuns(ctx: RouteContext, repo: Repo): Reply {
    const q = ctx.query;
    const get = (k: string): string | undefined => {
      const v = q.get(k);
      return v === null || v === '' ? undefined : v;
    };
    const status = get('status');
    if (status !== undefined && !RUN_STATUSES.includes(status) && !CONCLUSIONS.includes(status)) {
      throw validationFailed(`status ${status} is not a valid status or conclusion`);
    }
    const created = get('created');
    const inRange = created === undefined ? () => true : parseDateRange(created);
    const branch = get('branch');
    const event = get('event');
    const headSha = get('head_sha');
    const checkSuite = get('check_suite_id');
    const actor = get('actor');
    let runs = [...repo.runs.values()].filter(
      (r) =>
        (status === undefined || r.status === status || r.conclusion === status) &&
        inRange(ghMs(r.created_at)) &&
        (branch === undefined || r.head_branch === branch) &&
        (event === undefined || (r.event ?? 'push') === event) &&
        (headSha === undefined || (r.head_sha ?? fakeSha(`run-${r.id}`)) === headSha) &&
        (checkSuite === undefined || String(r.id + 1_000_000_000) === checkSuite) &&
        (actor === undefined || actor === 'octocat'),
    );
    runs.sort((a, b) => ghMs(b.created_at) - ghMs(a.created_at) || b.id - a.id);
    const total = runs.length;
    const searching = [status, created, branch, event, headSha, checkSuite, actor].some(
      (v) => v !== undefined,
    );
    if (searching) runs = runs.slice(0, this.searchCap);
    else {
      const page = Number.parseInt(q.get('page') ?? '', 10);
      const perPage = Number.parseInt(q.get('per_page') ?? '', 10);
      const n =
        (Number.isFinite(page) && page >= 1 ? page : 1) *
        Math.min(this.maxPerPage, perPage >= 1 ? perPage : 30);
      if (n > this.runsPaginationLimit) {
        throw new HttpError(422, {
          message: 'In order to keep the API fast for everyone, pagination is limited for this resource.',
          documentation_url: `${DOCS}/using-the-rest-api/using-pagination-in-the-rest-api`,
          status: '422',
        });
      }
    }
    return this.#paginate(
      ctx,
      runs,
      (page) => ({ total_count: total, workflow_runs: page.map((r) => this.#runEntity(repo, r)) }),
      repo,
    );
  }

  #listJobs(ctx: RouteContext, repo: Repo, attempt: number | null): Reply {
    const runId = /^\d+$/.test(ctx.params.run_id!) ? Number(ctx.params.run_id) : Number.NaN;
    const run = repo.runs.get(runId);
    if (run === undefined)
      throw new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
    const filter = ctx.query.get('filter') ?? 'latest';
    if (attempt === null && filter !== 'latest' && filter !== 'all') {
      throw validationFailed(`filter ${filter} is not one of latest, all`);
    }
    const latest = run.run_attempt ?? 1;
    const wanted = attempt ?? (filter === 'all' ? null : latest);
    if (attempt !== null && (!Number.isInteger(attempt) || attempt < 1 || attempt > latest)) {
      throw new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
    }
    const jobs = [...repo.jobs.values()]
      .filter((j) => j.runId === runId && (wanted === null || (j.input.run_attempt ?? 1) === wanted))
      .map((j) => j.input)
      .sort((a, b) => a.id - b.id);
    return this.#paginate(
      ctx,
      jobs,
      (page) => ({ total_count: jobs.length, jobs: page.map((j) => this.#jobEntity(repo, runId, j)) }),
      repo,
    );
  }

  #orgRepos(ctx: RouteContext): Reply {
    const org = this.#org(ctx.params.org!);
    const sort = ctx.query.get('sort') ?? 'created';
    const direction = ctx.query.get('direction') ?? (sort === 'full_name' ? 'asc' : 'desc');
    const dir = direction === 'asc' ? 1 : -1;
    const created = (r: Repo): number => (r.input.created_at === undefined ? 0 : ghMs(r.input.created_at));
    const repos = [...this.#repos.values()]
      .filter((r) => r.input.owner.toLowerCase() === org.login.toLowerCase())
      .sort((a, b) => {
        const c =
          sort === 'full_name'
            ? a.input.name.toLowerCase() < b.input.name.toLowerCase()
              ? -1
              : a.input.name.toLowerCase() > b.input.name.toLowerCase()
                ? 1
                : 0
            : created(a) - created(b) || a.input.id - b.input.id;
        return c * dir;
      });
    return this.#paginate(ctx, repos, (page) => page.map((r) => this.#repoEntity(r)));
  }

  #listRunners(ctx: RouteContext, runners: Map<number, GithubRunnerInput>): Reply {
    const name = ctx.query.get('name');
    const list = [...runners.values()]
      .filter((r) => name === null || r.name === name)
      .sort((a, b) => a.id - b.id);
    return this.#paginate(ctx, list, (page) => ({
      total_count: list.length,
      runners: page.map((r) => this.#runnerEntity(r)),
    }));
  }
}
