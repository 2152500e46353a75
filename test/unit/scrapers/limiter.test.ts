import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { rateLimitHints } from '../../../src/scrapers/limited-fetch.js';
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
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString();
    const seconds = parseRetryAfter(inTwoSeconds) ?? 0;
    assert.ok(seconds > 0 && seconds <= 2);
    assert.equal(parseRetryAfter('soon'), undefined);
  });
});
