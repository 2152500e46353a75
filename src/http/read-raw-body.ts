import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** SPEC section 4: larger bodies are refused with 413. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Reads the whole body as bytes (signatures are computed over the raw bytes), refusing it
 * with 413 as soon as it is known to be too large. Events rather than `for await`: this runs
 * for every webhook, and the async iterator costs several microseconds a request.
 */
export function readRawBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, `body is larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(new HttpError(413, `body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
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
