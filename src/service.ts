import { createServer, type Server } from 'node:http';
import { sendAnswer } from './http/answer.js';
import { MAX_BODY_BYTES } from './http/read-raw-body.js';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createApp } from './app.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { EventProcessor } from './events/processor.js';
import { defineDeliveryFamilies } from './metrics/delivery-families.js';
import { LastReceived } from './metrics/last-received.js';
import { MetricState } from './metrics/metric-state.js';
import { createServiceMetrics } from './metrics/service-metrics.js';
import { PushService } from './push/push-service.js';
import { type WebhookChecker, webhookChecker } from './sources/check-pool.js';
import { Scrapers } from './scrapers/scrapers.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { Store } from './store/store.js';
import { traceSinkOf } from './traces/trace-sink.js';

export interface RunningService {
  readonly server: Server;
  readonly port: number;
  readonly store: Store;
  readonly processor: EventProcessor;
  readonly scrapers: Scrapers;
  /** Where webhook bodies are read, authenticated and parsed (`WEBHOOK_THREADS`). */
  readonly checker: WebhookChecker;
  /** Stops accepting, lets requests in flight finish, flushes and closes the store. */
  stop(): Promise<void>;
}

/** How often jobs without news are looked for (they leave `delivery_jobs_active` after 24 h). */
const SWEEP_MS = 10 * 60_000;

/** How long in-flight requests get to finish on stop before their connections are cut. */
const DRAIN_MS = 8_000;

export class ListenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ListenError';
  }
}

/** Builds every dependency once, from the config, and starts listening. */
export async function startService(
  config: Config,
  deps: { log: Logger; clock: Clock; scrape?: boolean; requestTimeoutMs?: number },
): Promise<RunningService> {
  const { log, clock } = deps;
  const store = new SqliteStore(config.dataDir, clock, { log: log.child({ component: 'store' }) });
  const registry = new Registry();
  const metrics = createServiceMetrics(registry);
  metrics.experiments.inc(config.catalog.metrics.filter((m) => m.experiment).length);
  const state = new MetricState({ store, log: log.child({ component: 'state' }) });
  // Event metrics first: their HELP text covers the name they share with the push catalog.
  const families = defineDeliveryFamilies(state);
  const lastReceived = new LastReceived({
    state,
    store,
    log: log.child({ component: 'last-received' }),
    onDropped: (metric) => metrics.seriesDropped.inc({ metric }),
  });
  const push = new PushService({ catalog: config.catalog, state });
  await state.load();
  const traces = traceSinkOf(config, log);
  const processor = new EventProcessor({
    store,
    state,
    families,
    metrics,
    clock,
    log: log.child({ component: 'events' }),
    trackedRefs: config.trackedRefs,
    ...(traces === undefined ? {} : { traces }),
  });
  const scrapers = new Scrapers({
    config,
    store,
    processor,
    registry,
    clock,
    log,
    ...(deps.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: deps.requestTimeoutMs }),
  });
  const sweep = setInterval(() => {
    processor.expireActiveJobs().catch((err: unknown) => log.warn({ err }, 'expiring active jobs failed'));
  }, SWEEP_MS);
  sweep.unref();
  const secretsLog = log.child({ component: 'secrets' });
  // Names only, never contents; here rather than in Secrets, whose copy in each check thread
  // would say it again.
  for (const { files, message } of config.warnings) secretsLog.warn({ files }, message);
  config.secrets.watch(secretsLog);
  const checker = webhookChecker({
    threads: config.webhookThreads,
    secrets: config.secrets,
    log: log.child({ component: 'webhook-check' }),
  });

  const handler = createApp({
    log,
    clock,
    processor,
    store,
    registry,
    state,
    metrics,
    lastReceived,
    catalog: config.catalog,
    push,
    secrets: config.secrets,
    checker,
  });
  const server = createServer(handler);
  // Behind a load balancer a kept-alive connection may be reused just as we close it.
  server.keepAliveTimeout = 65_000;
  // GitLab and GitHub give up on a webhook after 10 s (GitLab at most 60 s): a request still
  // arriving after a minute is a stuck or hostile client, not a delivery (Node's default: 300 s).
  server.requestTimeout = 60_000;
  server.headersTimeout = 30_000;
  // `Expect: 100-continue` with a declared body over the limit is refused before it is sent.
  server.on('checkContinue', (req, res) => {
    if (Number(req.headers['content-length']) > MAX_BODY_BYTES) {
      sendAnswer(res, { status: 413, body: { error: `body is larger than ${MAX_BODY_BYTES} bytes` } });
      return;
    }
    res.writeContinue();
    handler(req, res);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await checker.close();
    await traces?.shutdown();
    await store.close();
    config.secrets.close();
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${config.listen.host ?? ''}:${config.listen.port}`;
    throw new ListenError(
      code === 'EADDRINUSE'
        ? `Port ${config.listen.port} is already in use. Set LISTEN_ADDRESS to a free host:port (now '${where}').`
        : `Cannot listen on '${where}' (${code ?? String(err)}). Check LISTEN_ADDRESS.`,
      { cause: err },
    );
  }
  const { port } = server.address() as AddressInfo;
  log.info({ port, host: config.listen.host ?? '0.0.0.0', store: store.kind }, 'listening');
  if (deps.scrape !== false) scrapers.start();
  lastReceived.start();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(sweep);
      await scrapers.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A kept-alive connection turns idle once its last request is answered: close those as
      // they come, and cut whatever is still open when the drain time is up.
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
      await closed;
      clearInterval(idle);
      clearTimeout(cut);
      await checker.close();
      // Requests are answered (or cut): save the last timestamps before the store closes.
      await lastReceived.stop();
      // The spans of what was just answered: sent (or given up on, bounded) before exit.
      await traces?.shutdown();
      await store.flush();
      await store.close();
      config.secrets.close();
      log.info('stopped');
    })();
    return stopping;
  };
  return { server, port, store, processor, scrapers, checker, stop };
}
