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
  /** Whether finished pipelines and jobs become spans (OTEL_EXPORTER_OTLP_ENDPOINT set). */
  readonly tracing: boolean;
}

const DAY = 86_400;
/** How long lifecycle state is kept: far longer than any redelivery or scraper look-back. */
export const TTL = {
  job: 14 * DAY,
  /**
   * A pipeline that finishes again weeks later (a deploy gate played) must still be known then:
   * which (id, status) runs were counted, its queue time, and how long it has been known (job.ts).
   * GitHub re-runs a run up to 30 days after it ran, and its jobs list (`filter=all`) names the
   * first attempt's jobs again: the state, written when that attempt was read, must outlive the
   * window by as long as a re-run takes (5 days: the longest a self-hosted job may run).
   */
  pipeline: 35 * DAY,
  deployment: 30 * DAY,
  once: 90 * DAY,
  delivery: 7 * DAY,
  runs: 30 * DAY,
} as const;

/**
 * A job of a pipeline known for longer than this that finished longer ago than this is taken as
 * counted: its state may be gone (kept TTL.job from when it was counted, a day more than this),
 * and a pipeline updated weeks later (a manual job played) lists every job it ran again, through
 * the API (`include_retried`) and in its Pipeline Hook's `builds`.
 */
export const OLD_JOB_S = TTL.job - DAY;

/**
 * The longest look-back of a scraper run (SCRAPE_LOOKBACK, `backfill --since`): a pipeline or job
 * counted longer ago than its lifecycle state is kept is no longer known, and reading it again
 * would count it again.
 */
export const MAX_LOOKBACK_S = TTL.job;
export const MAX_LOOKBACK_SAYS =
  '14d, as long as lifecycle state is kept (runs counted before would count again)';
