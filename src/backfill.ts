import { SingleBar } from 'cli-progress';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { EventProcessor } from './events/processor.js';
import { defineDeliveryFamilies } from './metrics/delivery-families.js';
import { defineLastReceived } from './metrics/last-received.js';
import { MetricState } from './metrics/metric-state.js';
import { createServiceMetrics } from './metrics/service-metrics.js';
import { PushService } from './push/push-service.js';
import { Scrapers } from './scrapers/scrapers.js';
import { SqliteStore } from './store/sqlite-store.js';

/**
 * `backfill --since <duration>`: one reconciliation run over that much history, ignoring the
 * checkpoints, through the same processor (so nothing already recorded counts twice). It
 * needs DATA_DIR to itself: run it while the service is stopped.
 */
export async function backfill(
  config: Config,
  deps: { log: Logger; clock: Clock; sinceSeconds: number; out: NodeJS.WriteStream },
): Promise<{ errors: number }> {
  const store = new SqliteStore(config.dataDir, deps.clock, { log: deps.log });
  try {
    const registry = new Registry();
    const metrics = createServiceMetrics(registry);
    const state = new MetricState({ store, log: deps.log });
    const families = defineDeliveryFamilies(state);
    // Not changed here, but defined so that its stored series are not reported as unknown.
    defineLastReceived(state);
    new PushService({ catalog: config.catalog, state });
    await state.load();
    const processor = new EventProcessor({
      store,
      state,
      families,
      metrics,
      clock: deps.clock,
      log: deps.log,
      trackedRefs: config.trackedRefs,
    });
    const scrapers = new Scrapers({ config, store, processor, registry, clock: deps.clock, log: deps.log });
    if (scrapers.enabled.length === 0) {
      throw new Error(
        'Nothing to backfill: set GITLAB_URL with GITLAB_PROJECTS or GITLAB_GROUPS, or GITHUB_REPOS or GITHUB_ORGS.',
      );
    }
    const bars = new Map<string, SingleBar>();
    await scrapers.runOnce({
      lookbackSeconds: deps.sinceSeconds,
      progress: (api, done, total) => {
        let bar = bars.get(api);
        if (bar === undefined) {
          bar = new SingleBar({
            format: `${api.padEnd(6)} [{bar}] {value}/{total} projects | {eta_formatted} left`,
            stream: deps.out,
            noTTYOutput: true,
            notTTYSchedule: 2000,
          });
          bar.start(total, 0);
          bars.set(api, bar);
        }
        bar.update(done);
        if (done === total) bar.stop();
      },
    });
    for (const bar of bars.values()) bar.stop();
    await scrapers.stop();
    await store.flush();
    const text = await registry.metrics();
    const errors = [...text.matchAll(/^delivery_scrape_errors_total\{[^}]*\} (\d+)/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    return { errors };
  } finally {
    await store.close();
  }
}
