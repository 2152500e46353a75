import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { type FamilyView, SeriesBudgetError } from '../metrics/family.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { SeriesRecord, StateWrite, Store } from '../store/store.js';
import type { SpanRecord } from '../traces/span-record.js';

type Op = {
  view: FamilyView;
  kind: 'inc' | 'set' | 'observe';
  labels: readonly string[];
  value: number;
  /** The trace of an observation, its exemplar (SPEC section 10). */
  traceId?: string | undefined;
};

/**
 * One delivery's changes, gathered while its events are applied: state reads see the writes
 * made earlier in the same delivery; metric changes are kept as operations and applied to
 * memory only in `commit`, so an event that fails half-way changes nothing. Everything is
 * then handed to the Store in one write.
 */
export class Tx {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #metrics: ServiceMetrics;
  readonly #log: Logger;
  readonly #state = new Map<string, StateWrite>();
  readonly #ops: Op[] = [];
  readonly #claims = new Map<string, number>();
  /** Spans of what finished in this delivery, exported once it is durable (only when tracing). */
  readonly spans: SpanRecord[] = [];

  constructor(deps: { store: Store; clock: Clock; metrics: ServiceMetrics; log: Logger }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#metrics = deps.metrics;
    this.#log = deps.log;
  }

  get now(): number {
    return this.#clock.now() / 1000;
  }

  get<T>(key: string): Promise<T | undefined> {
    const local = this.#state.get(key);
    if (local !== undefined) return Promise.resolve(local.value === null ? undefined : (local.value as T));
    return this.#store.getState(key) as Promise<T | undefined>;
  }

  /** Every state entry whose key starts with `prefix`, this delivery's own writes included. */
  async scan<T>(prefix: string): Promise<Array<{ key: string; value: T }>> {
    const found = new Map<string, unknown>();
    for (const e of await this.#store.scanState(prefix)) found.set(e.key, e.value);
    for (const [key, w] of this.#state) {
      if (!key.startsWith(prefix)) continue;
      if (w.value === null) found.delete(key);
      else found.set(key, w.value);
    }
    return [...found].map(([key, value]) => ({ key, value: value as T }));
  }

  put(key: string, value: unknown, ttlSeconds?: number): void {
    this.#state.set(key, {
      key,
      value,
      ...(ttlSeconds === undefined ? {} : { expiresAt: this.#clock.nowSeconds() + ttlSeconds }),
    });
  }

  delete(key: string): void {
    this.#state.set(key, { key, value: null });
  }

  claimed(key: string): Promise<boolean> {
    return this.#claims.has(key) ? Promise.resolve(true) : this.#store.hasClaim(key);
  }

  claim(key: string, ttlSeconds: number): void {
    this.#claims.set(key, this.#clock.nowSeconds() + ttlSeconds);
  }

  inc(view: FamilyView, labels: readonly string[], by = 1): void {
    this.#ops.push({ view, kind: 'inc', labels, value: by });
  }

  set(view: FamilyView, labels: readonly string[], value: number): void {
    this.#ops.push({ view, kind: 'set', labels, value });
  }

  observe(view: FamilyView, labels: readonly string[], value: number, traceId?: string): void {
    this.#ops.push({ view, kind: 'observe', labels, value, traceId });
  }

  /** Applies the metric operations to memory and returns everything to write, in one batch. */
  commit(): {
    series: SeriesRecord[];
    state: StateWrite[];
    claims: Array<{ key: string; expiresAt: number }>;
  } {
    const series = new Map<string, SeriesRecord>();
    for (const op of this.#ops) {
      const record = this.#apply(op);
      if (record !== undefined) {
        series.set(record.key ?? `${record.metric}\u0000${JSON.stringify(record.labels)}`, record);
      }
    }
    return {
      series: [...series.values()],
      state: [...this.#state.values()],
      claims: [...this.#claims].map(([key, expiresAt]) => ({ key, expiresAt })),
    };
  }

  #apply({ view, kind, labels, value, traceId }: Op): SeriesRecord | undefined {
    try {
      if (kind === 'inc') return view.inc(labels, value);
      if (kind === 'set') return view.set(labels, value);
      return view.observe(labels, value, traceId === undefined ? undefined : { traceId, at: this.now });
    } catch (err) {
      if (!(err instanceof SeriesBudgetError)) throw err;
      // The event is still applied; only this series is refused, and counted.
      this.#metrics.seriesDropped.inc({ metric: view.family.name });
      this.#log.warn({ metric: view.family.name }, 'series budget reached; new series refused');
      return undefined;
    }
  }
}
