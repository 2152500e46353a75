import type { Router, RouterContext } from '@koa/router';
import { HttpError } from '../http/http-error.js';
import { readRawBody } from '../http/read-raw-body.js';
import { SeriesBudgetError } from '../metrics/family.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { Secrets } from '../secrets/secrets.js';
import { digest, matchesAnyDigest } from '../secrets/timing-safe.js';
import type { Catalog, PushMetricDef } from './catalog.js';
import { parsePushBody } from './parse-push-body.js';
import { describeCatalog, PUSH_OPERATIONS, type PushOperation, type PushService } from './push-service.js';

interface Deps {
  catalog: Catalog;
  push: PushService;
  secrets: Secrets;
  metrics: ServiceMetrics;
}

/** Push bodies are two short fields; a megabyte is generous. */
const MAX_PUSH_BODY = 1024 * 1024;

const OUTCOME_OF_STATUS: Record<number, string> = {
  200: 'ok',
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'unknown_metric',
  413: 'invalid',
  415: 'invalid',
  503: 'unavailable',
};

/** Not found, but the metric is: the operation is not one there is. */
class UnknownOperationError extends HttpError {
  constructor(op: string) {
    super(404, `unknown operation '${op}': use observe, inc, dec or set`);
  }
}

/** SPEC section 6: `/api/<metric>/<op>`, `DELETE /api/<metric>`, `GET /api`. */
export function pushRoutes(router: Router, deps: Deps): void {
  const catalogJson = describeCatalog(deps.catalog);
  router.get('/api', (ctx) => {
    ctx.body = catalogJson;
  });

  router.post('/api/:metric/:op', (ctx) =>
    counted(ctx, deps, async (def) => {
      const op = ctx.params.op as PushOperation;
      if (!PUSH_OPERATIONS.includes(op)) throw new UnknownOperationError(ctx.params.op ?? '');
      // `inc?value=5` must not count 1 with a 200: fields come in the body only (SPEC section 6).
      if (ctx.querystring !== '') {
        throw new HttpError(
          400,
          'fields go in the body (form-encoded, multipart or JSON), not in the query string',
        );
      }
      const fields = await parsePushBody(
        ctx.get('content-type') || undefined,
        await readRawBody(ctx.req, MAX_PUSH_BODY),
      );
      await deps.push.apply(def, op, fields);
    }),
  );

  router.delete('/api/:metric', (ctx) =>
    counted(ctx, deps, async (def) => {
      // DELETE clears the whole metric. Someone who adds `-d labels=a` or `?labels=a` means one
      // series: that is refused rather than taken as "all of them".
      const body = await readRawBody(ctx.req, MAX_PUSH_BODY);
      if (ctx.querystring !== '' || body.length > 0) {
        throw new HttpError(
          400,
          'DELETE resets the whole metric and takes no fields; to change one series, POST to it',
        );
      }
      await deps.push.reset(def);
    }),
  );
}

/** Authenticates, finds the metric, runs `work`, answers, and counts the outcome. */
async function counted(
  ctx: RouterContext,
  deps: Deps,
  work: (def: PushMetricDef) => Promise<void>,
): Promise<void> {
  const def = deps.catalog.byName.get(ctx.params.metric ?? '');
  let outcome = 'error';
  try {
    const tokens = deps.secrets.digests('AUTH_TOKEN');
    if (tokens.length === 0)
      throw new HttpError(403, 'the push API is disabled: set AUTH_TOKEN to enable it');
    const given = ctx.get('x-private-token');
    if (!matchesAnyDigest(given === '' ? undefined : digest(given), tokens)) {
      throw new HttpError(401, 'X-Private-Token is missing or wrong');
    }
    if (def === undefined)
      throw new HttpError(404, `unknown metric '${ctx.params.metric}': GET /api lists the catalog`);
    await work(def);
    ctx.body = { status: 'ok' };
    outcome = 'ok';
  } catch (err) {
    if (err instanceof SeriesBudgetError) {
      outcome = 'dropped';
      deps.metrics.seriesDropped.inc({ metric: err.metric });
    } else if (err instanceof UnknownOperationError) {
      outcome = 'invalid';
    } else {
      outcome = OUTCOME_OF_STATUS[(err as { status?: number }).status ?? 500] ?? 'error';
    }
    throw err;
  } finally {
    deps.metrics.pushRequests.inc({ metric: def?.name ?? 'unknown', outcome });
  }
}
