import type { Counter } from 'prom-client';

/**
 * Per-request counting for prom-client counters, without prom-client on the hot path:
 * prom-client hashes the label object on every `inc`, even through a child of
 * `labels()`, which cost ~2.5 µs a webhook. These keep plain numbers under a key the caller
 * already has and hand them to prom-client when the registry is collected (every scrape and
 * every read of the metric), so what is exposed is the same.
 */
interface Entry {
  readonly labels: Record<string, string>;
  /** Not yet added to the counter. */
  value: number;
  dirty: boolean;
}

abstract class CollectBuffer {
  readonly #entries = new Map<string, Entry>();
  readonly #limit: number;

  /** `limit` bounds the keys kept; past it, values go to prom-client at once. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** The entry for `key`, made with `labels()` the first time. */
  protected entry(key: string, labels: () => Record<string, string>): Entry | undefined {
    let e = this.#entries.get(key);
    if (e === undefined) {
      if (this.#entries.size >= this.#limit) return undefined;
      e = { labels: labels(), value: 0, dirty: false };
      this.#entries.set(key, e);
    }
    return e;
  }

  /** Hands every changed value to prom-client: call from the metric's `collect`. */
  drain(): void {
    for (const e of this.#entries.values()) {
      if (!e.dirty) continue;
      this.flush(e);
      e.dirty = false;
    }
  }

  protected abstract flush(e: Entry): void;
}

/** Counts for a prom-client Counter; `drain()` from its `collect`. */
export class CounterBuffer extends CollectBuffer {
  readonly #counter: Counter;

  constructor(counter: Counter, limit = 10_000) {
    super(limit);
    this.#counter = counter;
  }

  inc(key: string, labels: () => Record<string, string>): void {
    const e = this.entry(key, labels);
    if (e === undefined) {
      this.#counter.inc(labels(), 1);
      return;
    }
    e.value += 1;
    e.dirty = true;
  }

  protected flush(e: Entry): void {
    this.#counter.inc(e.labels, e.value);
    e.value = 0;
  }
}
