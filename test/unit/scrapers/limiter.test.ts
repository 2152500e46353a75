import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { ApiError } from '../../../src/scrapers/api-error.js';
import { limitedFetch, rateLimitHints } from '../../../src/scrapers/limited-fetch.js';
import { ApiLimiter, parseRetryAfter } from '../../../src/scrapers/limiter.js';
import { createScraperMetrics } from '../../../src/scrapers/scraper-metrics.js';

function maxInAnySecond(times: number[]): number {
  let max = 0;
  for (const t of times) max = Math.max(max, times.filter((u) => u >= t && u < t + 1000).length);
  return max;
}

describe('ApiLimiter', () => {
  it('never starts more than maxRps requests in any one-second window', async () => {
    const limiter = new ApiLimiter('gitlab', 5, createScraperMetrics(new Registry()));
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, () => limiter.schedule(async () => starts.push(Date.now()))),
    );
    assert.equal(starts.length, 12);
    assert.ok(maxInAnySecond(starts) <= 5, `max ${maxInAnySecond(starts)} in a second`);
    await limiter.stop();
  });

  it('keeps any second of arrivals within maxRps, even when a slow first request arrives late', async () => {
    // An API counts a request when it arrives, somewhere between our start and its answer. The
    // first request of a run (a new connection) arrives 150 ms after its start, the next ones at
    // once: spacing the starts alone would put six arrivals in one second.
    const limiter = new ApiLimiter('gitlab', 5, createScraperMetrics(new Registry()));
    const arrivals: number[] = [];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        limiter.schedule(async () => {
          await sleep(i === 0 ? 150 : 0);
          arrivals.push(Date.now());
          await sleep(5);
        }),
      ),
    );
    assert.equal(arrivals.length, 12);
    assert.ok(maxInAnySecond(arrivals) <= 5, `max ${maxInAnySecond(arrivals)} in a second`);
    await limiter.stop();
  });

  it('lets a slow request hold back only the requests maxRps places after it, not the rest', async () => {
    const limiter = new ApiLimiter('gitlab', 5, createScraperMetrics(new Registry()));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let done = 0;
    const all = Array.from({ length: 40 }, (_, i) =>
      limiter.schedule(async () => {
        await sleep(i === 0 ? 8000 : 10);
        done++;
      }),
    );
    await sleep(7500);
    // Spaced 1/5 s apart, about 36 requests can start in 7.5 s; only those 5, 10, 15, …
    // places after the slow one must wait for it (7 of them).
    assert.ok(done >= 24, `${done} of 40 answered in 7.5 s`);
    await Promise.all(all);
    await limiter.stop();
  });

  it('starts no request during a pause that began while it waited for its turn', async () => {
    // At 2 per second a request waits for the one two places before it to be answered a second
    // earlier: the third waits for the slow first, and the second is refused meanwhile.
    const limiter = new ApiLimiter('gitlab', 2, createScraperMetrics(new Registry()));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let pausedAt = 0;
    let thirdStarted = 0;
    await Promise.all([
      limiter.schedule(() => sleep(600)),
      limiter.schedule(async () => {
        await sleep(700);
        pausedAt = Date.now();
        limiter.observe(429, { retryAfterS: 2 }, true);
      }),
      limiter.schedule(async () => {
        thirdStarted = Date.now();
      }),
    ]);
    assert.ok(thirdStarted - pausedAt >= 1900, `started ${thirdStarted - pausedAt} ms into a 2 s pause`);
    await limiter.stop();
  });

  it('starts nothing more once stopped, and stops at once', async () => {
    // At 0.5 per second the second request waits for the slow first to be answered 2 s earlier.
    const limiter = new ApiLimiter('gitlab', 0.5, createScraperMetrics(new Registry()));
    let started = 0;
    const all = Array.from({ length: 2 }, () =>
      limiter.schedule(async () => {
        started++;
        await new Promise((r) => setTimeout(r, 1500));
      }),
    );
    await new Promise((r) => setTimeout(r, 2500));
    const before = Date.now();
    await limiter.stop();
    const stopMs = Date.now() - before;
    const outcomes = await Promise.allSettled(all);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(started, 1);
    assert.equal(outcomes[1]?.status, 'rejected');
    assert.ok(stopMs < 500, `stop took ${stopMs} ms`);
  });

  it('backs off at least a minute when a refusal’s reset is already past (a skewed clock)', async () => {
    const limiter = new ApiLimiter('github', 50, createScraperMetrics(new Registry()));
    const now = Date.now();
    limiter.observe(429, { remaining: 0, resetAt: now / 1000 - 5 }, true);
    assert.ok(limiter.pausedUntil >= now + 60_000, `paused only until +${limiter.pausedUntil - now} ms`);
    // A past reset on an answer that refused nothing pauses nothing.
    const other = new ApiLimiter('github', 50, createScraperMetrics(new Registry()));
    other.observe(200, { remaining: 0, resetAt: now / 1000 - 5 });
    assert.ok(other.pausedUntil <= Date.now());
    await Promise.all([limiter.stop(), other.stop()]);
  });

  it('pauses a secondary limit with budget left for a minute, not until the primary budget’s reset', async () => {
    const limiter = new ApiLimiter('github', 50, createScraperMetrics(new Registry()));
    const now = Date.now();
    limiter.observe(403, { remaining: 4000, resetAt: now / 1000 + 3000 }, true);
    assert.ok(limiter.pausedUntil >= now + 60_000, `paused only until +${limiter.pausedUntil - now} ms`);
    assert.ok(limiter.pausedUntil < now + 120_000, `paused until +${limiter.pausedUntil - now} ms`);
    await limiter.stop();
  });

  it('pauses every request of the API for the time Retry-After names', async () => {
    const limiter = new ApiLimiter('github', 50, createScraperMetrics(new Registry()));
    await limiter.schedule(async () => undefined);
    limiter.observe(429, { retryAfterS: 0.6 });
    const before = Date.now();
    await limiter.schedule(async () => undefined);
    assert.ok(Date.now() - before >= 550, `waited only ${Date.now() - before} ms`);
    await limiter.stop();
  });

  it('pauses until the reset when the remaining budget is zero', async () => {
    const limiter = new ApiLimiter('github', 50, createScraperMetrics(new Registry()));
    limiter.observe(200, { remaining: 0, resetAt: Date.now() / 1000 + 0.5 });
    const before = Date.now();
    await limiter.schedule(async () => undefined);
    assert.ok(Date.now() - before >= 400);
    await limiter.stop();
  });

  it('reads both rate-limit header families and both Retry-After forms', () => {
    assert.deepEqual(
      rateLimitHints(new Headers({ 'RateLimit-Remaining': '12', 'RateLimit-Reset': '1800000000' })),
      {
        remaining: 12,
        resetAt: 1800000000,
      },
    );
    assert.deepEqual(
      rateLimitHints(
        new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1800000001', 'retry-after': '3' }),
      ),
      {
        retryAfterS: 3,
        remaining: 0,
        resetAt: 1800000001,
      },
    );
    // Seconds from now (the IETF RateLimit draft) are made absolute.
    const delta = rateLimitHints(new Headers({ 'RateLimit-Reset': '30' })).resetAt ?? 0;
    assert.ok(Math.abs(delta - (Date.now() / 1000 + 30)) < 2, `reset read as ${delta}`);
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString();
    const seconds = parseRetryAfter(inTwoSeconds) ?? 0;
    // To the end of the second it names: a date has no smaller unit.
    assert.ok(seconds > 1 && seconds <= 3);
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});

