import { ApiError, toApiError } from './api-error.js';
import { type ApiLimiter, parseNumber, parseRetryAfter, type RateLimitHints } from './limiter.js';

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** How often a request answered 429 is tried again, each time after the pause it asked for. */
const MAX_429_RETRIES = 2;

/** GitLab's `RateLimit-*` and GitHub's `x-ratelimit-*`, whichever the response carries. */
export function rateLimitHints(headers: Headers): RateLimitHints {
  const retryAfterS = parseRetryAfter(headers.get('retry-after'));
  const remaining = parseNumber(headers.get('ratelimit-remaining') ?? headers.get('x-ratelimit-remaining'));
  const resetAt = parseNumber(headers.get('ratelimit-reset') ?? headers.get('x-ratelimit-reset'));
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
      const response = await limiter.schedule(async () => {
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
      limiter.observe(response.status, rateLimitHints(response.headers));
      if (response.status !== 429 || attempt >= MAX_429_RETRIES) return checkedJson(response);
      await response.body?.cancel();
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
