import type { ExpositionFormat } from './text-format.js';
import type { Logger } from 'pino';
import type { Store, WriteBatch } from '../store/store.js';
import { Family, type FamilyDef, type FamilyView } from './family.js';

/**
 * The durable metrics: families whose series are kept in the Store and restored at start-up.
 * Changes are applied in memory synchronously, then saved; a caller answers 2xx only after
 * `save` resolves, so an acknowledged change is on disk.
 */
export class MetricState {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #families = new Map<string, Family>();
  /** Families saved by their owner in the background (see `define`): left alone by a reload. */
  readonly #background = new Set<string>();
  #reloading: Promise<void> | undefined;

  constructor(deps: { store: Store; log: Logger }) {
    this.#store = deps.store;
    this.#log = deps.log;
  }

  /**
   * The view of `def.name` with `def.labelNames`; throws FamilyConflictError on a clash.
   *
   * `savedInBackground`: the owner writes its series to the store itself, later than it changes
   * them (see last-received.ts), so memory is ahead of the store by design. Such a family is
   * restored by `load` at start but left as it is when a refused `save` of other families sets
   * memory back: reloading it would undo changes that are still waiting to be written.
   */
  define(def: FamilyDef, options: { savedInBackground?: boolean } = {}): FamilyView {
    let family = this.#families.get(def.name);
    if (family === undefined) {
      family = new Family(def);
      this.#families.set(def.name, family);
    }
    if (options.savedInBackground === true) this.#background.add(def.name);
    return family.view(def);
  }

  get(name: string): Family | undefined {
    return this.#families.get(name);
  }

  families(): IterableIterator<Family> {
    return this.#families.values();
  }

  /** Restores every stored series that still fits its definition. */
  load(): Promise<void> {
    return this.#restore(true);
  }

  /** `load`, but with `all` false the families saved in the background keep their memory. */
  async #restore(all: boolean): Promise<void> {
    const records = await this.#store.loadSeries();
    const kept = (name: string) => !all && this.#background.has(name);
    for (const f of this.#families.values()) if (!kept(f.name)) f.clearAll();
    const skipped = new Map<string, number>();
    let restored = 0;
    for (const record of records) {
      if (kept(record.metric)) continue;
      const family = this.#families.get(record.metric);
      if (family !== undefined && family.restore(record)) {
        restored++;
      } else {
        skipped.set(record.metric, (skipped.get(record.metric) ?? 0) + 1);
      }
    }
    for (const [metric, count] of skipped) {
      // A metric removed from the catalog, or whose labels or buckets changed: its old series
      // cannot be shown under the new definition. They stay in the store untouched.
      this.#log.warn(
        { metric, series: count },
        'stored series no longer match the metric definition; not served',
      );
    }
    this.#log.info({ series: restored }, 'metric state loaded');
  }

  /** Refuses a change before it touches memory when the store is known to refuse it. */
  assertWritable(): void {
    const down = this.#store.unavailable?.();
    if (down !== undefined) throw down;
  }

  /**
   * Makes changes durable. If the store refuses them, memory is set back to what the store
   * holds, so a refused change (answered 503) has no effect. The reload runs within the same
   * microtask drain as the failure, before any other request can change memory.
   */
  async save(batch: WriteBatch): Promise<void> {
    try {
      await this.#store.write(batch);
    } catch (err) {
      await this.#reload();
      throw err;
    }
  }

  /** One reload for every save refused together (a failed commit fails all of its callers). */
  #reload(): Promise<void> {
    this.#reloading ??= this.#restore(false)
      .catch((loadErr: unknown) => {
        this.#log.error({ err: loadErr }, 'cannot reload metric state from the store');
      })
      .finally(() => {
        this.#reloading = undefined;
      });
    return this.#reloading;
  }

  /** Every family in text format; with `keep`, only series it accepts. */
  render(keep?: (view: FamilyView, labels: readonly string[]) => boolean): string {
    return Buffer.concat([...this.chunks(keep)]).toString('utf8');
  }

  /** `render`'s text (UTF-8) in pieces, rendered as they are asked for (see `Family.chunks`). */
  *chunks(
    keep?: (view: FamilyView, labels: readonly string[]) => boolean,
    format: ExpositionFormat = 'text',
  ): Generator<Buffer> {
    for (const f of this.#families.values()) yield* f.chunks(keep, format);
  }
}
