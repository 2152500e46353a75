/**
 * The lines of `/metrics` that events feed and that reconciliation must make equal: every
 * `delivery_` series except the service's own health, the scrapers' gauges and the live
 * `delivery_jobs_active` gauge (which only webhooks move through pending and running).
 */
const EXCLUDED = [
  'delivery_webhook_',
  'delivery_push_',
  'delivery_series_dropped',
  'delivery_experiments_',
  'delivery_scrape_',
  'delivery_api_',
  'delivery_pipelines_active',
  'delivery_runners',
  'delivery_merge_requests_undeployed',
  'delivery_jobs_active',
];

export function eventMetrics(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('delivery_') && !EXCLUDED.some((p) => l.startsWith(p)))
    .sort();
}
