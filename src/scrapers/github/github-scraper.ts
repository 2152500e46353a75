import type { Octokit } from '@octokit/rest';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { ProjectRef } from '../../events/model.js';
import type { EventProcessor } from '../../events/processor.js';
import { parseTimestamp } from '../../sources/timestamps.js';
import type { Store } from '../../store/store.js';
import { ApiError } from '../api-error.js';
import type { RunErrors } from '../run-errors.js';
import { type RunOptions, scrapeAll } from '../scrape-all.js';
import type { ScraperMetrics } from '../scraper-metrics.js';
import {
  type CreatedWindow,
  createdRange,
  FILTERED_RESULTS_CAP,
  type RunsPage,
  runsCreatedIn,
} from './created-windows.js';
import { type ApiJob, type ApiRun, runEvents, runIsFinal } from './to-events.js';

interface Deps {
  client: Octokit;
  store: Store;
  processor: EventProcessor;
  metrics: ScraperMetrics;
  clock: Clock;
  log: Logger;
  repos: readonly string[];
  orgs: readonly string[];
  lookbackSeconds: number;
}

interface Repo extends ProjectRef {
  readonly owner: string;
  readonly name: string;
  /** Found in one of GITHUB_ORGS (not named in GITHUB_REPOS). */
  readonly inOrg?: boolean;
}

interface OpenRun {
  s: 'pending' | 'running';
  /** Unix seconds. */
  created: number;
  /** Last seen, unix seconds. */
  at: number;
}

interface RepoCheckpoint {
  /** Unix seconds: runs created before it were all seen at an earlier run. */
  readonly seenUntil: number;
  /** Runs not finished yet: id -> state, created (unix s) and last seen. */
  readonly open: Readonly<Record<string, OpenRun>>;
}

type ListedRun = ApiRun & { repository?: { id?: number; full_name?: string } };

const PER_PAGE = 100;
/**
 * At most this many pages of the unfiltered runs list per repository and run (10,000 runs),
 * whatever the links say; runs since the checkpoint beyond them are read by creation time.
 */
const MAX_RUN_PAGES = 100;
const DISCOVERY_EVERY_S = 3600;
const OPEN_EXPIRY_S = 24 * 3600;
const RUNNING = new Set(['in_progress']);
const PENDING = new Set(['queued', 'requested', 'waiting', 'pending']);

/**
 * SPEC section 8 for GitHub. The runs list is newest first and has no "updated since"
 * filter, so each run reads pages until it reaches runs it has already seen and that were
 * finished then: a quiet run reads one page per repository.
 */
export class GithubScraper {
  readonly #d: Deps;

  constructor(deps: Deps) {
    this.#d = deps;
  }

  run(options: RunOptions = {}): Promise<RunErrors> {
    return scrapeAll({
      api: 'github',
      metrics: this.#d.metrics,
      noun: 'repository',
      options,
      discover: (errors, force) => this.#discover(errors, force),
      scrape: (repo, errors) => this.#scrapeRepo(repo, errors, options.lookbackSeconds),
      finish: (errors) => this.#runners(errors),
    });
  }

