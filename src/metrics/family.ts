import type { SeriesRecord, SeriesValue } from '../store/store.js';
import { formatLabelPairs, formatValue, header } from './text-format.js';

export type FamilyType = 'counter' | 'gauge' | 'histogram';

export interface FamilyDef {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly labelNames: readonly string[];
  /** Upper bounds of a histogram, without +Inf. */
  readonly buckets?: readonly number[];
  /** Most series this label set may hold; a new one past it is refused. */
  readonly maxSeries: number;
}

interface Series {
  readonly view: FamilyView;
  readonly labels: readonly string[];
  value: number;
  /** Histogram: observations per bucket (not cumulative), +Inf last. */
  counts: number[] | undefined;
  sum: number;
  count: number;
}

/** Text is handed out in pieces of about this many characters (see `Family.chunks`). */
export const CHUNK_CHARS = 64 * 1024;

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

export class FamilyConflictError extends Error {
  constructor(name: string, reason: string) {
    super(`metric ${name} is declared twice in ways that cannot share one name: ${reason}`);
    this.name = 'FamilyConflictError';
  }
}

/**
 * One exposed metric name (one HELP, one TYPE). Its series are durable: they change only
 * through a FamilyView, whose methods return the record to hand to the Store. Nothing rendered
 * is kept between scrapes: at 100,000 histogram series the text is about 230 MB, so a scrape
 * renders it afresh in pieces (`chunks`) that the HTTP layer streams out as they come.
 *
 * A family may have several views with different label names. SPEC names
 * `delivery_deployment_duration_seconds` both for the push catalog (target, status) and for
 * deployments from webhooks (source, project, environment, status); the text format allows
 * series of one family to carry different labels, so both live under the one name.
 */
export class Family {
  readonly name: string;
  readonly help: string;
  readonly type: FamilyType;
  readonly #views: FamilyView[] = [];
  readonly #series = new Map<string, Series>();
  readonly #header: string;

  constructor(def: FamilyDef) {
    this.name = def.name;
    this.help = def.help;
    this.type = def.type;
    this.#header = header(def.name, def.help, def.type);
  }

  /** The view with these label names, created on first use. */
  view(def: FamilyDef): FamilyView {
    if (def.type !== this.type) throw new FamilyConflictError(this.name, `a ${this.type} and a ${def.type}`);
    const key = def.labelNames.join(',');
    const existing = this.#views.find((v) => v.labelNames.join(',') === key);
    if (existing !== undefined) {
      if (JSON.stringify(existing.buckets) !== JSON.stringify(def.buckets ?? []))
        throw new FamilyConflictError(this.name, `labels (${key}) with different buckets`);
      return existing;
    }
    const view = new FamilyView(this, def, this.#series);
    this.#views.push(view);
    return view;
  }

  get size(): number {
    return this.#series.size;
  }

  /** Puts back a stored series at start-up. False when no view fits it. */
  restore(record: SeriesRecord): boolean {
    const names = Object.keys(record.labels).join(',');
    const view = this.#views.find((v) => v.labelNames.join(',') === names);
    return view?.restore(record) ?? false;
  }

  clearAll(): void {
    this.#series.clear();
    for (const v of this.#views) v.forgetCount();
  }

  /** HELP, TYPE and the lines of every series, or only of those `keep` accepts. */
  render(keep?: (view: FamilyView, labels: readonly string[]) => boolean): string {
    let out = '';
    for (const chunk of this.chunks(keep)) out += chunk;
    return out;
  }

  /**
   * The same text as `render`, in pieces of about CHUNK_CHARS characters, rendered lazily: a
   * consumer that pauses between pieces lets other work run, and series that change meanwhile
   * show their new values (each series is rendered whole, so its own lines agree).
   */
  *chunks(keep?: (view: FamilyView, labels: readonly string[]) => boolean): Generator<string> {
    // A filtered view leaves out families it has nothing of; the full view shows them all.
    let out = keep === undefined ? this.#header : '';
    let any = false;
    for (const s of this.#series.values()) {
      if (keep !== undefined && !keep(s.view, s.labels)) continue;
      if (!any && keep !== undefined) out = this.#header;
      any = true;
      out += s.view.lines(s);
      if (out.length >= CHUNK_CHARS) {
        yield out;
        out = '';
      }
    }
    if (out !== '') yield out;
  }
}

export class FamilyView {
  readonly family: Family;
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  readonly maxSeries: number;
  readonly #all: Map<string, Series>;
  /** `le="0.5"}` and so on, +Inf last: the end of each bucket line's labels. */
  readonly #les: string[];
  readonly #prefix: string;
  #size = 0;

  constructor(family: Family, def: FamilyDef, all: Map<string, Series>) {
    this.family = family;
    this.labelNames = def.labelNames;
    this.buckets = def.buckets ?? [];
    this.maxSeries = def.maxSeries;
    this.#all = all;
    this.#les = [...this.buckets.map((b) => `le="${formatValue(b)}"} `), 'le="+Inf"} '];
    this.#prefix = `${this.labelNames.join(',')}\u0000`;
  }

  get size(): number {
    return this.#size;
  }

  has(labels: readonly string[]): boolean {
    return this.#all.has(this.#key(labels));
  }

  /** The current value of a counter or gauge series, if it exists. */
  valueOf(labels: readonly string[]): number | undefined {
    return this.#all.get(this.#key(labels))?.value;
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
    const counts = s.counts as number[];
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] as number)) i++;
    counts[i] = (counts[i] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
    return this.#touched(s);
  }

