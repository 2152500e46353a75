import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type Answer, sendAnswer } from './answer.js';

/** A POST route served without Koa: it answers every request itself and never throws. */
export type FastRoute = (req: IncomingMessage) => Promise<Answer>;

/**
 * Webhook intake is the hot path: GitLab and GitHub may send thousands of deliveries a second,
 * and Koa's context, router and response machinery cost about as much as the work itself.
 * POSTs to these exact paths (any query string) go straight to their route; every other
 * request, including other methods on the same paths, goes to `fallback` (the Koa app, where
 * the same routes are mounted too, so 405 and trailing-slash behaviour stay Koa's).
 */
export function withFastRoutes(
  routes: ReadonlyMap<string, FastRoute>,
  fallback: RequestListener,
  log: Logger,
): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const route = req.method === 'POST' ? routes.get(path) : undefined;
    if (route === undefined) {
      fallback(req, res);
      return;
    }
    const started = performance.now();
    void route(req).then((answer) => {
      sendAnswer(res, answer);
      if (log.isLevelEnabled('debug')) {
        log.debug(
          { method: req.method, path, status: answer.status, ms: performance.now() - started },
          'request',
        );
      }
    });
  };
}

/** A request header as one string; '' when absent (as Koa's `ctx.get`). */
export function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v.join(', ') : '';
}
