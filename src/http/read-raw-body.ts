import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** SPEC section 4: larger bodies are refused with 413. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Bytes of request bodies held at once, over all requests. A body must be read whole before
 * its signature can be checked, so without a bound sixty unauthenticated 10 MiB bodies took
 * 760 MB. Past it, a body is refused with 503 (and sent again by a sender that retries); a
 * thousand 64 KiB webhooks at once stay well within it.
 */
export const MAX_BODY_BYTES_IN_FLIGHT = 64 * 1024 * 1024;
let inFlight = 0;

/**
 * 413 for a body over `limit` bytes, as read or as declared. The rest of the body is read and
 * dropped, not kept (closing the connection at once could lose the answer to a reset); the
 * server's request timeout (service.ts) bounds how long a client can keep sending.
 */
function tooLarge(req: IncomingMessage, limit: number): HttpError {
  req.resume();
  return new HttpError(413, `body is larger than ${limit} bytes`);
}

/**
 * Reads the whole body as bytes (signatures are computed over the raw bytes), refusing it
 * with 413 as soon as it is known to be too large. Events rather than `for await`: this runs
 * for every webhook, and the async iterator costs several microseconds a request.
 */
export function readRawBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(req, limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      inFlight += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(req, limit));
        return;
      }
      if (inFlight > MAX_BODY_BYTES_IN_FLIGHT) {
        cleanup();
        req.resume();
        reject(
          new HttpError(503, 'too many request bodies are being received at once; send it again shortly'),
        );
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const total = size;
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    // The client went away before the body was complete: Node says so with an `aborted` error,
    // then `close`. Its fault, not ours (a 400, not a 500 logged as a server error).
    const closed = () => new HttpError(400, 'the request was closed before its body arrived');
    const onError = (err: Error) => {
      cleanup();
      reject(req.complete ? err : closed());
    };
    const onClose = () => onError(closed());
    const cleanup = () => {
      // The body is handed on or dropped: it no longer counts as being received.
      inFlight -= size;
      size = 0;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
