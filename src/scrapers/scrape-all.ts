import { forEachPooled } from './for-each-pooled.js';
import type { ApiName } from './limiter.js';
import { RunErrors } from './run-errors.js';
import type { ScraperMetrics } from './scraper-metrics.js';

export interface RunOptions {
  /** Look back this far, ignoring checkpoints (backfill). */
  readonly lookbackSeconds?: number;
  readonly progress?: (done: number, total: number) => void;
  /** Aborted when the service stops: the run ends without counting that as errors. */
  readonly signal?: AbortSignal;
}

/** Projects (or repositories) read at once; the API's limiter still spaces their requests. */
const POOL = 4;

/**
 * The shape of one scraper run of either API: discover the projects, read each (a few at a
 * time), then the instance-wide gauges. An error costs its project this run, never the run.
 */
export async function scrapeAll<T extends { readonly path: string }>(run: {
  readonly api: ApiName;
  readonly metrics: ScraperMetrics;
  readonly noun: string;
  readonly options: RunOptions;
  discover(errors: RunErrors, force: boolean): Promise<T[]>;
  scrape(item: T, errors: RunErrors): Promise<void>;
  finish(errors: RunErrors): Promise<void>;
}): Promise<RunErrors> {
  const { options } = run;
  const errors = new RunErrors(run.api, run.metrics, options.signal);
  const items = await run.discover(errors, options.lookbackSeconds !== undefined);
  let done = 0;
  await forEachPooled(
    items,
    POOL,
    async (item) => {
      try {
        await run.scrape(item, errors);
      } catch (err) {
        // A run stopped half-way (the service is stopping) is not an API error.
        if (options.signal?.aborted !== true) errors.record(err, `${run.noun} ${item.path}`);
      }
      options.progress?.(++done, items.length);
    },
    options.signal,
  );
  if (options.signal?.aborted !== true) await run.finish(errors);
  return errors;
}
