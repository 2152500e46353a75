import { setMaxListeners } from 'node:events';
import Bottleneck from 'bottleneck';
import type { ScraperMetrics } from './scraper-metrics.js';

export type ApiName = 'gitlab' | 'github';

const PAUSED = Symbol('paused');

/** What a response says about the budget left: from `Retry-After` and the rate-limit headers. */
export interface RateLimitHints {
  /** Seconds to wait before the next request (`Retry-After`). */
  readonly retryAfterS?: number;
  readonly remaining?: number;
  /** Unix seconds when the budget is refilled (a delta-seconds header already made absolute). */
  readonly resetAt?: number;
}

/**
 * Holds a request back until the one `n` places before it was answered at least `windowMs`
 * ago. An API counts requests as they arrive, somewhere between our start and its answer; so
 * starting request i no earlier than `windowMs` after request i-n was answered keeps any
 * `windowMs` of arrivals to at most `n` requests, however late a slow request (a new
 * connection) arrived and however fast the next one. Spacing the starts alone does not.
 */
class ArrivalWindow {
  readonly #n: number;
  readonly #windowMs: number;
  /** When each of the last `n` requests, in start order, was answered. */
  readonly #answered: Array<Promise<number>> = [];

  constructor(n: number, windowMs: number) {
    this.#n = n;
    this.#windowMs = windowMs;
  }

  /**
   * Waits for this request's turn; call the function returned once it is answered (or failed).
   * `sleep` is the limiter's, which a stop cuts short.
   */
  async enter(sleep: (ms: number) => Promise<void>): Promise<() => void> {
    // Taken synchronously, so requests entering together each wait for their own predecessor.
    const before =
      this.#answered.length >= this.#n ? this.#answered[this.#answered.length - this.#n] : undefined;
    let done!: (at: number) => void;
    this.#answered.push(new Promise<number>((resolve) => (done = resolve)));
    if (this.#answered.length > this.#n) this.#answered.shift();
    if (before !== undefined) {
      const wait = (await before) + this.#windowMs - Date.now();
      if (wait > 0) await sleep(wait);
    }
    return () => done(Date.now());
  }
}

/**
 * The one request budget of an API (SPEC section 8): every request of that API, including
 * each page of a paginated list, is scheduled here. Bottleneck spaces request starts evenly
 * (minTime), and an arrival window makes sure that no second holds more than `maxRps` of
 * them as the API sees them (see ArrivalWindow); `Retry-After` and an exhausted `RateLimit-Remaining`/`x-ratelimit-*`
 * pause every request of the API until the time they name. gitbeaker's and octokit's own
 * throttling and retries are not used (see the clients), so this is the only budget.
 */
export class ApiLimiter {
  readonly api: ApiName;
  readonly #bottleneck: Bottleneck;
  readonly #window: ArrivalWindow;
  readonly #metrics: ScraperMetrics;
  #pausedUntil = 0;
  /** Cuts every wait short when the limiter stops (each waiting request listens to it). */
  readonly #stopped = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();
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
    // At 5 per second: 5 per 1000 ms; at 0.5: 1 per 2000 ms; at 2.5: 2 per 800 ms.
    const n = Math.max(1, Math.floor(maxRps));
    this.#window = new ArrivalWindow(n, Math.ceil((n * 1000) / maxRps));
  }

  /**
   * Runs `request` within the budget. During a pause no request starts: a job that reaches its
   * turn while paused gives it back and queues again once the pause is over, so the requests
   * that waited are spaced by the limiter like any others instead of leaving together.
   */
  async schedule<T>(request: () => Promise<T>): Promise<T> {
    for (;;) {
      for (let wait = this.#pausedUntil - Date.now(); wait > 0; wait = this.#pausedUntil - Date.now()) {
        if (this.#stopped.signal.aborted) break;
        await this.#sleep(wait);
      }
      if (this.#stopped.signal.aborted) throw new Error('the API limiter has stopped');
      // The turn in the arrival window is waited for before a Bottleneck slot is taken: a slow
      // request then holds back only the requests `n` places after it, not every slot.
      const answered = await this.#window.enter((ms) => this.#sleep(ms));
      let out: typeof PAUSED | { value: T };
      try {
        // Checked again at the start: a pause may have begun while this request waited.
        out = await this.#bottleneck.schedule(async () =>
          this.#pausedUntil > Date.now() ? PAUSED : { value: await request() },
        );
      } finally {
        answered();
      }
      if (out !== PAUSED) return out.value;
    }
  }

  /** Resolves after `ms`, or at once when the limiter stops (then `schedule` is refused). */
  #sleep(ms: number): Promise<void> {
    const signal = this.#stopped.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
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
    const now = Date.now();
    let until = 0;
    if (hints.retryAfterS !== undefined) until = now + hints.retryAfterS * 1000;
    // A used-up budget, or a refusal that names only a reset (a 429 from a proxy in front of
    // GitLab may carry `RateLimit-Reset` alone), waits for the reset. A refusal with budget left
    // is a secondary limit (GitHub): its reset is the primary budget's, up to an hour away, and
    // GitHub asks for a minute's pause instead. A reset already past (a skewed clock) names no
    // time to wait: a refusal then backs off.
    else if (
      (hints.remaining === 0 || (limited && hints.remaining === undefined)) &&
      hints.resetAt !== undefined &&
      hints.resetAt * 1000 > now
    )
      until = hints.resetAt * 1000;
    else if (limited) until = now + Math.min(60_000 * 2 ** this.#limitedInARow, 15 * 60_000);
    this.#limitedInARow = limited ? this.#limitedInARow + 1 : 0;
    // Never pause longer than an hour on a header's word.
    if (until > this.#pausedUntil) this.#pausedUntil = Math.min(until, now + 3_600_000);
  }

  /** Until when (epoch ms) no request of this API starts; in the past when not paused. */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** Counts a request that got no response (network error, timeout). */
  failed(): void {
    this.#metrics.apiRequests.inc({ api: this.api, code: 'error' });
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#bottleneck.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }
}

export function parseRetryAfter(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  // An HTTP-date names a whole second, not which part of it the limit frees: wait it out.
  return Number.isNaN(date) ? undefined : Math.max(0, (date + 1000 - Date.now()) / 1000);
}

export function parseNumber(value: string | undefined | null): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
