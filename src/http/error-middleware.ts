import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { errorAnswer } from './answer.js';

/** First in the chain: turns every thrown error into a JSON answer (see `errorAnswer`). */
export function errorMiddleware(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body == null) {
        ctx.status = 404;
        ctx.body = { error: `no route for ${ctx.method} ${ctx.path}` };
      } else if ((ctx.status === 405 || ctx.status === 501) && ctx.body == null) {
        const status = ctx.status;
        const allowed = ctx.response.get('Allow');
        ctx.body = {
          error: `${ctx.method} is not ${status === 405 ? 'allowed' : 'implemented'} for ${ctx.path}: use ${allowed}`,
        };
        ctx.status = status;
      }
    } catch (err) {
      const answer = errorAnswer(err, log, { method: ctx.method, path: ctx.path });
      ctx.status = answer.status;
      ctx.body = answer.body;
    }
  };
}
