import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/** A JSON answer, as routes outside Koa return it. */
export interface Answer {
  readonly status: number;
  readonly body: object;
}

interface ExposedError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

/**
 * The answer to a thrown error. Errors that carry `status` and `expose` (ours, Koa's, the
 * store's) show their message; anything else is a 500 whose details go to the log only.
 */
export function errorAnswer(err: unknown, log: Logger, where: { method: string; path: string }): Answer {
  const e = (err ?? {}) as ExposedError;
  const status = typeof e.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500;
  if (status >= 500) log.error({ err, ...where, status }, 'request failed');
  return {
    status,
    body: { error: e.expose === true && typeof e.message === 'string' ? e.message : 'internal error' },
  };
}

/** Writes an answer as Koa would write the same JSON body. */
export function sendAnswer(res: ServerResponse, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  res.writeHead(answer.status, [
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(text)),
  ]);
  res.end(text);
}
