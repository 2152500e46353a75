import { HttpError } from '../http/http-error.js';
import type { FamilyView } from '../metrics/family.js';
import type { MetricState } from '../metrics/metric-state.js';
import type { SeriesRecord } from '../store/store.js';
import type { Catalog, PushMetricDef } from './catalog.js';
import type { PushFields } from './parse-push-body.js';

export type PushOperation = 'observe' | 'inc' | 'dec' | 'set';
export const PUSH_OPERATIONS: readonly PushOperation[] = ['observe', 'inc', 'dec', 'set'];

const OPERATIONS_OF: Record<PushMetricDef['type'], readonly PushOperation[]> = {
  histogram: ['observe'],
  counter: ['inc'],
  gauge: ['inc', 'dec', 'set'],
};

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The push API's rules (SPEC section 6), apart from HTTP. */
export class PushService {
  readonly #state: MetricState;
  readonly #families = new Map<PushMetricDef, FamilyView>();

  constructor(deps: { catalog: Catalog; state: MetricState }) {
    this.#state = deps.state;
    for (const def of deps.catalog.metrics) {
      this.#families.set(
        def,
        deps.state.define({
          name: def.metricName,
          help: def.help,
          type: def.type,
          labelNames: def.labels,
          ...(def.buckets ? { buckets: def.buckets } : {}),
          maxSeries: def.maxSeries,
        }),
      );
    }
  }

  async apply(def: PushMetricDef, op: PushOperation, fields: PushFields): Promise<void> {
    if (!OPERATIONS_OF[def.type].includes(op)) {
      throw new HttpError(
        400,
        `${def.name} is a ${def.type}: it has no ${op} (use ${OPERATIONS_OF[def.type].join(' or ')})`,
      );
    }
    const value = parseValue(fields.value, op === 'inc' || op === 'dec' ? 1 : undefined);
    if (def.type === 'counter' && value < 0) {
      throw new HttpError(400, `${def.name} is a counter: it only goes up, so value must be 0 or more`);
    }
    const labels = resolveLabels(def, fields.labels);
    this.#state.assertWritable();
    const family = this.#family(def);
    // A finite value can still make an infinite total (1.7e308 twice): Prometheus's text
    // format and the store have no room for it, so it is refused before anything changes.
    const next =
      op === 'observe'
        ? (family.sumOf(labels) ?? 0) + value
        : op === 'set'
          ? value
          : (family.valueOf(labels) ?? 0) + (op === 'dec' ? -value : value);
    if (!Number.isFinite(next)) {
      throw new HttpError(
        400,
        `${def.name}: this ${op} would make its ${op === 'observe' ? 'sum' : 'value'} no longer a finite number`,
      );
    }
    let record: SeriesRecord;
    if (op === 'observe') record = family.observe(labels, value);
    else if (op === 'set') record = family.set(labels, value);
    else record = family.inc(labels, op === 'dec' ? -value : value);
    await this.#state.save({ series: [record] });
  }

  /**
   * DELETE: forget every series, or with `reset: cartesian` put every combination back at 0:
   * each closed label's values, and each open label's values among the series it forgot.
   */
  async reset(def: PushMetricDef): Promise<void> {
    this.#state.assertWritable();
    const family = this.#family(def);
    const series = family.clear();
    if (def.reset === 'cartesian') {
      const had = new Map<string, Set<string>>();
      for (const s of series) {
        for (const name of def.labels) {
          if (def.values[name] !== undefined) continue;
          const value = s.labels[name];
          if (value === undefined) continue;
          const values = had.get(name) ?? new Set<string>();
          values.add(value);
          had.set(name, values);
        }
      }
      // Never more than the metric's series budget, though zero() itself does not count them.
      const combinations = cartesian(def, had).slice(0, def.maxSeries);
      series.push(...combinations.map((labels) => family.zero(labels)));
    }
    await this.#state.save({ series });
  }

  #family(def: PushMetricDef): FamilyView {
    const family = this.#families.get(def);
    if (family === undefined)
      throw new Error(`${def.name} is not in the catalog this service was built with`);
    return family;
  }
}

