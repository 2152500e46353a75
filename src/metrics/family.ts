import type { SeriesRecord, SeriesValue } from '../store/store.js';
import { ByteWriter } from './byte-writer.js';
import {
  type ExpositionFormat,
  formatLabelPairs,
  formatValue,
  header,
  openMetricsHeader,
} from './text-format.js';

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
  /** Its key in the family's table (the same string, not a copy): tells writes of it apart. */
  readonly key: string;
  /** The block the series was created in; any change to the series marks it changed. */
  readonly block: SeriesBlock;
  readonly labels: readonly string[];
  /** What its SeriesRecords carry, made once: `labels` by name and the store's key. */
  readonly labelObject: Readonly<Record<string, string>>;
  readonly recordKey: string;
  /** `{a="x",b="y"}` as UTF-8 (empty without labels), made at the first scrape and kept. */
  labelBytes: Buffer | undefined;
  value: number;
  /** Histogram: observations per bucket (not cumulative), +Inf last. */
  counts: number[] | undefined;
  sum: number;
  count: number;
  /**
   * Histogram: the latest exemplar of each bucket, as its OpenMetrics text (` # {trace_id="…"}
   * value timestamp`). Kept in memory only: after a restart the next observations bring new ones.
   */
  exemplars: Array<string | undefined> | undefined;
}

/** An observation's trace (SPEC section 10: duration histograms carry the trace id). */
export interface Exemplar {
  readonly traceId: string;
  /** Unix seconds of the observation. */
  readonly at: number;
}

/** Text is handed out in buffers of about this many bytes (see `Family.chunks`). */
export const CHUNK_BYTES = 64 * 1024;

/** Series per block: the unit a scrape can reuse unchanged (see `Family.blocks`). */
export const BLOCK_SERIES = 256;
const BLOCK_BYTES = 1024 * 1024;

/**
 * A run of series in creation order. `version` moves on every change to one of its series, so
 * whatever was derived from a block (its compressed text) is valid while the version is the
 * same.
 */
export interface Block {
  readonly id: number;
  readonly version: number;
  /** Anything a renderer keeps for this block, valid for `version` (see gzip-exposition.ts). */
  derived: { readonly version: number } | undefined;
}

interface SeriesBlock extends Block {
  version: number;
  /** Series created in this block (removed ones included): a block takes BLOCK_SERIES. */
  created: number;
  /** Its live series, in creation order. */
  readonly members: Series[];
}

/**
 * The series of one family, in creation order, cut into blocks of BLOCK_SERIES. The Map keeps
 * insertion order and a new series always joins the newest block, so the blocks in order,
 * member by member, give the same order as the Map.
 */
class SeriesTable {
  readonly map = new Map<string, Series>();
  #blocks: SeriesBlock[] = [];
  #nextId = 0;

