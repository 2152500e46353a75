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

/** A known 5xx (the store refuses writes) is logged once per this long, with how often it came. */
const REPEAT_LOG_MS = 10_000;
const lastLogged = new Map<string, { at: number; repeated: number }>();

/**
 * The answer to a thrown error. Errors that carry `status` and `expose` (ours, Koa's, the
 * store's) show their message; anything else is a 500 whose details go to the log only.
 *
 * An exposed 5xx is a known condition (the store is unavailable), not a bug: it is logged as a
 * warning without its stack, and during an outage once every REPEAT_LOG_MS per message with the
 * number of requests it answered meanwhile, rather than one line per request.
 */
export function errorAnswer(err: unknown, log: Logger, where: { method: string; path: string }): Answer {
  const e = (err ?? {}) as ExposedError;
  const status = typeof e.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500;
  if (status >= 500 && e.expose === true && typeof e.message === 'string') {
    const now = performance.now();
    const last = lastLogged.get(e.message);
    if (last !== undefined && now - last.at < REPEAT_LOG_MS) {
      last.repeated++;
    } else {
      if (lastLogged.size > 100) lastLogged.clear();
      lastLogged.set(e.message, { at: now, repeated: 0 });
      const cause = (err as { cause?: { message?: unknown } }).cause?.message;
      log.warn(
        {
          ...where,
          status,
          error: e.message,
          ...(typeof cause === 'string' ? { cause } : {}),
          ...(last !== undefined && last.repeated > 0 ? { sameAnswersSinceLastLine: last.repeated } : {}),
        },
        'request failed',
      );
    }
  } else if (status >= 500) {
    log.error({ err, ...where, status }, 'request failed');
  }
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
