import type { DeliveryFamilies } from '../../metrics/delivery-families.js';
import type { Tx } from '../tx.js';

export interface HandlerContext {
  readonly tx: Tx;
  readonly families: DeliveryFamilies;
  readonly trackedRefs: RegExp;
  /**
   * What this process knows of `runsKey` entries (see pipeline.ts), so that most jobs need not
   * read them: the processor is the only writer, so it stays true to the store.
   */
  readonly runsSeen: Map<string, boolean>;
}

const DAY = 86_400;
/** How long lifecycle state is kept: far longer than any redelivery or scraper look-back. */
export const TTL = {
  job: 14 * DAY,
  pipeline: 14 * DAY,
  deployment: 30 * DAY,
  once: 90 * DAY,
  delivery: 7 * DAY,
  runs: 30 * DAY,
} as const;

/**
 * The longest look-back of a scraper run (SCRAPE_LOOKBACK, `backfill --since`): a pipeline or job
 * counted longer ago than its lifecycle state is kept is no longer known, and reading it again
 * would count it again.
 */
export const MAX_LOOKBACK_S = Math.min(TTL.job, TTL.pipeline);
export const MAX_LOOKBACK_SAYS =
  '14d, as long as lifecycle state is kept (runs counted before would count again)';