  /** Adds a series, or replaces one in place (it keeps its position, so its block too). */
  put(key: string, make: (block: SeriesBlock) => Series): Series {
    const existing = this.map.get(key);
    if (existing !== undefined) {
      const block = existing.block;
      const s = make(block);
      block.members[block.members.indexOf(existing)] = s;
      block.version++;
      this.map.set(key, s);
      return s;
    }
    let block = this.#blocks[this.#blocks.length - 1];
    if (block === undefined || block.created >= BLOCK_SERIES) {
      block = { id: this.#nextId++, version: 0, created: 0, members: [], derived: undefined };
      this.#blocks.push(block);
    }
    block.created++;
    const s = make(block);
    block.members.push(s);
    block.version++;
    this.map.set(key, s);
    return s;
  }

  delete(key: string): boolean {
    const s = this.map.get(key);
    if (s === undefined) return false;
    this.map.delete(key);
    const block = s.block;
    block.members.splice(block.members.indexOf(s), 1);
    block.version++;
    if (block.members.length === 0 && block.created >= BLOCK_SERIES) {
      this.#blocks.splice(this.#blocks.indexOf(block), 1);
    }
    return true;
  }

  clear(): void {
    this.map.clear();
    // A scrape may still be going through these blocks: leave it nothing to render.
    for (const block of this.#blocks) {
      block.members.length = 0;
      block.version++;
    }
    this.#blocks = [];
  }

  get blocks(): readonly SeriesBlock[] {
    return this.#blocks;
  }
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
  readonly #table = new SeriesTable();
  readonly #header: string;
  readonly #openMetricsHeader: string;

  constructor(def: FamilyDef) {
    this.name = def.name;
    this.help = def.help;
    this.type = def.type;
    this.#header = header(def.name, def.help, def.type);
    this.#openMetricsHeader = openMetricsHeader(def.name, def.help, def.type);
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
    const view = new FamilyView(this, def, this.#table);
    this.#views.push(view);
    return view;
  }

  get size(): number {
    return this.#table.map.size;
  }

  /** Puts back a stored series at start-up. False when no view fits it. */
  restore(record: SeriesRecord): boolean {
    const names = Object.keys(record.labels).join(',');
    const view = this.#views.find((v) => v.labelNames.join(',') === names);
    return view?.restore(record) ?? false;
  }

  clearAll(): void {
    this.#table.clear();
    for (const v of this.#views) v.forgetCount();
  }

  /** HELP, TYPE and the lines of every series, or only of those `keep` accepts. */
  render(keep?: (view: FamilyView, labels: readonly string[]) => boolean): string {
    return Buffer.concat([...this.chunks(keep)]).toString('utf8');
  }

  /**
   * The same text as `render`, as UTF-8 in buffers of about CHUNK_BYTES, rendered lazily: a
   * consumer that pauses between pieces lets other work run, and series that change meanwhile
   * show their new values (each series is rendered whole, so its own lines agree).
   */
  *chunks(
    keep?: (view: FamilyView, labels: readonly string[]) => boolean,
    format: ExpositionFormat = 'text',
  ): Generator<Buffer> {
    const w = new ByteWriter(CHUNK_BYTES);
    const head = this.headerIn(format);
    // A filtered view leaves out families it has nothing of; the full view shows them all.
    if (keep === undefined) w.text(head);
    let any = false;
    // Block by block, member by member: the same order as `blocks()`.
    for (const block of this.#liveBlocks()) {
      for (const s of block.members) {
        if (keep !== undefined && !keep(s.view, s.labels)) continue;
        if (!any && keep !== undefined) w.text(head);
        any = true;
        s.view.write(s, w, format);
        if (w.hasFull) yield* w.takeFull();
      }
    }
    yield* w.take();
  }

  /**
   * The blocks with series, from the list as it is now: blocks may come and go while a consumer
   * pauses between them (a cleared block has no members left to render).
   */
  *#liveBlocks(): Generator<SeriesBlock> {
    for (const block of [...this.#table.blocks]) if (block.members.length > 0) yield block;
  }

  /** `# HELP` and `# TYPE` of the family, in text 0.0.4 or OpenMetrics. */
  headerIn(format: ExpositionFormat): string {
    return format === 'openmetrics' ? this.#openMetricsHeader : this.#header;
  }

  /**
   * Every series block in order. `render()` gives the block's text (UTF-8) as it is now; a
   * consumer that kept something derived from an earlier render may reuse it while
   * `block.version` is unchanged and skip the render.
   */
  *blocks(format: ExpositionFormat = 'text'): Generator<{ block: Block; render: () => Buffer }> {
    for (const block of this.#liveBlocks()) {
      yield {
        block,
        render: () => {
          // Room for a block of large histograms at once, so it rarely needs joining.
          const w = new ByteWriter(BLOCK_BYTES);
          for (const s of block.members) s.view.write(s, w, format);
          const parts = w.take();
          return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
        },
      };
    }
  }
}

function labelBytes(names: readonly string[], values: readonly string[]): Buffer {
  const pairs = formatLabelPairs(names, values);
  return Buffer.from(pairs === '' ? '' : `{${pairs}}`, 'utf8');
}

export class FamilyView {
  readonly family: Family;
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
  readonly maxSeries: number;
  readonly #table: SeriesTable;
  /** `le="0.5"} ` and so on, +Inf last: the end of each bucket line's labels, as bytes. */
  readonly #les: Buffer[];
  /** Sample names as bytes. */
  readonly #names: { value: Buffer; bucket: Buffer; sum: Buffer; count: Buffer };
  readonly #prefix: string;
  #size = 0;

  constructor(family: Family, def: FamilyDef, table: SeriesTable) {
    this.family = family;
    this.labelNames = def.labelNames;
    this.buckets = def.buckets ?? [];
    this.maxSeries = def.maxSeries;
    this.#table = table;
    const name = family.name;
    this.#names = {
      value: Buffer.from(name),
      bucket: Buffer.from(`${name}_bucket`),
      sum: Buffer.from(`${name}_sum`),
      count: Buffer.from(`${name}_count`),
    };
    this.#les = [...this.buckets.map((b) => `le="${formatValue(b)}"} `), 'le="+Inf"} '].map((t) =>
      Buffer.from(t, 'utf8'),
    );
    this.#prefix = `${this.labelNames.join(',')}\u0000`;
  }

  get size(): number {
    return this.#size;
  }

  has(labels: readonly string[]): boolean {
    return this.#table.map.has(this.#key(labels));
  }

  /** The current value of a counter or gauge series, if it exists. */
  valueOf(labels: readonly string[]): number | undefined {
    return this.#table.map.get(this.#key(labels))?.value;
  }

  /** The current sum of a histogram series, if it exists. */
  sumOf(labels: readonly string[]): number | undefined {
    return this.#table.map.get(this.#key(labels))?.sum;
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

  observe(labels: readonly string[], value: number, exemplar?: Exemplar): SeriesRecord {
    const s = this.#get(labels);
    const counts = s.counts as number[];
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] as number)) i++;
    counts[i] = (counts[i] ?? 0) + 1;
    if (exemplar !== undefined) {
      s.exemplars ??= new Array<string | undefined>(counts.length);
      s.exemplars[i] =
        ` # {trace_id="${exemplar.traceId}"} ${formatValue(value)} ${formatValue(exemplar.at)}`;
    }
    s.sum += value;
    s.count += 1;
    return this.#touched(s);
  }

