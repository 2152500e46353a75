/** SPEC/issue classes of scraper errors: each is counted in `delivery_scrape_errors_total{kind}`. */
export type ApiErrorKind =
  'auth' | 'not_found' | 'rate_limited' | 'upstream_5xx' | 'timeout' | 'bad_payload' | 'network' | 'other';

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

export function kindOfStatus(status: number): ApiErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'upstream_5xx';
  return 'other';
}

/**
 * Turns anything a request threw into an ApiError with a kind. Clients wrap what our fetch
 * threw (octokit: a RequestError whose `cause` is it), so the cause chain is searched first.
 */
export function toApiError(err: unknown): ApiError {
  const chain: Array<{ name?: string; message?: string; status?: unknown; code?: string; cause?: unknown }> =
    [];
  for (
    let e = err as { cause?: unknown } | undefined, depth = 0;
    e !== undefined && e !== null && depth < 5;
    depth++
  ) {
    if (e instanceof ApiError) return e;
    chain.push(e as (typeof chain)[number]);
    e = (e as { cause?: unknown }).cause as { cause?: unknown } | undefined;
  }
  const top = chain[0] ?? {};
  const message = top.message ?? String(err);
  if (chain.some((e) => e.name === 'SyntaxError') || /JSON/.test(message)) {
    return new ApiError('bad_payload', `response is not valid JSON: ${message}`, undefined, { cause: err });
  }
  if (chain.some((e) => e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new ApiError('timeout', 'request timed out', undefined, { cause: err });
  }
  const code = chain.find((e) => typeof e.code === 'string')?.code;
  // Node's system errors (ECONNRESET, ECONNREFUSED, …) and undici's for a socket closed or
  // reset under a request (UND_ERR_SOCKET, UND_ERR_CLOSED, UND_ERR_CONNECT_TIMEOUT).
  if (code !== undefined && /^(E[A-Z]+|UND_ERR_(SOCKET|CLOSED|CONNECT_TIMEOUT))/.test(code))
    return new ApiError('network', `cannot reach the API (${code})`, undefined, { cause: err });
  if (typeof top.status === 'number')
    return new ApiError(kindOfStatus(top.status), message, top.status, { cause: err });
  return new ApiError('other', message, undefined, { cause: err });
}
