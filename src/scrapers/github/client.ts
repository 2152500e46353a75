import { Octokit } from '@octokit/rest';
import { conditionalFetch } from '../conditional-fetch.js';
import { limitedFetch } from '../limited-fetch.js';
import type { ApiLimiter } from '../limiter.js';

/**
 * @octokit/rest without the throttling and retry plugins (it ships none): its requests, each
 * page of a list included, go through the API's limiter by way of its `request.fetch`, so the
 * limiter is the only budget; they are conditional (see conditionalFetch), so an unchanged
 * answer costs none of GitHub's budget.
 */
export function createGithubClient(options: {
  apiUrl: URL;
  token: string | undefined;
  limiter: ApiLimiter;
  timeoutMs: number;
}): Octokit {
  return new Octokit({
    baseUrl: options.apiUrl.href.replace(/\/+$/, ''),
    ...(options.token ? { auth: options.token } : {}),
    request: { fetch: conditionalFetch(limitedFetch(options.limiter, options.timeoutMs)) },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}
