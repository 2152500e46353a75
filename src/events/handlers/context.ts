import type { DeliveryFamilies } from '../../metrics/delivery-families.js';
import type { Tx } from '../tx.js';

export interface HandlerContext {
  readonly tx: Tx;
  readonly families: DeliveryFamilies;
  readonly trackedRefs: RegExp;
}

const DAY = 86_400;
/** How long lifecycle state is kept: far longer than any redelivery or scraper look-back. */
export const TTL = {
  job: 14 * DAY,
  pipeline: 14 * DAY,
  deployment: 30 * DAY,
  once: 90 * DAY,
  delivery: 7 * DAY,
} as const;