  async #discover(errors: RunErrors, force: boolean): Promise<Repo[]> {
    const { store, client, clock } = this.#d;
    const cached = (await store.getState('scrape:github:repos')) as { at: number; repos: Repo[] } | undefined;
    if (!force && cached !== undefined && clock.nowSeconds() - cached.at < DISCOVERY_EVERY_S)
      return cached.repos;
    const found = new Map<string, Repo>();
    let failed = false;
    for (const org of this.#d.orgs) {
      try {
        const list = await client.paginate(client.rest.repos.listForOrg, { org, per_page: PER_PAGE });
        // octokit hands an answer that is not a list (`{}`) on as a list of that one object.
        if (list.some((r) => typeof (r as { full_name?: unknown } | null)?.full_name !== 'string'))
          throw new ApiError('bad_payload', `repositories of ${org}: not a list of repositories`);
        for (const r of list) {
          if (r.archived === true) continue;
          found.set(r.full_name.toLowerCase(), {
            id: String(r.id),
            path: r.full_name,
            owner: r.owner.login,
            name: r.name,
            defaultBranch: r.default_branch ?? undefined,
            inOrg: true,
          });
        }
      } catch (err) {
        failed = true;
        errors.record(err, `org ${org}`);
      }
    }
    for (const full of this.#d.repos) {
      if (found.has(full.toLowerCase())) continue;
      const [owner = '', name = ''] = full.split('/');
      // The id comes with the first run read (its repository object).
      found.set(full.toLowerCase(), { id: '', path: full, owner, name, defaultBranch: undefined });
    }
    const repos = [...found.values()];
    // A partial answer is not cached: the next run asks again.
    if (failed) return cached?.repos ?? repos;
    await store.write({ state: [{ key: 'scrape:github:repos', value: { at: clock.nowSeconds(), repos } }] });
    return repos;
  }

  async #scrapeRepo(repo: Repo, errors: RunErrors, lookback: number | undefined): Promise<void> {
    const { client, store, clock, processor } = this.#d;
    const key = `scrape:github:checkpoint:${repo.path.toLowerCase()}`;
    const saved = (await store.getState(key)) as RepoCheckpoint | undefined;
    const now = clock.nowSeconds();
    const checkpoint: RepoCheckpoint =
      lookback === undefined && saved !== undefined
        ? saved
        : { seenUntil: now - (lookback ?? this.#d.lookbackSeconds), open: saved?.open ?? {} };
    // Read back to the oldest run that was still open, or to what was seen before.
    const oldestOpen = Math.min(
      ...Object.values(checkpoint.open).map((o) => o.created),
      checkpoint.seenUntil,
    );
    const stopAt = Math.min(oldestOpen, checkpoint.seenUntil);

    const open: Record<string, OpenRun> = { ...checkpoint.open };
    const seen = new Set<string>();
    let ref: Repo = repo;
    let newest = checkpoint.seenUntil;
    // A run whose reading failed keeps the checkpoint before it, so the next run tries again.
    let failedBefore = Number.POSITIVE_INFINITY;
    // An org repository whose runs stopped being readable half-way keeps its checkpoint too.
    let unavailable = false;
    const where = `runs of ${repo.path}`;
    const guarded = (pages: AsyncIterable<{ data: unknown }>): AsyncIterable<{ data: unknown }> =>
      repo.inOrg === true ? unlessUnavailable(pages, errors, where, () => (unavailable = true)) : pages;

    const toPage = (data: unknown): RunsPage<ListedRun> => {
      // octokit hands a `{total_count, workflow_runs}` page on as the list itself, total_count on it.
      const list: unknown = Array.isArray(data) ? data : (data as { workflow_runs?: unknown })?.workflow_runs;
      if (!Array.isArray(list)) throw new ApiError('bad_payload', `${where}: no workflow_runs list`);
      const runs = list as ListedRun[];
      // A repository of GITHUB_REPOS learns its id, and its name as GitHub spells it (the
      // `project` label its webhooks carry), from its runs.
      const named = runs[0]?.repository;
      if (ref.id === '' && named?.id !== undefined) {
        ref = {
          ...ref,
          id: String(named.id),
          path: typeof named.full_name === 'string' && named.full_name !== '' ? named.full_name : ref.path,
        };
      }
      const total = (data as { total_count?: unknown }).total_count;
      return { runs, total: typeof total === 'number' ? total : runs.length };
    };

    /** `openOnly`: a look-up of runs that were open, which does not count as news of them (see below). */
    const take = async (run: ListedRun, openOnly = false): Promise<void> => {
      const id = String(run.id);
      const was = checkpoint.open[id];
      // A look-up only tells of runs open at the checkpoint and not read already by this run.
      if (openOnly && (was === undefined || seen.has(id))) return;
      seen.add(id);
      const created = parseTimestamp(run.created_at) ?? 0;
      if (runIsFinal(run)) {
        delete open[id];
        // A re-run keeps its id and created_at (and its place in the list) but starts again:
        // an old run that started after what was seen is news. Claims keep it to once.
        const started = parseTimestamp(run.run_started_at) ?? created;
        if (created < stopAt && was === undefined && started < checkpoint.seenUntil) return;
        const mark = `scraped:github:${ref.id}:${run.id}:${run.run_attempt ?? 1}`;
        if (await store.hasClaim(`delivery:${mark}`)) return;
        try {
          const jobs = (await client.paginate(client.rest.actions.listJobsForWorkflowRun, {
            owner: repo.owner,
            repo: repo.name,
            run_id: run.id,
            filter: 'all',
            per_page: PER_PAGE,
          })) as unknown as ApiJob[];
          if (!Array.isArray(jobs) || jobs.some((job) => typeof job?.id !== 'number')) {
            throw new ApiError('bad_payload', `jobs of run ${run.id}: not a list of jobs`);
          }
          await processor.process({ key: mark, events: runEvents(ref, run, jobs) });
        } catch (err) {
          failedBefore = Math.min(failedBefore, created - 1);
          errors.record(err, `run ${ref.path}#${run.id}`);
        }
      } else if (RUNNING.has(run.status ?? '') || PENDING.has(run.status ?? '')) {
        const s = RUNNING.has(run.status ?? '') ? 'running' : 'pending';
        open[id] = { s, created, at: openOnly && was !== undefined ? was.at : now };
      } else {
        // Completed without an outcome (stale, action_required) or a status not known here:
        // not active, whatever it was before.
        delete open[id];
      }
    };

    // Pages are followed by their `Link: rel="next"`, as GitHub asks, until the runs reach what
    // was seen before or there is no next page: a page may hold fewer than asked for.
    let pages = 0;
    let cut = false;
    let oldestRead = Number.POSITIVE_INFINITY;
    for await (const { data } of guarded(
      client.paginate.iterator(client.rest.actions.listWorkflowRunsForRepo, {
        owner: repo.owner,
        repo: repo.name,
        per_page: PER_PAGE,
      }),
    )) {
      const { runs } = toPage(data);
      let reachedOld = false;
      for (const run of runs) {
        const created = parseTimestamp(run.created_at) ?? 0;
        if (created > newest) newest = created;
        if (created < stopAt) reachedOld = true;
        if (created < oldestRead) oldestRead = created;
        await take(run);
      }
      if (reachedOld || runs.length === 0) break;
      if (++pages >= MAX_RUN_PAGES) {
        cut = true;
        break;
      }
    }

    if (cut && !unavailable) {
      // More runs since the checkpoint than the pages read (a long outage of a busy monorepo):
      // the rest is read by windows of their creation time, which GitHub lists, unlike deep
      // pages, in full (see created-windows.ts); pages may also shift while runs come in.
      const query = (created: string): AsyncIterable<RunsPage<ListedRun>> =>
        mapPages(
          guarded(
            client.paginate.iterator(client.rest.actions.listWorkflowRunsForRepo, {
              owner: repo.owner,
              repo: repo.name,
              per_page: PER_PAGE,
              created,
            }),
          ),
          toPage,
          () => unavailable,
        );
      const tooFull = (w: CreatedWindow): void =>
        this.#d.log.warn(
          { repo: ref.path, second: new Date(w.from * 1000).toISOString() },
          'more runs created in one second than GitHub lists (1,000): the others are not repaired',
        );
      // Every run created since the checkpoint that the pages did not reach (the second of the
      // oldest run read again: it may hold more runs than the last page showed).
      if (oldestRead >= checkpoint.seenUntil) {
        const rest = { from: checkpoint.seenUntil, to: oldestRead };
        for await (const runs of runsCreatedIn(rest, query, tooFull)) for (const run of runs) await take(run);
      }
      // Runs that were open at the checkpoint, older than it, and not reached: the seconds they
      // were created in are looked up, not every run since. Such a look-up does not renew an
      // open run's entry, so one that never ends still expires and stops this (one request a
      // second looked up, each run, or a few for their whole span when it holds few runs).
      const coveredFrom = Math.min(checkpoint.seenUntil, oldestRead + 1);
      const lookups = new Set(
        Object.entries(checkpoint.open)
          .filter(([id, o]) => !seen.has(id) && o.created < coveredFrom)
          .map(([, o]) => o.created),
      );
      const seconds = [...lookups].sort((a, b) => b - a);
      let spans: CreatedWindow[] = seconds.map((second) => ({ from: second, to: second }));
      if (seconds.length > 1) {
        // Many runs waiting (a runner down) would cost a request a second, every run while they
        // wait: one request says how many runs their span holds, and a span of few is read whole.
        const span = { from: seconds.at(-1)!, to: seconds[0]! };
        for await (const { runs, total } of query(createdRange(span))) {
          const pages = runs.length >= total ? 1 : Math.ceil(total / Math.max(1, runs.length));
          if (total < FILTERED_RESULTS_CAP && pages < seconds.length) spans = [span];
          break;
        }
      }
      for (const span of spans) {
        for await (const runs of runsCreatedIn(span, query, tooFull))
          for (const run of runs) await take(run, true);
      }
    }
    for (const [id, entry] of Object.entries(open)) if (now - entry.at > OPEN_EXPIRY_S) delete open[id];
    const counts = { pending: 0, running: 0 };
    for (const entry of Object.values(open)) counts[entry.s]++;
    for (const state of ['pending', 'running'] as const) {
      this.#d.metrics.pipelinesActive.set({ source: 'github', project: ref.path, state }, counts[state]);
    }
    // A backfill whose window starts after the saved checkpoint did not read what lies between:
    // the service's next run still starts from the saved one.
    const seenUntil =
      lookback !== undefined && saved !== undefined && checkpoint.seenUntil > saved.seenUntil
        ? saved.seenUntil
        : unavailable
          ? checkpoint.seenUntil
          : Math.min(newest, failedBefore);
    const next: RepoCheckpoint = { seenUntil, open };
    await store.write({ state: [{ key, value: next }] });
  }

  async #runners(errors: RunErrors): Promise<void> {
    const { client, metrics } = this.#d;
    const counts = new Map<string, number>();
    const add = (scope: string, runners: Array<{ status: string; busy: boolean }>) => {
      for (const r of runners) {
        const status = r.busy ? 'busy' : r.status === 'online' ? 'online' : 'offline';
        counts.set(`${scope}\u0000${status}`, (counts.get(`${scope}\u0000${status}`) ?? 0) + 1);
      }
    };
    let failed = false;
    let read = 0;
    const orgs = new Set(this.#d.orgs.map((o) => o.toLowerCase()));
    const lists: Array<{
      scope: string;
      where: string;
      list: () => Promise<Array<{ status: string; busy: boolean }>>;
    }> = [
      ...this.#d.orgs.map((org) => ({
        scope: 'org',
        where: `runners of ${org}`,
        list: () =>
          client.paginate(client.rest.actions.listSelfHostedRunnersForOrg, { org, per_page: PER_PAGE }),
      })),
      ...this.#d.repos
        .map((full) => full.split('/'))
        .filter(([owner = '']) => !orgs.has(owner.toLowerCase()))
        .map(([owner = '', repo = '']) => ({
          scope: 'repo',
          where: `runners of ${owner}/${repo}`,
          list: () =>
            client.paginate(client.rest.actions.listSelfHostedRunnersForRepo, {
              owner,
              repo,
              per_page: PER_PAGE,
            }),
        })),
    ];
    for (const { scope, where, list } of lists) {
      try {
        const runners: unknown = await list();
        // octokit hands an answer without `runners` (`{}`) on as a list of that one object: it
        // would count as a runner, and the real ones as gone.
        if (
          !Array.isArray(runners) ||
          runners.some((r) => typeof (r as { status?: unknown })?.status !== 'string')
        )
          throw new ApiError('bad_payload', `${where}: not a list of runners`);
        add(scope, runners as Array<{ status: string; busy: boolean }>);
        read++;
      } catch (err) {
        if (!errors.recordOptional(err, where)) failed = true;
      }
    }
    // A list that failed keeps the last counts (a runner did not go away); lists the token may
    // not read (403) are left out, and with none readable the gauges are not exported.
    if (failed || lists.length === 0) return;
    for (const scope of ['org', 'repo']) {
      for (const status of ['online', 'offline', 'busy']) {
        if (read === 0) metrics.runners.remove({ source: 'github', scope, status });
        else
          metrics.runners.set(
            { source: 'github', scope, status },
            counts.get(`${scope}\u0000${status}`) ?? 0,
          );
      }
    }
  }
}

/**
 * The pages of an org repository's runs, or none when the token may not read them or the
 * repository has Actions turned off (403, 404): an org holds such repositories as a matter of
 * course, and each would otherwise fail every run. Other errors are thrown as they come.
 */
async function* unlessUnavailable<T>(
  pages: AsyncIterable<T>,
  errors: RunErrors,
  where: string,
  noted: () => void,
): AsyncGenerator<T> {
  try {
    for await (const page of pages) yield page;
  } catch (err) {
    if (!errors.noteUnavailable(err, where, [403, 404])) throw err;
    noted();
  }
}

/** octokit's pages as RunsPage, none once `stop` says so. */
async function* mapPages<R>(
  pages: AsyncIterable<{ data: unknown }>,
  toPage: (data: unknown) => RunsPage<R>,
  stop: () => boolean,
): AsyncGenerator<RunsPage<R>> {
  if (stop()) return;
  for await (const { data } of pages) yield toPage(data);
}