  /** Forgets one series; returns the deletion to hand to the Store, if it existed. */
  remove(labels: readonly string[]): SeriesRecord | undefined {
    const key = this.#key(labels);
    if (!this.#all.delete(key)) return undefined;
    this.#size--;
    return { metric: this.family.name, labels: this.#labelObject(labels), value: null };
  }

  /** Forgets every series of this view; returns the deletions to hand to the Store. */
  clear(): SeriesRecord[] {
    const removed: SeriesRecord[] = [];
    for (const [key, s] of this.#all) {
      if (s.view !== this) continue;
      this.#all.delete(key);
      removed.push({ metric: this.family.name, labels: this.#labelObject(s.labels), value: null });
    }
    this.#size = 0;
    return removed;
  }

  /** Creates a series at zero (used by cartesian reset), ignoring the budget. */
  zero(labels: readonly string[]): SeriesRecord {
    const key = this.#key(labels);
    if (!this.#all.has(key)) this.#size++;
    const s = this.#create(labels);
    this.#all.set(key, s);
    return this.#record(s);
  }

  restore(record: SeriesRecord): boolean {
    const labels = this.labelNames.map((n) => record.labels[n] ?? '');
    const value = record.value;
    if (value === null || (this.family.type === 'histogram') !== (value.kind === 'histogram')) return false;
    const s = this.#create(labels);
    if (value.kind === 'histogram') {
      if (value.counts.length !== this.buckets.length + 1) return false;
      s.counts = [...value.counts];
      s.sum = value.sum;
      s.count = value.count;
    } else {
      s.value = value.value;
    }
    const key = this.#key(labels);
    if (!this.#all.has(key)) this.#size++;
    this.#all.set(key, s);
    return true;
  }

  /** @internal Called when the family drops every series at once. */
  forgetCount(): void {
    this.#size = 0;
  }

  /** @internal The exposition lines of one series of this view. */
  lines(s: Series): string {
    const name = this.family.name;
    const pairs = formatLabelPairs(this.labelNames, s.labels);
    const labels = pairs === '' ? '' : `{${pairs}}`;
    if (s.counts === undefined) return `${name}${labels} ${formatValue(s.value)}\n`;
    const bucket = `${name}_bucket{${pairs === '' ? '' : `${pairs},`}`;
    let out = '';
    let cumulative = 0;
    const les = this.#les;
    for (let i = 0; i < s.counts.length; i++) {
      cumulative += s.counts[i] ?? 0;
      out += `${bucket}${les[i]}${cumulative}\n`;
    }
    return `${out}${name}_sum${labels} ${formatValue(s.sum)}\n${name}_count${labels} ${s.count}\n`;
  }

  #key(labels: readonly string[]): string {
    return this.#prefix + JSON.stringify(labels);
  }

  #get(labels: readonly string[]): Series {
    const key = this.#key(labels);
    let s = this.#all.get(key);
    if (s === undefined) {
      if (this.#size >= this.maxSeries) throw new SeriesBudgetError(this.family.name, this.maxSeries);
      s = this.#create(labels);
      this.#all.set(key, s);
      this.#size++;
    }
    return s;
  }

  #create(labels: readonly string[]): Series {
    return {
      view: this,
      labels: [...labels],
      value: 0,
      counts:
        this.family.type === 'histogram' ? new Array<number>(this.buckets.length + 1).fill(0) : undefined,
      sum: 0,
      count: 0,
    };
  }

  #touched(s: Series): SeriesRecord {
    return this.#record(s);
  }

  #labelObject(labels: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    this.labelNames.forEach((n, i) => {
      out[n] = labels[i] ?? '';
    });
    return out;
  }

  #record(s: Series): SeriesRecord {
    const value: SeriesValue =
      s.counts === undefined
        ? { kind: 'number', value: s.value }
        : { kind: 'histogram', counts: [...s.counts], sum: s.sum, count: s.count };
    return { metric: this.family.name, labels: this.#labelObject(s.labels), value };
  }
}