describe('limitedFetch against a local HTTP server', () => {
  let server: Server;
  let url: string;
  /** What the server answers next, one entry per request; then 200 `[]`. */
  let answers: Array<{ status: number; headers?: Record<string, string>; body?: string }>;
  let arrivals: number[];

  beforeEach(async () => {
    answers = [];
    arrivals = [];
    server = createServer((_req, res) => {
      arrivals.push(Date.now());
      const a = answers.shift() ?? { status: 200 };
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body ?? '[]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  const limiterOf = (rps: number) => new ApiLimiter('github', rps, createScraperMetrics(new Registry()));

  it('waits and retries GitHub 403s that are rate limits, primary and secondary', async () => {
    const limiter = limiterOf(50);
    const fetch = limitedFetch(limiter, 5000);
    answers = [
      {
        status: 403,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Date.now() / 1000 + 0.5) },
      },
      {
        status: 403,
        headers: { 'retry-after': '1' },
        body: '{"message":"You have exceeded a secondary rate limit."}',
      },
    ];
    const started = Date.now();
    assert.equal((await fetch(url)).status, 200);
    assert.equal(arrivals.length, 3);
    assert.ok((arrivals[1] ?? 0) - (arrivals[0] ?? 0) >= 400, 'waited for the reset');
    assert.ok((arrivals[2] ?? 0) - (arrivals[1] ?? 0) >= 950, 'waited as retry-after said');
    assert.ok(Date.now() - started < 5000);
    await limiter.stop();
  });

  it('waits for the reset a GitLab 429 names, as Unix seconds or as seconds from now, not a blind minute', async () => {
    const limiter = new ApiLimiter('gitlab', 50, createScraperMetrics(new Registry()));
    const fetch = limitedFetch(limiter, 5000);
    answers = [
      // Only RateLimit-Reset, no Retry-After and no RateLimit-Remaining (a proxy's 429).
      { status: 429, headers: { 'RateLimit-Reset': String(Date.now() / 1000 + 0.6) } },
      // The IETF draft's form: seconds from now.
      { status: 429, headers: { 'RateLimit-Reset': '1' } },
    ];
    const started = Date.now();
    assert.equal((await fetch(url)).status, 200);
    assert.equal(arrivals.length, 3);
    assert.ok((arrivals[1] ?? 0) - (arrivals[0] ?? 0) >= 500, 'waited for the Unix-seconds reset');
    assert.ok((arrivals[2] ?? 0) - (arrivals[1] ?? 0) >= 900, 'waited for the delta-seconds reset');
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms: backed off blind`);
    await limiter.stop();
  });

  it('returns any other 403 at once, and calls a rate limit that outlasts the retries rate_limited', async () => {
    const limiter = limiterOf(50);
    const fetch = limitedFetch(limiter, 5000);
    answers = [{ status: 403, body: '{"message":"Resource not accessible by integration"}' }];
    assert.equal((await fetch(url)).status, 403);
    assert.equal(arrivals.length, 1);
    answers = Array.from({ length: 3 }, () => ({ status: 403, headers: { 'retry-after': '0' } }));
    await assert.rejects(
      fetch(url),
      (err: unknown) => err instanceof ApiError && err.kind === 'rate_limited',
    );
    assert.equal(arrivals.length, 4);
    await limiter.stop();
  });

  it('retries a request whose connection was reset, and calls one that keeps failing network', async () => {
    const limiter = limiterOf(50);
    const fetch = limitedFetch(limiter, 5000);
    let resets = 1;
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      arrivals.push(Date.now());
      if (resets-- > 0) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    assert.equal((await fetch(url)).status, 200);
    assert.equal(arrivals.length, 2);
    resets = 10;
    await assert.rejects(fetch(url), (err: unknown) => err instanceof ApiError && err.kind === 'network');
    assert.equal(arrivals.length, 5, 'tried three times in all');
    await limiter.stop();
  });

  it('retries a request whose body was cut short by a closed connection, like a reset', async () => {
    const limiter = limiterOf(50);
    const fetch = limitedFetch(limiter, 5000);
    let cuts = 1;
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      arrivals.push(Date.now());
      const body = '[{"id":1},{"id":2}]';
      if (cuts-- > 0) {
        // Headers for the whole body, half of it, then the connection closes.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
        res.write(body.slice(0, 8));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    const response = await fetch(url);
    assert.deepEqual(await response.json(), [{ id: 1 }, { id: 2 }]);
    assert.equal(arrivals.length, 2);
    cuts = 10;
    await assert.rejects(fetch(url), (err: unknown) => err instanceof ApiError && err.kind === 'network');
    assert.equal(arrivals.length, 5, 'tried three times in all');
    await limiter.stop();
  });

  it('waits out the whole second a Retry-After HTTP-date names (it cannot say which part of it)', async () => {
    const limiter = limiterOf(50);
    const fetch = limitedFetch(limiter, 5000);
    // A server whose limit frees 1000 ms after the first arrival, which it can only name as an
    // HTTP-date, in whole seconds: any earlier request is refused again, with the same date.
    let freeAt = 0;
    server.removeAllListeners('request');
    server.on('request', (_req, res) => {
      const now = Date.now();
      arrivals.push(now);
      if (freeAt === 0) freeAt = now + 1000;
      if (now < freeAt) {
        res.writeHead(429, {
          'content-type': 'application/json',
          'retry-after': new Date(freeAt).toUTCString(),
        });
        res.end('{"message":"Retry later"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[]');
    });
    assert.equal((await fetch(url)).status, 200);
    assert.equal(arrivals.length, 2, 'tried again once, after the limit freed');
    await limiter.stop();
  });

  it('retries a 502, 503 or 504 after a short back-off, not a 500', async () => {
    const limiter = limiterOf(50);
    const fetch = limitedFetch(limiter, 5000);
    answers = [{ status: 502 }, { status: 503 }];
    assert.equal((await fetch(url)).status, 200);
    assert.equal(arrivals.length, 3);
    answers = [{ status: 500 }];
    assert.equal((await fetch(url)).status, 500);
    assert.equal(arrivals.length, 4);
    await limiter.stop();
  });

  it('after a pause, the requests that waited start spaced, not together', async () => {
    const limiter = limiterOf(5);
    const fetch = limitedFetch(limiter, 5000);
    answers = [{ status: 429, headers: { 'retry-after': '1' } }];
    // One request is refused and pauses the API; nine more are queued meanwhile.
    const all = [fetch(url), ...Array.from({ length: 9 }, () => fetch(url))];
    await Promise.all(all);
    assert.equal(arrivals.length, 11);
    assert.ok(maxInAnySecond(arrivals) <= 5, `max ${maxInAnySecond(arrivals)} in a second`);
    await limiter.stop();
  });
});
