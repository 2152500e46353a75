import { type Catalog, parseCatalog } from './catalog.js';

/**
 * The delivery team's metrics, served when `METRICS_CATALOG` is unset. The same shape a
 * catalog file has, so it goes through the same validation.
 */
export const DEFAULT_CATALOG_DOCUMENT = {
  metrics: {
    deployment_duration_seconds: {
      type: 'histogram',
      help: 'Duration of a deployment pipeline, in seconds, by target and final status',
      labels: ['target', 'status'],
      values: { status: ['success', 'failed'] },
      buckets: [300, 900, 1800, 3600, 7200, 14400, 28800],
    },
    deployments_total: {
      type: 'counter',
      help: 'Deployments finished, by target and final status',
      labels: ['target', 'status'],
      values: { status: ['success', 'failed'] },
    },
    release_pressure: {
      type: 'gauge',
      help: 'Merged changes waiting to be released, by project and severity',
      labels: ['project', 'severity'],
    },
  },
  experiments: {},
} as const;

export function defaultCatalog(): Catalog {
  return parseCatalog(DEFAULT_CATALOG_DOCUMENT);
}
