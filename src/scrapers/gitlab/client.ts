import { createRequesterFn } from '@gitbeaker/requester-utils';
import { Gitlab } from '@gitbeaker/rest';
import { ApiError, kindOfStatus } from '../api-error.js';
import { limitedFetch, readJson } from '../limited-fetch.js';
import type { ApiLimiter } from '../limiter.js';

export type GitlabClient = InstanceType<typeof Gitlab<false>>;

interface HandlerOptions {
  method?: string;
  headers?: Record<string, string>;
  prefixUrl?: string;
  searchParams?: string;
  body?: string | FormData;
  signal?: AbortSignal;
}

/**
 * @gitbeaker/rest with its request handler replaced. Its own handler keeps a per-endpoint
 * limiter and retries 429 and 502 up to ten times with millisecond back-off, ignoring
 * `Retry-After`; that would be a second budget, blind to ours. Here every request, each page
 * of a list included, is one call through the API's limiter (see ApiLimiter).
 */
export function createGitlabClient(options: {
  url: URL;
  /** The token of each request, looked up then (it may have been rotated). */
  token: () => string | undefined;
  limiter: ApiLimiter;
  timeoutMs: number;
}): GitlabClient {
  const doFetch = limitedFetch(options.limiter, options.timeoutMs);
  const requesterFn = createRequesterFn(
    (_, requestOptions) => Promise.resolve(requestOptions),
    async (endpoint: string, o?: Record<string, unknown>) => {
      const { method = 'GET', headers, prefixUrl, searchParams, body, signal } = (o ?? {}) as HandlerOptions;
      const base =
        prefixUrl === undefined ? undefined : prefixUrl.endsWith('/') ? prefixUrl : `${prefixUrl}/`;
      const url = new URL(endpoint, base);
      url.search = searchParams ?? '';
      const token = options.token();
      // Replaces gitbeaker's own (empty) PRIVATE-TOKEN, whatever its case.
      const sent = new Headers(headers);
      if (token === undefined || token === '') sent.delete('private-token');
      else sent.set('private-token', token);
      const response = await doFetch(url, {
        method,
        headers: sent,
        ...(body === undefined ? {} : { body }),
        ...(signal ? { signal } : {}),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw new ApiError(
          kindOfStatus(response.status),
          `GitLab answered ${response.status} to GET ${url.pathname}`,
          response.status,
        );
      }
      const contentType = response.headers.get('content-type') ?? '';
      const parsed = contentType.includes('json') ? await readJson(response) : await response.text();
      return {
        body: (parsed ?? {}) as Record<string, unknown>,
        headers: withNextLink(url, Object.fromEntries(response.headers.entries())),
        status: response.status,
      };
    },
  );
  return new Gitlab({
    host: options.url.origin + options.url.pathname.replace(/\/+$/, ''),
    // Set per request by the handler above.
    token: '',
    requesterFn,
    queryTimeout: null,
  });
}

/**
 * gitbeaker follows only the Link header's `rel="next"` to the next page. GitLab sends it with
 * `X-Next-Page`, but a proxy in front of it may drop Link (and a look-alike API may never send
 * it): then page 1 would be all there is. A missing Link is made from `X-Next-Page`.
 */
function withNextLink(url: URL, headers: Record<string, string>): Record<string, string> {
  if (headers.link !== undefined && headers.link !== '') return headers;
  const next = Number(headers['x-next-page']);
  if (!Number.isSafeInteger(next) || next < 1) return headers;
  const href = new URL(url);
  href.searchParams.set('page', String(next));
  return { ...headers, link: `<${href.href}>; rel="next"` };
}
