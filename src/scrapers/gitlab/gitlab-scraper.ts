import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import { environmentLabel } from '../../events/labels.js';
import type { DeliveryEvent, ProjectRef } from '../../events/model.js';
import type { EventProcessor } from '../../events/processor.js';
import { parseTimestamp } from '../../sources/timestamps.js';
import type { Store } from '../../store/store.js';
import { ApiError } from '../api-error.js';
import type { RunErrors } from '../run-errors.js';
import { type RunOptions, scrapeAll } from '../scrape-all.js';
import type { ScraperMetrics } from '../scraper-metrics.js';
import type { GitlabClient } from './client.js';
import {
  type ApiDeployment,
  type ApiJob,
  type ApiMergeRequest,
  type ApiPipeline,
  deploymentEvent,
  FINAL_PIPELINE,
  listedRunEvent,
  mergeEvent,
  pipelineEvents,
} from './to-events.js';

interface Deps {
  client: GitlabClient;
  store: Store;
  processor: EventProcessor;
  metrics: ScraperMetrics;
  clock: Clock;
  log: Logger;
  projects: readonly string[];
  groups: readonly string[];
  lookbackSeconds: number;
  /** The path of GITLAB_URL without a trailing slash: GitLab's relative URL root, or ''. */
  basePath: string;
  /** TRACKED_REFS: stands in for the default branch of a project whose default branch is unknown. */
  trackedRefs: RegExp;
}

interface ProjectCheckpoint {
  /** ISO time: pipelines updated after it are read next run. */
  readonly since: string;
  /** Open pipelines: id -> state and when last seen changing. */
  readonly open: Readonly<Record<string, { s: 'pending' | 'running'; at: number }>>;
  /** Unix seconds of the last refresh of deployments, merges and release pressure. */
  readonly pressureAt: number;
  /**
   * The id and path learnt from the pipelines of a project given only by id or path: a run
   * that reads no pipeline still labels its gauges and keys its state the same way.
   */
  readonly learnt?: { readonly id: string; readonly path: string };
}

const PER_PAGE = 100;
/** Pages of updated pipelines read per project and run; the rest waits for the next run. */
const MAX_PIPELINE_PAGES = 100;

type ListedPipeline = ApiPipeline & { project_id?: number; web_url?: string };
/** Re-read a little before the checkpoint: updates that commit late are not missed. */
const OVERLAP_S = 120;
/** Group membership changes slowly: re-read it this often, not every run. */
const DISCOVERY_EVERY_S = 3600;
/** Deployments, merges and release pressure: on activity, else this often. */
const PRESSURE_EVERY_S = 3600;
/**
 * Release pressure counts merges since an environment's latest successful deployment, reading
 * at most this far back: an environment not deployed for longer counts the merges of this long.
 */
const PRESSURE_LOOKBACK_S = 30 * 24 * 3600;
/** An open pipeline the API has not shown for this long leaves the gauge. */
const OPEN_EXPIRY_S = 24 * 3600;
const PENDING = new Set(['created', 'waiting_for_resource', 'preparing', 'pending', 'scheduled']);
/** `canceling`: still running its jobs' after_script, as the webhooks' status mapping has it. */
const RUNNING = new Set(['running', 'canceling']);

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * A list the API answered, or a `bad_payload` error: an answer that is not a list (`{}`, an
 * HTML page) would otherwise read as no runners, environments or merges, and set gauges to 0.
 */
function asList<T>(answer: unknown, what: string): T[] {
  if (!Array.isArray(answer)) throw new ApiError('bad_payload', `${what}: not a list`);
  return answer as T[];
}

/**
 * A timestamp of the API in one form (UTC, milliseconds), so that two compare as strings: an
 * instance with a time zone set answers `…-05:00`, which compared as text against a `…Z` one
 * would keep the checkpoint from moving.
 */
const utc = (t: string | null | undefined): string | undefined => {
  const ms = Date.parse(t ?? '');
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
};

/**
 * SPEC section 8 for GitLab: repairs what missed webhooks left out (finished pipelines and
 * their jobs, deployments, merges, through the same processor, exactly once) and sets the
 * gauges no webhook carries. A quiet run costs one request per project (its pipelines
 * updated since the checkpoint) plus the runner list.
 */
export class GitlabScraper {
  readonly #d: Deps;

  constructor(deps: Deps) {
    this.#d = deps;
  }

