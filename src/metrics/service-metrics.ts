import { Counter, collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * The service's own health (SPEC section 5). These are ordinary prom-client metrics: they
 * describe this process, so they start from zero with it, as Prometheus counters may.
 */
export function createServiceMetrics(registry: Registry) {
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  // prom-client's `nodejs_active_*_total` are gauges with a counter's suffix, which
  // `promtool check metrics` rejects; the per-type gauges beside them carry the same numbers.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ]) {
    registry.removeSingleMetric(name);
  }
  return {
    pushRequests: new Counter({
      name: 'delivery_push_requests_total',
      help: 'Push API requests, by catalog metric (unknown for names not in the catalog) and outcome',
      labelNames: ['metric', 'outcome'] as const,
      registers,
    }),
    seriesDropped: new Counter({
      name: 'delivery_series_dropped_total',
      help: 'New series refused because their metric reached its series budget',
      labelNames: ['metric'] as const,
      registers,
    }),
    // SPEC names it with `_total`, which Prometheus reserves for counters: it is a counter set
    // once at start (the catalog is read once), so `promtool check metrics` accepts it.
    experiments: new Counter({
      name: 'delivery_experiments_total',
      help: 'Number of experiments declared in the push metric catalog',
      registers,
    }),
  };
}

export type ServiceMetrics = ReturnType<typeof createServiceMetrics>;
