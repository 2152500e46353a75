import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The scrapers' own health (SPEC section 5) and the gauges of SPEC section 8. */
export function createScraperMetrics(registry: Registry) {
  const registers = [registry];
  return {
    scrapeDuration: new Histogram({
      name: 'delivery_scrape_duration_seconds',
      help: 'Duration of scraper runs, by scraper (gitlab, github)',
      labelNames: ['scraper'] as const,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    scrapeErrors: new Counter({
      name: 'delivery_scrape_errors_total',
      help: 'Scraper errors by scraper and kind (auth, not_found, rate_limited, upstream_5xx, timeout, bad_payload, network, other)',
      labelNames: ['scraper', 'kind'] as const,
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'delivery_scrape_last_success_timestamp_seconds',
      help: 'When a run of the scraper last finished without errors',
      labelNames: ['scraper'] as const,
      registers,
    }),
    apiRequests: new Counter({
      name: 'delivery_api_requests_total',
      help: 'Requests made to an API, by response code (error: no response)',
      labelNames: ['api', 'code'] as const,
      registers,
    }),
    rateLimitRemaining: new Gauge({
      name: 'delivery_api_rate_limit_remaining',
      help: 'Requests left in the API rate limit, as its last response said',
      labelNames: ['api'] as const,
      registers,
    }),
    pipelinesActive: new Gauge({
      name: 'delivery_pipelines_active',
      help: 'Pipelines or workflow runs pending or running, as the API last showed',
      labelNames: ['source', 'project', 'state'] as const,
      registers,
    }),
    runners: new Gauge({
      name: 'delivery_runners',
      help: 'Runners by scope and status (online, offline, paused, busy), as the API last showed',
      labelNames: ['source', 'scope', 'status'] as const,
      registers,
    }),
    undeployed: new Gauge({
      name: 'delivery_merge_requests_undeployed',
      help: 'Merge requests merged into the default branch after the environment’s latest successful deployment (release pressure)',
      labelNames: ['source', 'project', 'environment'] as const,
      registers,
    }),
  };
}

export type ScraperMetrics = ReturnType<typeof createScraperMetrics>;
