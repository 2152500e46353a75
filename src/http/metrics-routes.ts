import type { ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { Registry } from 'prom-client';
import { toUpperSnake } from '../config/parse.js';
import { exposeAll, exposeGroup } from '../metrics/exposition.js';
import { gzipAll } from '../metrics/gzip-exposition.js';
import type { MetricState } from '../metrics/metric-state.js';
import {
  type ExpositionFormat,
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
} from '../metrics/text-format.js';
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
    const format = negotiateFormat(ctx.get('accept'));
    respond(ctx, format, exposeAll(deps.registry, deps.state, format), () =>
      gzipAll(deps.registry, deps.state, format),
    );
  });

  // A group may be nested (`acme/platform`), so it spans any number of path segments.
  // A trailing slash is served too, as it is for /metrics.
  const groupPath = /^\/prom\/(.+?)\/metrics\/?$/;
  router.get(groupPath, async (ctx) => {
    const group = safeDecode(groupPath.exec(ctx.path)?.[1] ?? '');
    const tokens = deps.secrets.digests(`PROM_GROUP_TOKEN_${toUpperSnake(group)}`);
    if (tokens.length === 0) throw new HttpError(404, `no metrics endpoint for group '${group}'`);
    if (!matchesAnyDigest(bearerDigest(ctx.headers), tokens)) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new HttpError(401, `a valid bearer token for group '${group}' is required`);
    }
    const format = negotiateFormat(ctx.get('accept'));
    respond(ctx, format, exposeGroup(deps.registry, deps.state, group, format));
  });
}

/**
 * Streams the text as it is rendered, gzipped when the client asks for it (Prometheus does).
 * Compression runs on libuv's thread pool, off the event loop; level 1 because at 100,000
 * series the text is hundreds of megabytes and higher levels cost far more time for little
 * gain on such repetitive text.
 */
function respond(
  ctx: Context,
  format: ExpositionFormat,
  text: AsyncGenerator<Buffer>,
  gzipped?: () => AsyncGenerator<Buffer>,
): void {
  ctx.type = format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
  ctx.vary('Accept');
  ctx.vary('Accept-Encoding');
  if (ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
    ctx.set('Content-Encoding', 'gzip');
    if (gzipped === undefined) {
      ctx.body = pipeline(Readable.from(text), createGzip({ level: GZIP_LEVEL }), () => undefined);
      return;
    }
    // The full exposition reuses compressed blocks that did not change (see gzip-exposition.ts).
    text = gzipped();
  }
  // Written straight to the socket: at ~280 MB a stream pipeline's per-chunk cost shows.
  ctx.respond = false;
  ctx.res.statusCode = 200;
  if (ctx.method === 'HEAD') {
    // Headers only: nothing is rendered.
    void text.return(undefined);
    ctx.res.end();
    return;
  }
  void pump(ctx.res, text);
}

/** Writes every chunk, waiting for the socket to drain when it asks to; stops if it closes. */
async function pump(res: ServerResponse, chunks: AsyncGenerator<Buffer>): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) break;
      if (!res.write(chunk) && !(await drained(res))) break;
    }
    if (!res.destroyed) res.end();
  } catch (err) {
    res.destroy(err as Error);
  } finally {
    await chunks.return(undefined);
  }
}

function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = done(true);
    const onClose = done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
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
