/**
 * The one place state lives (SPEC section 9): metric series, dedupe keys, job and pipeline
 * lifecycle state, scraper checkpoints. Everything is async so a networked implementation
 * (Redis) fits behind the same interface; handlers only ever see this interface.
 */

/** A counter or gauge holds one number; a histogram its cumulative-free bucket counts. */
export type SeriesValue =
  | { readonly kind: 'number'; readonly value: number }
  | {
      readonly kind: 'histogram';
      /** Observations per bucket, not cumulative; the last entry is the +Inf bucket. */
      readonly counts: readonly number[];
      readonly sum: number;
      readonly count: number;
    };

export interface SeriesRecord {
  /** Exposed metric name, e.g. `delivery_deployment_duration_seconds`. */
  readonly metric: string;
  /** Label names to values, in the metric's label order. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Optional: a string that tells this series apart from every series of every metric (a
   * family's makes it once per series from the metric name and its own key), so a store can
   * match writes of one series without building a key from the name and labels.
   */
  readonly key?: string;
  /** The full value, or `null` to forget the series. */
  readonly value: SeriesValue | null;
}

export interface StateWrite {
  readonly key: string;
  /** JSON-serialisable; `null` deletes the key. */
  readonly value: unknown;
  /** Unix seconds after which the key may be forgotten. */
  readonly expiresAt?: number;
}

export interface WriteBatch {
  /** Series to store (full value) or, with `value: null`, to forget. Later entries win. */
  readonly series?: readonly SeriesRecord[];
  readonly state?: readonly StateWrite[];
  /** Dedupe keys to remember until `expiresAt` (unix seconds). */
  readonly claims?: ReadonlyArray<{ readonly key: string; readonly expiresAt: number }>;
}

export interface Store {
  readonly kind: 'embedded' | 'redis';
  /** Resolves when the store answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /**
   * Why a write would fail now, when that is known without trying (the data file is gone, a
   * write failed a moment ago): callers refuse the change before it touches memory, which a
   * refused write would otherwise have to undo by reloading every series.
   */
  unavailable?(): StoreUnavailableError | undefined;
  loadSeries(): Promise<SeriesRecord[]>;
  /** True if the dedupe key was claimed by an earlier write, durable or still in flight. */
  hasClaim(key: string): Promise<boolean>;
  getState(key: string): Promise<unknown>;
  /** Every unexpired state entry whose key starts with `prefix`. */
  scanState(prefix: string): Promise<Array<{ key: string; value: unknown }>>;
  /** Resolves once the batch is durable: it survives `kill -9` of the process. */
  write(batch: WriteBatch): Promise<void>;
  /** Waits for every write in flight. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  readonly status = 503;
  readonly expose = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
