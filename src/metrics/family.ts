import type { SeriesRecord, SeriesValue } from '../store/store.js';
import { formatLabels, formatValue, header } from './text-format.js';

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export interface FamilyDef {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly labelNames: readonly string[];
  /** Upper bounds of a histogram, without +Inf. */
  readonly buckets?: readonly number[];
  /** Most series this family may hold; a new one past it is refused. */
  readonly maxSeries: number;
}

interface Series {
  readonly labels: readonly string[];
  value: number;
  /** Histogram: observations per bucket (not cumulative), +Inf last. */
  counts: number[] | undefined;
  sum: number;
  count: number;
  /** Rendered exposition lines, dropped on every change. */
  text: string | undefined;
}

export class SeriesBudgetError extends Error {
  readonly status = 400;
  readonly expose = true;
  constructor(
    readonly metric: string,
    max: number,
  ) {
    super(`${metric} already has ${max} series, its budget: new label values are refused`);
    this.name = 'SeriesBudgetError';
  }
}

export const seriesKey = (labels: readonly string[]): string => JSON.stringify(labels);

/**
 * A metric whose series are durable: it changes only through these methods, each of which
 * returns the record to hand to the Store. Rendered lines are cached per series, so a scrape
 * re-renders only what changed since the last one.
 */
export class Family {
  readonly def: FamilyDef;
  readonly #series = new Map<string, Series>();
  readonly #header: string;
  readonly #les: string[];

  constructor(def: FamilyDef) {
    this.def = def;
    this.#header = header(def.name, def.help, def.type);
    this.#les = [...(def.buckets ?? []).map((b) => `le="${formatValue(b)}"`), 'le="+Inf"'];
  }

  get size(): number {
    return this.#series.size;
  }

  has(labels: readonly string[]): boolean {
    return this.#series.has(seriesKey(labels));
  }

  inc(labels: readonly string[], by: number): SeriesRecord {
    const s = this.#get(labels);
    s.value += by;
    return this.#touched(s);
  }

  set(labels: readonly string[], value: number): SeriesRecord {
    const s = this.#get(labels);
    s.value = value;
    return this.#touched(s);
  }

  observe(labels: readonly string[], value: number): SeriesRecord {
    const s = this.#get(labels);
    const buckets = this.def.buckets ?? [];
    let i = 0;
    while (i < buckets.length && value > (buckets[i] as number)) i++;
    (s.counts as number[])[i] = ((s.counts as number[])[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
    return this.#touched(s);
  }

  /** Forgets every series; returns nothing to write but the drop of this metric. */
  clear(): void {
    this.#series.clear();
  }

  /** Creates a series at zero (used by cartesian reset), ignoring the budget. */
  zero(labels: readonly string[]): SeriesRecord {
    const s = this.#create(labels);
    this.#series.set(seriesKey(labels), s);
    return this.#record(s);
  }

  /** Puts back a stored series at start-up. False when it does not fit this definition. */
  restore(record: SeriesRecord): boolean {
    if (record.labels.length !== this.def.labelNames.length) return false;
    const histogram = this.def.type === 'histogram';
    if (histogram !== (record.value.kind === 'histogram')) return false;
    const s = this.#create(record.labels);
    if (record.value.kind === 'histogram') {
      if (record.value.counts.length !== (this.def.buckets?.length ?? 0) + 1) return false;
      s.counts = [...record.value.counts];
      s.sum = record.value.sum;
      s.count = record.value.count;
    } else {
      s.value = record.value.value;
    }
    this.#series.set(seriesKey(record.labels), s);
    return true;
  }

  /** HELP, TYPE and the lines of every series, or only of those `keep` accepts. */
  render(keep?: (labels: readonly string[]) => boolean): string {
    let out = '';
    for (const s of this.#series.values()) {
      if (keep !== undefined && !keep(s.labels)) continue;
      s.text ??= this.#lines(s);
      out += s.text;
    }
    // A filtered view leaves out families it has nothing of; the full view shows them all.
    return keep !== undefined && out === '' ? '' : this.#header + out;
  }

  #get(labels: readonly string[]): Series {
    const key = seriesKey(labels);
    let s = this.#series.get(key);
    if (s === undefined) {
      if (this.#series.size >= this.def.maxSeries)
        throw new SeriesBudgetError(this.def.name, this.def.maxSeries);
      s = this.#create(labels);
      this.#series.set(key, s);
    }
    return s;
  }

  #create(labels: readonly string[]): Series {
    const histogram = this.def.type === 'histogram';
    return {
      labels: [...labels],
      value: 0,
      counts: histogram ? new Array<number>((this.def.buckets?.length ?? 0) + 1).fill(0) : undefined,
      sum: 0,
      count: 0,
      text: undefined,
    };
  }

  #touched(s: Series): SeriesRecord {
    s.text = undefined;
    return this.#record(s);
  }

  #record(s: Series): SeriesRecord {
    const value: SeriesValue =
      s.counts === undefined
        ? { kind: 'number', value: s.value }
        : { kind: 'histogram', counts: [...s.counts], sum: s.sum, count: s.count };
    return { metric: this.def.name, labels: s.labels, value };
  }

  #lines(s: Series): string {
    const { name, labelNames } = this.def;
    if (s.counts === undefined)
      return `${name}${formatLabels(labelNames, s.labels)} ${formatValue(s.value)}\n`;
    let out = '';
    let cumulative = 0;
    for (let i = 0; i < s.counts.length; i++) {
      cumulative += s.counts[i] ?? 0;
      out += `${name}_bucket${formatLabels(labelNames, s.labels, this.#les[i])} ${cumulative}\n`;
    }
    const labels = formatLabels(labelNames, s.labels);
    return `${out}${name}_sum${labels} ${formatValue(s.sum)}\n${name}_count${labels} ${s.count}\n`;
  }
}
