import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** SPEC section 4: larger bodies are refused with 413. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * Reads the whole body as bytes (signatures are computed over the raw bytes), refusing it
 * with 413 as soon as it is known to be too large.
 */
export async function readRawBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new HttpError(413, `body is larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw new HttpError(413, `body is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}
