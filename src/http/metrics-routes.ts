import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { Registry } from 'prom-client';
import { toUpperSnake } from '../config/parse.js';
import { exposeAll, exposeGroup } from '../metrics/exposition.js';
import { gzipAll } from '../metrics/gzip-exposition.js';
import type { MetricState } from '../metrics/metric-state.js';
import { TEXT_CONTENT_TYPE } from '../metrics/text-format.js';
import type { Secrets } from '../secrets/secrets.js';
import { digest, matchesAnyDigest } from '../secrets/timing-safe.js';
import { bearerToken } from './bearer.js';
import { HttpError } from './http-error.js';

const GZIP_LEVEL = 1;

interface Deps {
  registry: Registry;
  state: MetricState;
  secrets: Secrets;
}

/** `/metrics` (optionally behind METRICS_TOKEN) and `/prom/<group>/metrics` (SPEC section 7). */
export function metricsRoutes(router: Router, deps: Deps): void {
  router.get('/metrics', async (ctx) => {
    const tokens = deps.secrets.digests('METRICS_TOKEN');
    if (tokens.length > 0 && !matchesAnyDigest(bearerDigest(ctx.headers), tokens)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, 'a valid METRICS_TOKEN bearer token is required');
    }
    respond(ctx, exposeAll(deps.registry, deps.state), () => gzipAll(deps.registry, deps.state));
  });

  // A group may be nested (`acme/platform`), so it spans any number of path segments.
  router.get(/^\/prom\/(.+)\/metrics$/, async (ctx) => {
    const group = safeDecode(ctx.path.slice('/prom/'.length, -'/metrics'.length));
    const tokens = deps.secrets.digests(`PROM_GROUP_TOKEN_${toUpperSnake(group)}`);
    if (tokens.length === 0) throw new HttpError(404, `no metrics endpoint for group '${group}'`);
    if (!matchesAnyDigest(bearerDigest(ctx.headers), tokens)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, `a valid bearer token for group '${group}' is required`);
    }
    respond(ctx, exposeGroup(deps.registry, deps.state, group));
  });
}

/**
 * Streams the text as it is rendered, gzipped when the client asks for it (Prometheus does).
 * Compression runs on libuv's thread pool, off the event loop; level 1 because at 100,000
 * series the text is hundreds of megabytes and higher levels cost far more time for little
 * gain on such repetitive text.
 */
function respond(ctx: Context, text: AsyncGenerator<Buffer>, gzipped?: () => AsyncGenerator<Buffer>): void {
  ctx.type = TEXT_CONTENT_TYPE;
  ctx.vary('Accept-Encoding');
  if (ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    // The full exposition reuses compressed blocks that did not change (see gzip-exposition.ts).
    ctx.body =
      gzipped !== undefined
        ? Readable.from(gzipped())
        : pipeline(Readable.from(text), createGzip({ level: GZIP_LEVEL }), () => undefined);
  } else {
    ctx.body = Readable.from(text);
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function bearerDigest(headers: Parameters<typeof bearerToken>[0]): Buffer | undefined {
  const token = bearerToken(headers);
  return token === undefined || token === '' ? undefined : digest(token);
}
