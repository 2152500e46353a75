import type { Logger } from 'pino';
import type { SeriesRecord, Store } from '../store/store.js';
import { type FamilyView, SeriesBudgetError } from './family.js';
import type { MetricState } from './metric-state.js';

export const LAST_RECEIVED_DEF = {
  name: 'delivery_webhook_last_received_timestamp_seconds',
  type: 'gauge',
  help: 'When the last authentic webhook of a project arrived (a disabled hook shows as silence)',
  labelNames: ['source', 'project'],
  // Projects with a webhook secret, or whose token a group secret accepts: bounded by design;
  // the budget only guards memory, as for the event metrics.
  maxSeries: 100_000,
} as const;

/** How often the timestamps changed since the last save are written to the store. */
export const LAST_RECEIVED_SAVE_MS = 5_000;

/**
 * `delivery_webhook_last_received_timestamp_seconds` (SPEC section 5), kept in the store like
 * the event metrics so that a hook GitLab disabled before a restart still shows as silence
 * after it: held in memory only, its series would be gone, and `time() - ... > 3600` would
 * never fire for that project.
 *
 * It changes on every authentic delivery, including the many that write nothing else (ignored
 * Push Hooks, duplicates), so it is not saved per request: `note` changes memory only, and the
 * series changed since the last save are written every LAST_RECEIVED_SAVE_MS and once more at
 * stop. A kill -9 may lose the timestamps of the last few seconds; the series then shows the
 * previous save's time until the next delivery, a few seconds early at worst.
 *
 * The writes go to the store directly, not through `MetricState.save`: that sets every family
 * back to the store's contents when a write fails, which would undo event-metric changes of
 * requests still in flight. A failed write here is logged and tried again at the next tick.
 */
export class LastReceived {
  readonly #view: FamilyView;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #onDropped: (metric: string) => void;
  /** `[source, project]` per `source\0project`, made once per series. */
  readonly #labels = new Map<string, readonly string[]>();
  /** The latest record of each series changed since it was last handed to the store. */
  #pending = new Map<string, SeriesRecord>();
  #saving: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: {
    state: MetricState;
    store: Store;
    log: Logger;
    /** Called when a new series is refused by the budget (`delivery_series_dropped_total`). */
    onDropped?: (metric: string) => void;
  }) {
    this.#view = defineLastReceived(deps.state);
    this.#store = deps.store;
    this.#log = deps.log;
    this.#onDropped = deps.onDropped ?? (() => undefined);
  }

  /** Notes an authentic delivery for a project, in memory. Never throws: it is on the hot path. */
  note(source: string, project: string, seconds: number): void {
    const key = `${source}\u0000${project}`;
    let labels = this.#labels.get(key);
    try {
      labels ??= [source, project];
      this.#pending.set(key, this.#view.set(labels, seconds));
    } catch (err) {
      // An authentic delivery must still be answered 2xx (GitLab disables hooks that fail).
      if (!(err instanceof SeriesBudgetError)) throw err;
      this.#onDropped(err.metric);
      return;
    }
    if (this.#labels.size < LAST_RECEIVED_DEF.maxSeries) this.#labels.set(key, labels);
  }

  /** Saves every LAST_RECEIVED_SAVE_MS (or `everyMs`) until `stop`; the timer keeps no process alive. */
  start(everyMs = LAST_RECEIVED_SAVE_MS): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.save(), everyMs);
    this.#timer.unref();
  }

  /**
   * Writes the series changed since the last save. Resolves once written or refused, never
   * rejects: a refused write is logged and its series stay pending for the next save. One save
   * at a time; a call during one waits for it and then saves what changed meanwhile.
   */
  async save(): Promise<void> {
    while (this.#saving !== undefined) await this.#saving;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#saving = this.#write(batch).finally(() => {
      this.#saving = undefined;
    });
    await this.#saving;
  }

  /** Stops the timer and saves what is left: call before the store closes. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.save();
  }

  async #write(batch: Map<string, SeriesRecord>): Promise<void> {
    try {
      await this.#store.write({ series: [...batch.values()] });
    } catch (err) {
      // Memory is right and stays as it is; only the store is behind. A series noted again
      // meanwhile has a newer record pending, which wins.
      for (const [key, record] of batch) if (!this.#pending.has(key)) this.#pending.set(key, record);
      this.#log.warn(
        { err, series: batch.size },
        'cannot save webhook last-received timestamps; trying again at the next save',
      );
    }
  }
}

/** The family's view, restored by `MetricState.load` and left alone by its reloads. */
export function defineLastReceived(state: MetricState): FamilyView {
  return state.define(LAST_RECEIVED_DEF, { savedInBackground: true });
}
