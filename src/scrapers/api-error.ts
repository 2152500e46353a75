/** SPEC/issue classes of scraper errors: each is counted in `delivery_scrape_errors_total{kind}`. */
export type ApiErrorKind =
  | 'auth'
  | 'not_found'
  | 'rate_limited'
  | 'upstream_5xx'
  | 'timeout'
  | 'bad_payload'
  | 'network'
  | 'other';

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

/** Turns anything a request threw into an ApiError with a kind. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { name?: string; message?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return new ApiError('timeout', 'request timed out', undefined, { cause: err });
  if (e.name === 'SyntaxError')
    return new ApiError('bad_payload', `response is not valid JSON: ${e.message}`, undefined, { cause: err });
  const code = e.cause?.code;
  if (code !== undefined)
    return new ApiError('network', `cannot reach the API (${code})`, undefined, { cause: err });
  return new ApiError('other', e.message ?? String(err), undefined, { cause: err });
}
