import type { Logger } from 'pino';
import { type ApiErrorKind, toApiError } from './api-error.js';
import type { ApiName } from './limiter.js';
import type { ScraperMetrics } from './scraper-metrics.js';

/** Lists the token may not read, already logged once by this process (`api where`). */
const unavailableLogged = new Set<string>();

/**
 * The errors of one scraper run: each is counted at once, and they are logged together at
 * the end, one line per kind, so a failing API does not flood the log. Errors after the run's
 * signal was aborted (the service is stopping) are not API errors and are not recorded.
 */
export class RunErrors {
  readonly #byKind = new Map<ApiErrorKind, { count: number; first: string }>();
  readonly #unavailable: string[] = [];
  readonly #api: ApiName;
  readonly #metrics: ScraperMetrics;
  readonly #signal: AbortSignal | undefined;

  constructor(api: ApiName, metrics: ScraperMetrics, signal?: AbortSignal) {
    this.#api = api;
    this.#metrics = metrics;
    this.#signal = signal;
  }

  record(err: unknown, where: string): void {
    if (this.#signal?.aborted === true) return;
    const e = toApiError(err);
    this.#metrics.scrapeErrors.inc({ scraper: this.#api, kind: e.kind });
    const entry = this.#byKind.get(e.kind);
    if (entry === undefined) this.#byKind.set(e.kind, { count: 1, first: `${where}: ${e.message}` });
    else entry.count++;
  }

  /**
   * For a list the scraper can do without (runners): a 403 means the token may not read it (an
   * instance's `/runners/all` needs an administrator, an org's runners `admin:org`), which is
   * how it is set up, not a failure: its gauges are left out, it is logged once per process,
   * and the run still succeeds. `statuses` may add 404 (an org's repository whose Actions are
   * off). Returns false when the error was recorded as any other.
   */
  recordOptional(err: unknown, where: string, statuses: readonly number[] = [403]): boolean {
    if (this.noteUnavailable(err, where, statuses)) return true;
    this.record(err, where);
    return false;
  }

  /** `recordOptional` without recording anything else: true when the error was noted as such. */
  noteUnavailable(err: unknown, where: string, statuses: readonly number[] = [403]): boolean {
    const e = toApiError(err);
    if (
      (e.kind !== 'auth' && e.kind !== 'not_found') ||
      e.status === undefined ||
      !statuses.includes(e.status)
    )
      return false;
    this.#unavailable.push(where);
    return true;
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
    for (const where of this.#unavailable) {
      const key = `${this.#api} ${where}`;
      if (unavailableLogged.has(key)) continue;
      unavailableLogged.add(key);
      log.warn(
        { api: this.#api, where },
        'the token may not read this list (403): it is left out of its gauges; see README "Scrapers"',
      );
    }
  }
}