  /** Forgets one series; returns the deletion to hand to the Store, if it existed. */
  remove(labels: readonly string[]): SeriesRecord | undefined {
    const key = this.#key(labels);
    if (!this.#table.delete(key)) return undefined;
    this.#size--;
    return {
      metric: this.family.name,
      labels: this.#labelObject(labels),
      key: this.#recordKey(key),
      value: null,
    };
  }

  /** Forgets every series of this view; returns the deletions to hand to the Store. */
  clear(): SeriesRecord[] {
    const removed: SeriesRecord[] = [];
    for (const [key, s] of this.#table.map) {
      if (s.view !== this) continue;
      this.#table.delete(key);
      removed.push({ metric: this.family.name, labels: s.labelObject, key: s.recordKey, value: null });
    }
    this.#size = 0;
    return removed;
  }

  /** Creates a series at zero (used by cartesian reset), ignoring the budget. */
  zero(labels: readonly string[]): SeriesRecord {
    const key = this.#key(labels);
    if (!this.#table.map.has(key)) this.#size++;
    return this.#record(this.#table.put(key, (block) => this.#create(key, labels, block)));
  }

  restore(record: SeriesRecord): boolean {
    const labels = this.labelNames.map((n) => record.labels[n] ?? '');
    const value = record.value;
    if (value === null || (this.family.type === 'histogram') !== (value.kind === 'histogram')) return false;
    if (value.kind === 'histogram' && value.counts.length !== this.buckets.length + 1) return false;
    const key = this.#key(labels);
    if (!this.#table.map.has(key)) this.#size++;
    this.#table.put(key, (block) => {
      const s = this.#create(key, labels, block);
      if (value.kind === 'histogram') {
        s.counts = [...value.counts];
        s.sum = value.sum;
        s.count = value.count;
      } else {
        s.value = value.value;
      }
      return s;
    });
    return true;
  }

  /** @internal Called when the family drops every series at once. */
  forgetCount(): void {
    this.#size = 0;
  }

  /** @internal Writes the exposition lines of one series of this view (exemplars: OpenMetrics only). */
  write(s: Series, w: ByteWriter, format: ExpositionFormat = 'text'): void {
    // Encoded once per series and kept (~100 bytes): every scrape copies it into each line.
    const labels = (s.labelBytes ??= labelBytes(this.labelNames, s.labels));
    if (s.counts === undefined) {
      w.sample(this.#names.value, labels, s.value);
      return;
    }
    const les = this.#les;
    const exemplars = format === 'openmetrics' ? s.exemplars : undefined;
    let cumulative = 0;
    for (let i = 0; i < s.counts.length; i++) {
      cumulative += s.counts[i] ?? 0;
      w.bucket(this.#names.bucket, labels, les[i] as Buffer, cumulative, exemplars?.[i]);
    }
    w.sample(this.#names.sum, labels, s.sum);
    w.sample(this.#names.count, labels, s.count);
  }

  #key(labels: readonly string[]): string {
    return this.#prefix + JSON.stringify(labels);
  }

  #get(labels: readonly string[]): Series {
    const key = this.#key(labels);
    let s = this.#table.map.get(key);
    if (s === undefined) {
      if (this.#size >= this.maxSeries) throw new SeriesBudgetError(this.family.name, this.maxSeries);
      s = this.#table.put(key, (block) => this.#create(key, labels, block));
      this.#size++;
    }
    return s;
  }

  #create(key: string, labels: readonly string[], block: SeriesBlock): Series {
    return {
      view: this,
      key,
      block,
      labels: [...labels],
      labelObject: this.#labelObject(labels),
      recordKey: this.#recordKey(key),
      labelBytes: undefined,
      value: 0,
      counts:
        this.family.type === 'histogram' ? new Array<number>(this.buckets.length + 1).fill(0) : undefined,
      sum: 0,
      count: 0,
      exemplars: undefined,
    };
  }

  #touched(s: Series): SeriesRecord {
    s.block.version++;
    return this.#record(s);
  }

  #labelObject(labels: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    this.labelNames.forEach((n, i) => {
      out[n] = labels[i] ?? '';
    });
    return out;
  }

  /** Unique among every metric's series (SeriesRecord.key). */
  #recordKey(key: string): string {
    return `${this.family.name}\u0000${key}`;
  }

  #record(s: Series): SeriesRecord {
    const value: SeriesValue =
      s.counts === undefined
        ? { kind: 'number', value: s.value }
        : { kind: 'histogram', counts: [...s.counts], sum: s.sum, count: s.count };
    return { metric: this.family.name, labels: s.labelObject, key: s.recordKey, value };
  }
}
