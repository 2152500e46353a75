import type { FetchLike } from './limited-fetch.js';

/** The bodies kept for conditional requests, at most this many bytes in all. */
const MAX_BYTES = 16 * 1024 * 1024;

interface Kept {
  readonly etag: string;
  readonly body: ArrayBuffer;
  readonly headers: Array<[string, string]>;
  readonly url: string;
}

/**
 * GETs that carry the ETag of their last answer (`If-None-Match`). GitHub answers 304 when
 * nothing changed, and a 304 does not count against its rate limit: the runs list a scraper
 * reads every minute for every repository costs nothing while the repository is quiet. The
 * caller gets the kept answer as a 200, as if it had been sent again. Answers are kept in
 * memory, the least recently used dropped past MAX_BYTES; a restart starts without them.
 */
export function conditionalFetch(inner: FetchLike, maxBytes = MAX_BYTES): FetchLike {
  const kept = new Map<string, Kept>();
  let bytes = 0;
  const forget = (key: string) => {
    const k = kept.get(key);
    if (k === undefined) return;
    kept.delete(key);
    bytes -= k.body.byteLength;
  };
  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (method !== 'GET') return inner(input, init);
    const key = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const last = kept.get(key);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (last !== undefined) headers.set('if-none-match', last.etag);
    const response = await inner(input, { ...init, headers });
    if (response.status === 304 && last !== undefined) {
      // Most recently used: to the end of the map's order.
      kept.delete(key);
      kept.set(key, last);
      const again = new Response(last.body.slice(0), { status: 200, headers: last.headers });
      Object.defineProperty(again, 'url', { value: last.url });
      return again;
    }
    forget(key);
    const etag = response.headers.get('etag');
    if (response.status === 200 && etag !== null) {
      const body = await response.clone().arrayBuffer();
      if (body.byteLength <= maxBytes) {
        kept.set(key, { etag, body, headers: [...response.headers], url: response.url });
        bytes += body.byteLength;
        for (const old of kept.keys()) {
          if (bytes <= maxBytes) break;
          forget(old);
        }
      }
    }
    return response;
  };
}
