import type { Middleware } from 'koa';
import type { Logger } from 'pino';

interface ExposedError {
  status?: unknown;
  expose?: unknown;
  message?: unknown;
}

/**
 * First in the chain: turns every thrown error into a JSON answer. Errors that carry
 * `status` and `expose` (ours, Koa's, the store's) show their message; anything else is a 500
 * whose details go to the log only.
 */
export function errorMiddleware(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        ctx.status = 404;
        ctx.body = { error: `no route for ${ctx.method} ${ctx.path}` };
      }
    } catch (err) {
      const e = (err ?? {}) as ExposedError;
      const status = typeof e.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500;
      if (status >= 500) log.error({ err, method: ctx.method, path: ctx.path, status }, 'request failed');
      ctx.status = status;
      ctx.body = { error: e.expose === true && typeof e.message === 'string' ? e.message : 'internal error' };
    }
  };
}
