import { Counter, collectDefaultMetrics, Histogram, type Registry } from 'prom-client';
import { CounterBuffer } from './collect-buffer.js';
import { LAST_RECEIVED_DEF } from './last-received.js';

/** Names the service's own metrics take: a catalog metric may not take one of them. */
export const SERVICE_METRIC_NAMES = [
  'delivery_webhook_requests_total',
  'delivery_webhook_processing_seconds',
  LAST_RECEIVED_DEF.name,
  'delivery_push_requests_total',
  'delivery_series_dropped_total',
  'delivery_experiments_total',
] as const;

/**
 * The service's own health (SPEC section 5). These are ordinary prom-client metrics: they
 * describe this process, so they start from zero with it, as Prometheus counters may.
 * `delivery_webhook_last_received_timestamp_seconds` is the exception: it must outlive the
 * process to show a hook that went silent, so it is a durable family (see last-received.ts).
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
  // Counted per webhook without prom-client's per-call label hashing (see collect-buffer.ts).
  const webhookRequests: Counter<'source' | 'event' | 'outcome'> = new Counter({
    name: 'delivery_webhook_requests_total',
    help: 'Webhook requests by source, event and outcome (processed, duplicate, ignored, invalid, unauthorized, rejected)',
    labelNames: ['source', 'event', 'outcome'] as const,
    registers,
    collect: (): void => webhookRequestCounts.drain(),
  });
  const webhookRequestCounts: CounterBuffer = new CounterBuffer(webhookRequests);
  return {
    webhookRequests: webhookRequestCounts,
    webhookProcessing: new Histogram({
      name: 'delivery_webhook_processing_seconds',
      help: 'Time from receiving a webhook request to answering it, in seconds',
      labelNames: ['source'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
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
