import { Octokit } from '@octokit/rest';
import { conditionalFetch } from '../conditional-fetch.js';
import { type FetchLike, limitedFetch } from '../limited-fetch.js';
import type { ApiLimiter } from '../limiter.js';

/**
 * @octokit/rest without the throttling and retry plugins (it ships none): its requests, each
 * page of a list included, go through the API's limiter by way of its `request.fetch`, so the
 * limiter is the only budget; they are conditional (see conditionalFetch), so an unchanged
 * answer costs none of GitHub's budget.
 */
export function createGithubClient(options: {
  apiUrl: URL;
  /** The token of each request, looked up then (it may have been rotated). */
  token: () => string | undefined;
  limiter: ApiLimiter;
  timeoutMs: number;
}): Octokit {
  const limited = limitedFetch(options.limiter, options.timeoutMs);
  const authorized: FetchLike = (input, init) => {
    const token = options.token();
    if (token === undefined || token === '') return limited(input, init);
    const headers = new Headers(init?.headers);
    headers.set('authorization', `token ${token}`);
    return limited(input, { ...init, headers });
  };
  return new Octokit({
    baseUrl: options.apiUrl.href.replace(/\/+$/, ''),
    request: { fetch: conditionalFetch(authorized) },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}