function parseValue(raw: unknown, fallback: number | undefined): number {
  // Only a value left out takes the default: an empty one (`-F value=$COUNT` with COUNT unset)
  // is a mistake, and counting 1 for it would hide that.
  if (raw === undefined) {
    if (fallback === undefined) throw new HttpError(400, 'value is required');
    return fallback;
  }
  if (raw === '' || raw === null)
    throw new HttpError(400, 'value is empty: leave the field out or send a number');
  const n =
    typeof raw === 'number'
      ? raw
      : typeof raw === 'string' && NUMBER.test(raw.trim())
        ? Number(raw)
        : Number.NaN;
  if (!Number.isFinite(n)) {
    // JSON numbers too large for a double arrive as Infinity, which JSON.stringify writes as null.
    const shown = typeof raw === 'number' ? String(raw) : JSON.stringify(raw);
    throw new HttpError(400, `value ${shown} is not a finite number`);
  }
  return n;
}

/**
 * Longest label value a push may create. A label value is written out on every scrape for as
 * long as its series lives; a 100 KB one (a log line pasted by mistake) would be too.
 */
const MAX_LABEL_LENGTH = 1024;

/** Positional (`a,b` or `["a","b"]`) or, in JSON, by name (`{"target":"a"}`). */
function resolveLabels(def: PushMetricDef, raw: unknown): string[] {
  let values: string[];
  if (raw === undefined || raw === null || raw === '') values = [];
  else if (typeof raw === 'string') values = raw.split(',').map((v) => v.trim());
  else if (Array.isArray(raw)) values = raw.map((v) => labelString(v));
  else if (typeof raw === 'object') {
    const byName = raw as Record<string, unknown>;
    const unknown = Object.keys(byName).filter((k) => !def.labels.includes(k));
    if (unknown.length > 0) throw new HttpError(400, `${def.name} has no label ${unknown.join(', ')}`);
    const missing = def.labels.filter((l) => !(l in byName));
    if (missing.length > 0) throw new HttpError(400, `${def.name} needs label ${missing.join(', ')}`);
    values = def.labels.map((l) => labelString(byName[l]));
  } else throw new HttpError(400, 'labels must be a comma-separated string, a list or an object by name');

  if (values.length !== def.labels.length) {
    throw new HttpError(
      400,
      `${def.name} takes ${def.labels.length} label${def.labels.length === 1 ? '' : 's'} (${def.labels.join(', ') || 'none'}), got ${values.length}`,
    );
  }
  def.labels.forEach((name, i) => {
    const v = values[i] as string;
    if (v === '') throw new HttpError(400, `label ${name} is empty`);
    if (v.length > MAX_LABEL_LENGTH) {
      throw new HttpError(400, `label ${name} is longer than ${MAX_LABEL_LENGTH} characters`);
    }
    const allowed = def.values[name];
    if (allowed !== undefined && !allowed.includes(v)) {
      throw new HttpError(400, `label ${name} must be one of ${allowed.join(', ')}; got '${v}'`);
    }
  });
  return values;
}

function labelString(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new HttpError(400, `label value ${kindOf(v)} is not a string`);
}

/** A short name for a value that is not a label value (its JSON could be any size or depth). */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}

function cartesian(def: PushMetricDef, had: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  return def.labels.reduce<string[][]>(
    (combos, name) =>
      combos.flatMap((c) => (def.values[name] ?? [...(had.get(name) ?? [])]).map((v) => [...c, v])),
    [[]],
  );
}

/** GET /api: the catalog as JSON. */
export function describeCatalog(catalog: Catalog) {
  const describe = (d: PushMetricDef) => ({
    name: d.name,
    metric: d.metricName,
    type: d.type,
    help: d.help,
    labels: d.labels,
    values: d.values,
    ...(d.buckets ? { buckets: d.buckets } : {}),
    operations: OPERATIONS_OF[d.type],
    reset: d.reset ?? 'clear',
    max_series: d.maxSeries,
  });
  return {
    metrics: catalog.metrics.filter((d) => !d.experiment).map(describe),
    experiments: catalog.metrics.filter((d) => d.experiment).map(describe),
  };
}
