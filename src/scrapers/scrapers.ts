import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { EventProcessor } from '../events/processor.js';
import type { Store } from '../store/store.js';
import { createGithubClient } from './github/client.js';
import { GithubScraper } from './github/github-scraper.js';
import { createGitlabClient } from './gitlab/client.js';
import { GitlabScraper } from './gitlab/gitlab-scraper.js';
import { ApiLimiter, type ApiName } from './limiter.js';
import type { RunErrors } from './run-errors.js';
import type { RunOptions } from './scrape-all.js';
import { createScraperMetrics, type ScraperMetrics } from './scraper-metrics.js';

interface Deps {
  config: Config;
  store: Store;
  processor: EventProcessor;
  registry: Registry;
  clock: Clock;
  log: Logger;
  /** Per-request time limit; tests shorten it. */
  requestTimeoutMs?: number;
}

interface Scraper {
  run(options?: RunOptions): Promise<RunErrors>;
}

/** The scraper loops of SPEC section 8: one run at a time on SCRAPE_SCHEDULE. */
export class Scrapers {
  readonly #d: Deps;
  readonly #metrics: ScraperMetrics;
  readonly #scrapers = new Map<ApiName, Scraper>();
  readonly #limiters: ApiLimiter[] = [];
  #task: ScheduledTask | undefined;
  #running: Promise<void> | undefined;
  readonly #stopping = new AbortController();

  constructor(deps: Deps) {
    this.#d = deps;
    this.#metrics = createScraperMetrics(deps.registry);
    const { config, store, processor, clock, log } = deps;
    const timeoutMs = deps.requestTimeoutMs ?? 10_000;
    const common = {
      store,
      processor,
      metrics: this.#metrics,
      clock,
      lookbackSeconds: config.scrape.lookbackSeconds,
    };
    if (
      config.gitlab.url !== undefined &&
      (config.gitlab.projects.length > 0 || config.gitlab.groups.length > 0)
    ) {
      const limiter = new ApiLimiter('gitlab', config.scrape.apiMaxRps, this.#metrics);
      this.#limiters.push(limiter);
      // Looked up for every request: a token rotated in SECRETS_DIR is used from then on.
      const token = () => config.secrets.list('GITLAB_TOKEN')[0];
      this.#scrapers.set(
        'gitlab',
        new GitlabScraper({
          ...common,
          client: createGitlabClient({ url: config.gitlab.url, token, limiter, timeoutMs }),
          log: log.child({ component: 'scraper', api: 'gitlab' }),
          projects: config.gitlab.projects,
          groups: config.gitlab.groups,
          basePath: config.gitlab.url.pathname.replace(/\/+$/, ''),
          trackedRefs: config.trackedRefs,
        }),
      );
    }
    if (config.github.repos.length > 0 || config.github.orgs.length > 0) {
      const limiter = new ApiLimiter('github', config.scrape.apiMaxRps, this.#metrics);
      this.#limiters.push(limiter);
      const token = () => config.secrets.list('GITHUB_TOKEN')[0];
      this.#scrapers.set(
        'github',
        new GithubScraper({
          ...common,
          client: createGithubClient({ apiUrl: config.github.apiUrl, token, limiter, timeoutMs }),
          log: log.child({ component: 'scraper', api: 'github' }),
          repos: config.github.repos,
          orgs: config.github.orgs,
        }),
      );
    }
  }

  get enabled(): ApiName[] {
    return [...this.#scrapers.keys()];
  }

  /** Schedules the runs. A run still going when the next is due is not doubled. */
  start(): void {
    if (this.#scrapers.size === 0 || this.#task !== undefined) return;
    // One run at a time: runOnce joins a run still going. (node-cron's own noOverlap would
    // print a plain-text warning on every tick a run is still going, breaking JSON logs.)
    this.#task = cron.schedule(this.#d.config.scrape.schedule, () => this.runOnce(), { name: 'scrapers' });
    this.#d.log.info({ apis: this.enabled, schedule: this.#d.config.scrape.schedule }, 'scrapers scheduled');
  }

  /** One run of every enabled scraper (the APIs in parallel, each within its own budget). */
  runOnce(
    options: {
      lookbackSeconds?: number;
      progress?: (api: ApiName, done: number, total: number) => void;
    } = {},
  ): Promise<void> {
    this.#running ??= (async () => {
      try {
        await Promise.all(
          [...this.#scrapers].map(async ([api, scraper]) => {
            const stop = this.#metrics.scrapeDuration.startTimer({ scraper: api });
            try {
              const errors = await scraper.run({
                signal: this.#stopping.signal,
                ...(options.lookbackSeconds === undefined
                  ? {}
                  : { lookbackSeconds: options.lookbackSeconds }),
                ...(options.progress
                  ? { progress: (done: number, total: number) => options.progress?.(api, done, total) }
                  : {}),
              });
              // A run cut short by the service stopping is no success, though it counts no errors.
              if (errors.count === 0 && !this.#stopping.signal.aborted)
                this.#metrics.lastSuccess.set({ scraper: api }, this.#d.clock.now() / 1000);
              errors.log(this.#d.log.child({ component: 'scraper' }));
            } catch (err) {
              // Never fatal: counted, logged, and the next run starts afresh.
              this.#metrics.scrapeErrors.inc({ scraper: api, kind: 'other' });
              this.#d.log.error({ err, api }, 'scraper run failed');
            } finally {
              stop();
            }
          }),
        );
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#task?.stop();
    this.#task = undefined;
    await Promise.all(this.#limiters.map((l) => l.stop()));
    await this.#running;
  }
}
