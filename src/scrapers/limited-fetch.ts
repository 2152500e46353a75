import { ApiError, toApiError } from './api-error.js';
import { type ApiLimiter, parseNumber, parseRetryAfter, type RateLimitHints } from './limiter.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * How often a request refused for its rate (429; GitHub's 403 with a rate limit) is tried
 * again, each time after the pause it asked for; and one answered 502, 503 or 504, which both
 * APIs give for a moment during their own deploys, or whose connection was reset, after a
 * short back-off.
 */
const MAX_RETRIES = 2;
const RETRY_STATUSES = new Set([502, 503, 504]);
const BACKOFF_MS = 1000;

/**
 * A connection reset or closed under a request (a load balancer or proxy restarting): worth
 * another try. A refused connection or an unknown host is not: the API is down, and the run
 * should end soon rather than wait on each request.
 */
function isReset(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    err.kind === 'network' &&
    /\((ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED)\)/.test(err.message)
  );
}

/**
 * GitHub answers 403, not only 429, when a primary rate limit is used up (`x-ratelimit-remaining:
 * 0`) or a secondary one is hit (`retry-after`, or a message saying so); any other 403 is a
 * permission problem.
 */
async function isRateLimit403(response: Response, hints: RateLimitHints): Promise<boolean> {
  if (response.status !== 403) return false;
  if (hints.remaining === 0 || hints.retryAfterS !== undefined) return true;
  const text = await response
    .clone()
    .text()
    .catch(() => '');
  return /rate limit/i.test(text);
}

/** GitLab's `RateLimit-*` and GitHub's `x-ratelimit-*`, whichever the response carries. */
export function rateLimitHints(headers: Headers): RateLimitHints {
  const retryAfterS = parseRetryAfter(headers.get('retry-after'));
  const remaining = parseNumber(headers.get('ratelimit-remaining') ?? headers.get('x-ratelimit-remaining'));
  let resetAt = parseNumber(headers.get('ratelimit-reset') ?? headers.get('x-ratelimit-reset'));
  // GitLab and GitHub send Unix seconds; the IETF RateLimit header draft (some proxies and
  // gateways in front of them) sends seconds from now. No Unix time of this century is that small.
  if (resetAt !== undefined && resetAt < 1_000_000_000) resetAt = Date.now() / 1000 + resetAt;
  return {
    ...(retryAfterS === undefined ? {} : { retryAfterS }),
    ...(remaining === undefined ? {} : { remaining }),
    ...(resetAt === undefined ? {} : { resetAt }),
  };
}

/**
 * A fetch whose every call goes through the API's limiter, with a time limit, and whose
 * responses feed the limiter's pause and the API metrics. Answers 429 are tried again after
 * the pause; any other status is returned to the caller as is.
 */
export function limitedFetch(limiter: ApiLimiter, timeoutMs: number): FetchLike {
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await limiter.schedule(async () => {
          const signal = init?.signal
            ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
            : AbortSignal.timeout(timeoutMs);
          try {
            return await fetch(input instanceof Request ? input.clone() : input, { ...init, signal });
          } catch (err) {
            limiter.failed();
            throw toApiError(err);
          }
        });
      } catch (err) {
        // Tried again like a 502; every scraper request is a GET.
        if (isReset(err) && attempt < MAX_RETRIES && init?.signal?.aborted !== true) {
          await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt * (0.5 + Math.random())));
          continue;
        }
        throw err;
      }
      const hints = rateLimitHints(response.headers);
      const limited = response.status === 429 || (await isRateLimit403(response, hints));
      limiter.observe(response.status, hints, limited);
      if (!limited && !RETRY_STATUSES.has(response.status)) {
        try {
          return await checkedJson(response);
        } catch (err) {
          // A body cut short by a closed connection (headers sent, then a proxy restarting):
          // tried again like a reset.
          const e = toApiError(err);
          if (isReset(e) && attempt < MAX_RETRIES && init?.signal?.aborted !== true) {
            await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt * (0.5 + Math.random())));
            continue;
          }
          throw e;
        }
      }
      if (attempt >= MAX_RETRIES) {
        if (response.status !== 403) return checkedJson(response);
        await response.body?.cancel();
        const where = response.url === '' ? 'a request' : new URL(response.url).pathname;
        throw new ApiError('rate_limited', `${where}: refused for its rate (403)`, 403);
      }
      await response.body?.cancel();
      // A rate limit pauses the limiter itself; a 5xx waits here, a little longer each time.
      if (!limited)
        await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt * (0.5 + Math.random())));
    }
  };
}

/**
 * A JSON answer that does not parse is an error here, once for every client: octokit would
 * otherwise hand the raw text on as if it were the data.
 */
async function checkedJson(response: Response): Promise<Response> {
  if (!response.ok || !(response.headers.get('content-type') ?? '').includes('json')) return response;
  // A clone is read, so the response keeps its body and its url (octokit pages from it).
  const text = await response.clone().text();
  try {
    if (text !== '') JSON.parse(text);
  } catch {
    await response.body?.cancel();
    throw new ApiError('bad_payload', `response of ${response.url} is not valid JSON`, response.status);
  }
  return response;
}

/** Reads a JSON body, turning a malformed one into a `bad_payload` ApiError. */
export async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError('bad_payload', `response of ${response.url} is not valid JSON`, response.status);
  }
}
