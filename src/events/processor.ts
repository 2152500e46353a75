import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DeliveryFamilies } from '../metrics/delivery-families.js';
import type { MetricState } from '../metrics/metric-state.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { Store } from '../store/store.js';
import type { TraceSink } from '../traces/span-record.js';
import { type HandlerContext, TTL } from './handlers/context.js';
import {
  countJob,
  DEFER_LIMIT_S,
  DEFERRED_PREFIX,
  type DeferredJob,
  type HeldSpans,
  SPAN_WAIT_PREFIX,
} from './handlers/deferred.js';
import { applyDeployment } from './handlers/deployment.js';
import { ACTIVE_PREFIX, type ActiveEntry, applyJob } from './handlers/job.js';
import { applyMerge, applyRelease } from './handlers/once.js';
import { applyPipeline } from './handlers/pipeline.js';
import type { DeliveryEvent, EventResult } from './model.js';
import { Tx } from './tx.js';

export interface Delivery {
  /** A key that names this delivery (GitLab `Idempotency-Key`, GitHub `X-GitHub-Delivery`). */
  readonly key: string | undefined;
  readonly events: readonly DeliveryEvent[];
}

export type DeliveryOutcome = 'processed' | 'duplicate';

export interface ProcessorDeps {
  readonly store: Store;
  readonly state: MetricState;
  readonly families: DeliveryFamilies;
  readonly metrics: ServiceMetrics;
  readonly clock: Clock;
  readonly log: Logger;
  readonly trackedRefs: RegExp;
  /** Where spans of finished pipelines and jobs go (SPEC section 10); unset: no traces. */
  readonly traces?: TraceSink;
}

/** `delivery_jobs_active` forgets a job after this long without news (SPEC section 5). */
const ACTIVE_EXPIRY_S = 24 * 3600;

/**
 * Applies events exactly once. Deliveries are applied one at a time (reads of lifecycle state,
 * decisions and the metric changes of one delivery cannot interleave with another's); the
 * durable write is only awaited outside that section, so the store can commit many
 * deliveries together. The answer is given once the write is durable.
 */
export class EventProcessor {
  readonly #deps: ProcessorDeps;
  readonly #runsSeen = new Map<string, boolean>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: ProcessorDeps) {
    this.#deps = deps;
  }

  async process(delivery: Delivery): Promise<DeliveryOutcome> {
    const { outcome, written, spans } = await this.#exclusive(async () => {
      this.#deps.state.assertWritable();
      const tx = this.#tx();
      const deliveryKey = delivery.key === undefined ? undefined : `delivery:${delivery.key}`;
      if (deliveryKey !== undefined && (await tx.claimed(deliveryKey))) {
        // Answered once the claim is durable: it may still be in this turn's commit, which can
        // fail (and then this delivery must fail too, to be sent again).
        return { outcome: 'duplicate' as const, written: this.#deps.store.write({}), spans: tx.spans };
      }
      const ctx = this.#context(tx);
      let applied = false;
      for (const event of delivery.events) {
        if ((await apply(ctx, event)) === 'applied') applied = true;
      }
      if (deliveryKey !== undefined) tx.claim(deliveryKey, TTL.delivery);
      // Started inside the section: the store sees these writes before the next delivery reads.
      const written = this.#deps.state.save(tx.commit());
      return { outcome: applied ? ('processed' as const) : ('duplicate' as const), written, spans: tx.spans };
    });
    await written;
    // Only once durable: a delivery that failed is sent again and makes its spans then.
    if (spans.length > 0) this.#deps.traces?.export(spans);
    return outcome;
  }

  /**
   * Housekeeping, every few minutes: jobs without news for 24 h leave `delivery_jobs_active`,
   * and finished jobs that waited an hour for a pipeline that never came are counted.
   */
  async expireActiveJobs(): Promise<number> {
    const { written, expired, spans } = await this.#exclusive(async () => {
      const tx = this.#tx();
      const cutoff = tx.now - ACTIVE_EXPIRY_S;
      let count = 0;
      for (const { key, value } of await this.#deps.store.scanState(ACTIVE_PREFIX)) {
        const entry = value as ActiveEntry;
        if (entry.at > cutoff) continue;
        tx.inc(this.#deps.families.jobsActive, entry.l, -1);
        tx.delete(key);
        count++;
      }
      const ctx = this.#context(tx);
      for (const { key, value } of await this.#deps.store.scanState(DEFERRED_PREFIX)) {
        // One job per key; a list under a pipeline's key was kept by earlier versions.
        const jobs = Array.isArray(value) ? (value as DeferredJob[]) : [value as DeferredJob];
        if (jobs.some((j) => tx.now - j.at < DEFER_LIMIT_S)) continue;
        for (const j of jobs) countJob(ctx, j, j.fallbackRef, j.stage ?? 'unknown');
        tx.delete(key);
        count++;
      }
      // Spans of jobs whose pipeline never came: sent in their own pipeline's trace. None are
      // held while traces are off (those held before expire with their TTL).
      const waiting =
        this.#deps.traces === undefined ? [] : await this.#deps.store.scanState(SPAN_WAIT_PREFIX);
      for (const { key, value } of waiting) {
        const held = value as HeldSpans;
        if (tx.now - held.at < DEFER_LIMIT_S) continue;
        tx.spans.push(...held.spans);
        tx.delete(key);
        count++;
      }
      return {
        written: count === 0 ? Promise.resolve() : this.#deps.state.save(tx.commit()),
        expired: count,
        spans: tx.spans,
      };
    });
    await written;
    if (spans.length > 0) this.#deps.traces?.export(spans);
    if (expired > 0)
      this.#deps.log.info({ expired }, 'expired active jobs and counted jobs whose pipeline never came');
    return expired;
  }

  #context(tx: Tx): HandlerContext {
    // One entry per project; bounded all the same (a cleared map is read back from the store).
    if (this.#runsSeen.size > 100_000) this.#runsSeen.clear();
    return {
      tx,
      families: this.#deps.families,
      trackedRefs: this.#deps.trackedRefs,
      runsSeen: this.#runsSeen,
      tracing: this.#deps.traces !== undefined,
    };
  }

  #tx(): Tx {
    const { store, clock, metrics, log } = this.#deps;
    return new Tx({ store, clock, metrics, log });
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function apply(ctx: HandlerContext, event: DeliveryEvent): Promise<EventResult> {
  switch (event.kind) {
    case 'job':
      return applyJob(ctx, event);
    case 'pipeline':
      return applyPipeline(ctx, event);
    case 'deployment':
      return applyDeployment(ctx, event);
    case 'merge':
      return applyMerge(ctx, event);
    case 'release':
      return applyRelease(ctx, event);
  }
}
