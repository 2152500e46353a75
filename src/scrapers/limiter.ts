import Bottleneck from 'bottleneck';
import type { ScraperMetrics } from './scraper-metrics.js';

export type ApiName = 'gitlab' | 'github';

const PAUSED = Symbol('paused');

/** What a response says about the budget left: from `Retry-After` and the rate-limit headers. */
export interface RateLimitHints {
  /** Seconds to wait before the next request (`Retry-After`). */
  readonly retryAfterS?: number;
  readonly remaining?: number;
  /** Unix seconds when the budget is refilled. */
  readonly resetAt?: number;
}

/**
 * The one request budget of an API (SPEC section 8): every request of that API, including
 * each page of a paginated list, is scheduled here. Bottleneck spaces request starts so that
 * no window of one second holds more than `maxRps` of them (minTime, with a margin for the
 * network's jitter); `Retry-After` and an exhausted `RateLimit-Remaining`/`x-ratelimit-*`
 * pause every request of the API until the time they name. gitbeaker's and octokit's own
 * throttling and retries are not used (see the clients), so this is the only budget.
 */
export class ApiLimiter {
  readonly api: ApiName;
  readonly #bottleneck: Bottleneck;
  readonly #metrics: ScraperMetrics;
  #pausedUntil = 0;
  /** Answers in a row that refused a request for its rate. */
  #limitedInARow = 0;

  constructor(api: ApiName, maxRps: number, metrics: ScraperMetrics) {
    this.api = api;
    this.#metrics = metrics;
    this.#bottleneck = new Bottleneck({
      // A 2% and 1 ms margin: a request that started on time may still arrive a little late.
      minTime: Math.ceil((1000 / maxRps) * 1.02) + 1,
      maxConcurrent: Math.max(1, Math.ceil(maxRps)),
    });
  }

  /**
   * Runs `request` within the budget. During a pause no request starts: a job that reaches its
   * turn while paused gives it back and queues again once the pause is over, so the requests
   * that waited are spaced by the limiter like any others instead of leaving together.
   */
  async schedule<T>(request: () => Promise<T>): Promise<T> {
    for (;;) {
      for (let wait = this.#pausedUntil - Date.now(); wait > 0; wait = this.#pausedUntil - Date.now())
        await new Promise((r) => setTimeout(r, wait));
      const out = await this.#bottleneck.schedule(async () =>
        this.#pausedUntil > Date.now() ? PAUSED : { value: await request() },
      );
      if (out !== PAUSED) return out.value;
    }
  }

  /**
   * Takes note of a response: counts it and pauses the API when it asks for it. `limited`: the
   * response refused the request for its rate (429, or GitHub's 403 for a primary or
   * secondary limit); without a time to wait, GitHub asks for at least a minute, growing.
   */
  observe(status: number, hints: RateLimitHints, limited = status === 429): void {
    this.#metrics.apiRequests.inc({ api: this.api, code: String(status) });
    if (hints.remaining !== undefined)
      this.#metrics.rateLimitRemaining.set({ api: this.api }, hints.remaining);
    let until = 0;
    if (hints.retryAfterS !== undefined) until = Date.now() + hints.retryAfterS * 1000;
    else if (hints.remaining === 0 && hints.resetAt !== undefined) until = hints.resetAt * 1000;
    else if (limited) until = Date.now() + Math.min(60_000 * 2 ** this.#limitedInARow, 15 * 60_000);
    this.#limitedInARow = limited ? this.#limitedInARow + 1 : 0;
    // Never pause longer than an hour on a header's word.
    if (until > this.#pausedUntil) this.#pausedUntil = Math.min(until, Date.now() + 3_600_000);
  }

  /** Counts a request that got no response (network error, timeout). */
  failed(): void {
    this.#metrics.apiRequests.inc({ api: this.api, code: 'error' });
  }

  async stop(): Promise<void> {
    await this.#bottleneck.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }
}

export function parseRetryAfter(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export function parseNumber(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