  run(options: RunOptions = {}): Promise<RunErrors> {
    return scrapeAll({
      api: 'gitlab',
      metrics: this.#d.metrics,
      noun: 'project',
      options,
      discover: (errors, force) => this.#discover(errors, force),
      scrape: (project, errors) => this.#scrapeProject(project, errors, options.lookbackSeconds),
      finish: (errors) => this.#runners(errors),
    });
  }

  async #discover(errors: RunErrors, force: boolean): Promise<ProjectRef[]> {
    const { store, client, clock } = this.#d;
    const cached = (await store.getState('scrape:gitlab:projects')) as
      { at: number; projects: ProjectRef[] } | undefined;
    if (!force && cached !== undefined && clock.nowSeconds() - cached.at < DISCOVERY_EVERY_S)
      return cached.projects;
    const found = new Map<string, ProjectRef>();
    let failed = false;
    for (const group of this.#d.groups) {
      try {
        const list = asList<{
          id: number;
          path_with_namespace: string;
          default_branch?: string | null;
          archived?: boolean;
        }>(
          await client.Groups.allProjects(group, {
            includeSubgroups: true,
            // Projects of other groups shared with this one are theirs, not this group's.
            withShared: false,
            perPage: PER_PAGE,
          }),
          `projects of group ${group}`,
        );
        for (const p of list) {
          if (p.archived === true) continue;
          found.set(String(p.id), {
            id: String(p.id),
            path: p.path_with_namespace,
            defaultBranch: p.default_branch ?? undefined,
          });
        }
      } catch (err) {
        failed = true;
        errors.record(err, `group ${group}`);
      }
    }
    // Explicit projects: GET /projects/:id is not among the endpoints used, so the id and path
    // are learnt from the project's pipelines (their project_id and web_url).
    for (const entry of this.#d.projects) {
      if ([...found.values()].some((p) => p.id === entry || p.path === entry)) continue;
      const id = /^\d+$/.test(entry) ? entry : undefined;
      found.set(`explicit:${entry}`, {
        id: id ?? entry,
        path: id === undefined ? entry : '',
        defaultBranch: undefined,
      });
    }
    const projects = [...found.values()];
    // A partial answer is not cached: the next run asks again.
    if (failed) return cached?.projects ?? projects;
    await store.write({
      state: [{ key: 'scrape:gitlab:projects', value: { at: clock.nowSeconds(), projects } }],
    });
    return projects;
  }

  /**
   * Pipelines updated after `updatedAfter`, oldest first. Each page is the first page of a
   * query that starts where the last one ended: page numbers would shift under the read when a
   * pipeline is updated meanwhile (it moves to the end, every later one moves up a place, and
   * one is never served, for good, since the checkpoint then passes it). The next query starts
   * 1 ms before the last row, whether GitLab's bound is inclusive or not; rows seen twice are
   * dropped.
   */
  async #pipelinesUpdatedAfter(project: ProjectRef, updatedAfter: string): Promise<ListedPipeline[]> {
    const list: ListedPipeline[] = [];
    const seen = new Set<string>();
    let from = updatedAfter;
    // The page of the query from `from`: 1, unless a whole page was updated in one millisecond.
    let offset = 1;
    for (let page = 0; page < MAX_PIPELINE_PAGES; page++) {
      const rows = (await this.#d.client.Pipelines.all(project.id, {
        updatedAfter: from,
        orderBy: 'updated_at',
        sort: 'asc',
        perPage: PER_PAGE,
        maxPages: 1,
        ...(offset > 1 ? { page: offset } : {}),
      })) as unknown as ListedPipeline[];
      if (!Array.isArray(rows)) throw new ApiError('bad_payload', `pipelines of ${project.path}: not a list`);
      let fresh = 0;
      for (const p of rows) {
        const key = `${p.id}@${p.updated_at ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        list.push(p);
        fresh++;
      }
      const last = Date.parse(rows.at(-1)?.updated_at ?? '');
      if (rows.length < PER_PAGE || Number.isNaN(last)) break;
      const next = new Date(last - 1).toISOString();
      // A page of nothing new: more than a page of pipelines was updated in one millisecond, and
      // a query from just before it would serve the same page for ever. The rest of them are
      // on the next pages of the same query (the rare case where page numbers are needed).
      if (fresh === 0 || Date.parse(next) <= Date.parse(from)) {
        offset++;
      } else {
        from = next;
        offset = 1;
      }
    }
    return list;
  }

  async #scrapeProject(project: ProjectRef, errors: RunErrors, lookback: number | undefined): Promise<void> {
    const { client, store, clock, processor } = this.#d;
    const key = `scrape:gitlab:checkpoint:${project.id}`;
    const saved = (await store.getState(key)) as ProjectCheckpoint | undefined;
    const now = clock.nowSeconds();
    const checkpoint: ProjectCheckpoint =
      lookback === undefined && saved !== undefined
        ? saved
        : {
            since: iso(now - (lookback ?? this.#d.lookbackSeconds)),
            open: saved?.open ?? {},
            pressureAt: 0,
            ...(saved?.learnt === undefined ? {} : { learnt: saved.learnt }),
          };

    const updatedAfter = iso(Math.min(Date.parse(checkpoint.since) / 1000, now) - OVERLAP_S);
    const list = await this.#pipelinesUpdatedAfter(project, updatedAfter);

    let ref: ProjectRef = checkpoint.learnt === undefined ? project : { ...project, ...checkpoint.learnt };
    const first = list[0];
    if (first !== undefined && (ref.path === '' || !/^\d+$/.test(ref.id)))
      ref = learnProject(ref, first, this.#d.basePath);

    const open: Record<string, { s: 'pending' | 'running'; at: number }> = { ...checkpoint.open };
    const checkpointSince = utc(checkpoint.since) ?? checkpoint.since;
    let since = checkpointSince;
    // A pipeline whose reading failed keeps the checkpoint before it, so the next run tries again.
    let failedAt: string | undefined;
    for (const p of list) {
      const updated = utc(p.updated_at);
      if (updated !== undefined && updated > since && failedAt === undefined) since = updated;
      // A pipeline blocked on a manual job (a deploy gate never played) stays `manual`, maybe
      // for good: its finished jobs are read now, or they would never be repaired.
      if (FINAL_PIPELINE.has(p.status) || p.status === 'manual') {
        delete open[String(p.id)];
        const mark = `scraped:gitlab:${ref.id}:${p.id}:${p.updated_at ?? ''}`;
        // The processor keeps the delivery key of what it applied: a pipeline read once is not read again.
        if (await store.hasClaim(`delivery:${mark}`)) continue;
        try {
          const detail = (await client.Pipelines.show(ref.id, p.id)) as unknown as ApiPipeline | null;
          // An answer without the pipeline (`{}`, an empty body) would count its jobs under the
          // wrong ref and mark it read: it is an error, and the pipeline is read again next run.
          if (typeof detail?.id !== 'number' || typeof detail.status !== 'string')
            throw new ApiError('bad_payload', `pipeline ${p.id}: the answer has no id and status`);
          const jobs = (await client.Jobs.all(ref.id, {
            pipelineId: p.id,
            includeRetried: true,
            perPage: PER_PAGE,
          })) as unknown as ApiJob[];
          if (!Array.isArray(jobs)) throw new ApiError('bad_payload', `jobs of pipeline ${p.id}: not a list`);
          // Retried between the list and this reading: the status the list showed is a run too.
          const listed = listedRunEvent(ref, p, detail);
          const events = pipelineEvents(ref, detail, jobs);
          await processor.process({ key: mark, events: listed === undefined ? events : [listed, ...events] });
        } catch (err) {
          failedAt ??= updated ?? '';
          errors.record(err, `pipeline ${ref.path}#${p.id}`);
        }
      } else if (RUNNING.has(p.status) || PENDING.has(p.status)) {
        open[String(p.id)] = { s: RUNNING.has(p.status) ? 'running' : 'pending', at: now };
      } else {
        // A status not known here: not active, whatever it was before.
        delete open[String(p.id)];
      }
    }
    for (const [id, entry] of Object.entries(open)) if (now - entry.at > OPEN_EXPIRY_S) delete open[id];
    // A backfill whose window starts after the saved checkpoint did not read what lies between:
    // the service's next run still starts from the saved one.
    const keepSaved =
      lookback !== undefined && saved !== undefined && Date.parse(checkpoint.since) > Date.parse(saved.since);
    const next: ProjectCheckpoint = {
      since: keepSaved ? saved.since : since,
      open,
      pressureAt: checkpoint.pressureAt,
      ...(ref === project ? {} : { learnt: { id: ref.id, path: ref.path } }),
    };
    // A project given by id that has shown no pipeline yet has no path to label anything with;
    // one given by path, no id to key its deployments and merges by as its hooks do (they would
    // count again under the path): both wait for a pipeline to tell them.
    if (ref.path === '' || !/^\d+$/.test(ref.id)) {
      if (ref.path !== '') this.#setActive(ref, open);
      await store.write({ state: [{ key, value: next }] });
      return;
    }
    this.#setActive(ref, open);

    // The overlap re-reads the last pipelines: only one updated after the checkpoint is news.
    const activity = list.some((p) => (utc(p.updated_at) ?? '') > checkpointSince);
    let pressureAt = checkpoint.pressureAt;
    if (activity || now - pressureAt >= PRESSURE_EVERY_S || lookback !== undefined) {
      try {
        await this.#deploymentsAndPressure(ref, lookback ?? this.#d.lookbackSeconds, checkpointSince);
        pressureAt = now;
      } catch (err) {
        errors.record(err, `deployments of ${ref.path}`);
      }
    }
    await store.write({ state: [{ key, value: { ...next, pressureAt } satisfies ProjectCheckpoint }] });
  }

  #setActive(project: ProjectRef, open: Record<string, { s: 'pending' | 'running' }>): void {
    const counts = { pending: 0, running: 0 };
    for (const entry of Object.values(open)) counts[entry.s]++;
    for (const state of ['pending', 'running'] as const) {
      this.#d.metrics.pipelinesActive.set({ source: 'gitlab', project: project.path, state }, counts[state]);
    }
  }

  /** Finished deployments and merges no webhook recorded, and the release pressure gauges. */
  async #deploymentsAndPressure(project: ProjectRef, lookbackSeconds: number, since: string): Promise<void> {
    const { client, processor, clock, metrics } = this.#d;
    const now = clock.nowSeconds();
    const windowStartS = now - lookbackSeconds;
    const windowStart = iso(windowStartS);
    const updatedAfter = since < windowStart ? since : windowStart;
    const deployments = asList<ApiDeployment>(
      await client.Deployments.all(project.id, {
        updatedAfter,
        orderBy: 'updated_at',
        sort: 'asc',
        perPage: PER_PAGE,
      } as never),
      `deployments of ${project.path}`,
    );
    const environments = asList<{ name: string; state?: string }>(
      await client.Environments.all(project.id, { perPage: PER_PAGE }),
      `environments of ${project.path}`,
    );
    // Review apps and other dynamic environments do not take releases.
    const releasable = environments.filter(
      (env) => !env.name.includes('/') && (env.state === undefined || env.state === 'available'),
    );

    // The latest successful deployment of each environment. One updated in the window is the
    // latest (a later one would be updated later still); otherwise it is asked for, however old.
    const lastSuccess = new Map<string, number>();
    for (const d of deployments) {
      const at = parseTimestamp(d.finished_at) ?? parseTimestamp(d.updated_at);
      const name = d.environment?.name;
      if (d.status !== 'success' || at === undefined || !name) continue;
      if (at > (lastSuccess.get(name) ?? 0)) lastSuccess.set(name, at);
    }
    for (const env of releasable) {
      if (lastSuccess.has(env.name)) continue;
      const [latest] = asList<ApiDeployment>(
        await client.Deployments.all(project.id, {
          environment: env.name,
          status: 'success',
          // GitLab sorts by finished_at only together with a finished_at filter.
          orderBy: 'finished_at',
          finishedAfter: '2000-01-01T00:00:00Z',
          sort: 'desc',
          perPage: 1,
          maxPages: 1,
        } as never),
        `deployments of ${project.path}`,
      );
      const at = parseTimestamp(latest?.finished_at) ?? parseTimestamp(latest?.updated_at);
      if (at !== undefined) lastSuccess.set(env.name, at);
    }

    // Merges since the oldest of those deployments (at most PRESSURE_LOOKBACK_S back), so that
    // release pressure does not fall by itself as merges leave SCRAPE_LOOKBACK.
    const oldestNeeded = Math.min(
      windowStartS,
      ...releasable.map((env) => lastSuccess.get(env.name) ?? Number.NEGATIVE_INFINITY),
    );
    const mergedFrom = Math.max(oldestNeeded, now - PRESSURE_LOOKBACK_S);
    const merged = asList<ApiMergeRequest>(
      await client.MergeRequests.all({
        projectId: project.id,
        state: 'merged',
        updatedAfter: iso(mergedFrom),
        perPage: PER_PAGE,
      } as never),
      `merge requests of ${project.path}`,
    );

    const events: DeliveryEvent[] = [];
    for (const d of deployments) {
      const e = deploymentEvent(project, d);
      if (e !== undefined) events.push(e);
    }
    // Repair looks back SCRAPE_LOOKBACK only, whatever release pressure needed to read.
    for (const mr of merged) {
      if ((parseTimestamp(mr.updated_at) ?? now) >= windowStartS) events.push(mergeEvent(project, mr));
    }
    // One event per delivery: each dedupes on its own natural key.
    for (const event of events) await processor.process({ key: undefined, events: [event] });

    for (const env of releasable) {
      const deployedAt = lastSuccess.get(env.name) ?? 0;
      const waiting = merged.filter(
        (mr) =>
          (project.defaultBranch === undefined
            ? this.#d.trackedRefs.test(mr.target_branch)
            : mr.target_branch === project.defaultBranch) && (parseTimestamp(mr.merged_at) ?? 0) > deployedAt,
      ).length;
      metrics.undeployed.set(
        { source: 'gitlab', project: project.path, environment: environmentLabel(env.name) },
        waiting,
      );
    }
  }

  async #runners(errors: RunErrors): Promise<void> {
    const { client, metrics } = this.#d;
    const lists: unknown[][] = [];
    let failed = false;
    let forbidden = 0;
    const targets: Array<string | undefined> = this.#d.groups.length > 0 ? [...this.#d.groups] : [undefined];
    for (const groupId of targets) {
      const where = groupId === undefined ? 'runners' : `runners of group ${groupId}`;
      try {
        lists.push(
          asList(
            await client.Runners.all(
              groupId === undefined ? { perPage: PER_PAGE } : { groupId, perPage: PER_PAGE },
            ),
            where,
          ),
        );
      } catch (err) {
        if (errors.recordOptional(err, where)) forbidden++;
        else failed = true;
      }
    }
    // A list that failed keeps the last counts (a runner did not go away); lists the token may
    // not read (403) are left out, and with none readable the gauges are not exported.
    if (failed) return;
    if (forbidden === targets.length) {
      for (const scope of ['instance', 'group', 'project'])
        for (const status of ['online', 'offline', 'paused'])
          metrics.runners.remove({ source: 'gitlab', scope, status });
      return;
    }
    const seen = new Set<number>();
    const counts = new Map<string, number>();
    for (const r of lists.flat() as Array<{
      id: number;
      runner_type?: string;
      status?: string;
      paused?: boolean;
      active?: boolean;
    }>) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      const scope = (r.runner_type ?? 'unknown').replace(/_type$/, '');
      const status =
        r.paused === true || r.active === false ? 'paused' : r.status === 'online' ? 'online' : 'offline';
      counts.set(`${scope}\u0000${status}`, (counts.get(`${scope}\u0000${status}`) ?? 0) + 1);
    }
    for (const scope of ['instance', 'group', 'project']) {
      for (const status of ['online', 'offline', 'paused']) {
        metrics.runners.set({ source: 'gitlab', scope, status }, counts.get(`${scope}\u0000${status}`) ?? 0);
      }
    }
  }
}

/**
 * The id and path of a project from one of its pipelines (`project_id`, and `web_url`, whose
 * path starts with GitLab's relative URL root, `basePath`, when it has one).
 */
function learnProject(
  project: ProjectRef,
  p: { project_id?: number; web_url?: string },
  basePath: string,
): ProjectRef {
  const id = p.project_id === undefined ? project.id : String(p.project_id);
  let path = project.path;
  if (path === '' && p.web_url !== undefined) {
    let urlPath = '';
    try {
      urlPath = new URL(p.web_url).pathname;
    } catch {
      // Not a URL: the path stays unknown.
    }
    if (basePath !== '' && urlPath.startsWith(`${basePath}/`)) urlPath = urlPath.slice(basePath.length);
    const match = /^\/(.+?)\/-\/pipelines\//.exec(urlPath);
    if (match?.[1] !== undefined) path = match[1];
  }
  return { id, path: path === '' ? id : path, defaultBranch: project.defaultBranch };
}
