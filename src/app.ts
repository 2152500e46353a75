import type { RequestListener } from 'node:http';
import { Router } from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from './clock.js';
import type { EventProcessor } from './events/processor.js';
import { errorMiddleware } from './http/error-middleware.js';
import { type FastRoute, withFastRoutes } from './http/fast-routes.js';
import { healthRoutes } from './http/health-routes.js';
import { metricsRoutes } from './http/metrics-routes.js';
import type { LastReceived } from './metrics/last-received.js';
import type { MetricState } from './metrics/metric-state.js';
import type { ServiceMetrics } from './metrics/service-metrics.js';
import type { Catalog } from './push/catalog.js';
import { pushRoutes } from './push/push-routes.js';
import type { PushService } from './push/push-service.js';
import type { Secrets } from './secrets/secrets.js';
import type { WebhookChecker } from './sources/check-pool.js';
import { githubWebhookRoute } from './sources/github/route.js';
import { gitlabWebhookRoute } from './sources/gitlab/route.js';
import type { Store } from './store/store.js';

export interface AppDeps {
  log: Logger;
  clock: Clock;
  processor: EventProcessor;
  store: Store;
  registry: Registry;
  state: MetricState;
  metrics: ServiceMetrics;
  lastReceived: LastReceived;
  catalog: Catalog;
  push: PushService;
  secrets: Secrets;
  /** Where webhook bodies are read, authenticated and parsed (threads or the main thread). */
  checker: WebhookChecker;
}

/** The HTTP surface of SPEC section 2. No listen(), no globals: tests mount it on port 0. */
export function createApp(deps: AppDeps): RequestListener {
  const app = new Koa();
  app.silent = true;
  const log = deps.log.child({ component: 'http' });
  // Outside the error middleware, so that a request answered with an error (401, 404, 400) is
  // logged with the status it was answered with.
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      if (log.isLevelEnabled('debug')) {
        log.debug(
          { method: ctx.method, path: ctx.path, status: ctx.status, ms: performance.now() - started },
          'request',
        );
      }
    }
  });
  app.use(errorMiddleware(log));

  const router = new Router();
  healthRoutes(router, deps);
  metricsRoutes(router, deps);
  pushRoutes(router, deps);
  const webhooks = new Map<string, FastRoute>([
    ['/webhooks/gitlab', gitlabWebhookRoute(deps)],
    ['/webhooks/github', githubWebhookRoute(deps)],
  ]);
  for (const [path, route] of webhooks) {
    router.post(path, async (ctx) => {
      const answer = await route(ctx.req);
      ctx.status = answer.status;
      ctx.body = answer.body;
    });
  }
  app.use(router.routes());
  // Not thrown: the router then sets `Allow` (RFC 9110), and the error middleware adds a body.
  app.use(router.allowedMethods());
  return withFastRoutes(webhooks, app.callback(), log);
}
