import type { Logger } from 'pino';
import { type ApiErrorKind, toApiError } from './api-error.js';
import type { ApiName } from './limiter.js';
import type { ScraperMetrics } from './scraper-metrics.js';

/**
 * The errors of one scraper run: each is counted at once, and they are logged together at
 * the end, one line per kind, so a failing API does not flood the log.
 */
export class RunErrors {
  readonly #byKind = new Map<ApiErrorKind, { count: number; first: string }>();
  readonly #api: ApiName;
  readonly #metrics: ScraperMetrics;

  constructor(api: ApiName, metrics: ScraperMetrics) {
    this.#api = api;
    this.#metrics = metrics;
  }

  record(err: unknown, where: string): void {
    const e = toApiError(err);
    this.#metrics.scrapeErrors.inc({ scraper: this.#api, kind: e.kind });
    const entry = this.#byKind.get(e.kind);
    if (entry === undefined) this.#byKind.set(e.kind, { count: 1, first: `${where}: ${e.message}` });
    else entry.count++;
  }

  get count(): number {
    let n = 0;
    for (const e of this.#byKind.values()) n += e.count;
    return n;
  }

  log(log: Logger): void {
    for (const [kind, { count, first }] of this.#byKind) {
      log.warn({ api: this.#api, kind, count, first }, 'scraper errors this run');
    }
  }
}
