import type { Router, RouterContext } from '@koa/router';
import type { Store } from '../store/store.js';

/** Liveness and readiness (SPEC section 2). Readiness asks the store. */
export function healthRoutes(router: Router, deps: { store: Store }): void {
  router.get('/-/healthy', (ctx) => {
    ctx.body = { status: 'healthy' };
  });
  const ready = async (ctx: RouterContext) => {
    try {
      await deps.store.ping();
      ctx.body = { status: 'ready' };
    } catch (err) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', error: (err as Error).message };
    }
  };
  router.get('/-/ready', ready);
  router.get('/health', ready);
}
