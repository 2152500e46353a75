import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One push metric, validated and ready to serve. */
export interface PushMetricDef {
  /** The catalog key: the `<metric>` of `/api/<metric>/...`. */
  readonly name: string;
  /** The exposed name: `delivery_<name>`, or `delivery_experiments_<name>` for an experiment. */
  readonly metricName: string;
  readonly experiment: boolean;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Closed label sets, by label name. */
  readonly values: Readonly<Record<string, readonly string[]>>;
  readonly buckets: readonly number[] | undefined;
  readonly reset: 'cartesian' | undefined;
  readonly maxSeries: number;
}

export interface Catalog {
  readonly metrics: readonly PushMetricDef[];
  /** Lookup by catalog key, and by `experiments_<key>` for experiments. */
  readonly byName: ReadonlyMap<string, PushMetricDef>;
}

export const DEFAULT_MAX_SERIES = 10_000;
/** prom-client's default buckets, used when a histogram declares none. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const name = z.string().regex(NAME, 'must match [a-zA-Z_][a-zA-Z0-9_]*');

const metricSchema = z.strictObject({
  type: z.enum(['counter', 'gauge', 'histogram']),
  help: z.string().min(1, 'must not be empty'),
  labels: z.array(name).default([]),
  values: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
  buckets: z.array(z.number().finite()).min(1).optional(),
  reset: z.literal('cartesian').optional(),
  max_series: z.number().int().positive().default(DEFAULT_MAX_SERIES),
});

const catalogSchema = z.strictObject({
  metrics: z.record(name, metricSchema).default({}),
  experiments: z.record(name, metricSchema).default({}),
});

type MetricInput = z.infer<typeof metricSchema>;

export class CatalogError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'CatalogError';
  }
}

function checkMetric(path: string, m: MetricInput): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const label of m.labels) {
    if (seen.has(label)) problems.push(`${path}.labels: '${label}' appears twice`);
    seen.add(label);
    if (label.startsWith('__')) problems.push(`${path}.labels: '${label}' is reserved (starts with __)`);
    if (label === 'le' && m.type === 'histogram')
      problems.push(`${path}.labels: 'le' is reserved in histograms`);
  }
  for (const key of Object.keys(m.values)) {
    if (!seen.has(key)) problems.push(`${path}.values: '${key}' is not one of its labels`);
  }
  if (m.buckets !== undefined) {
    if (m.type !== 'histogram') problems.push(`${path}.buckets: only a histogram has buckets`);
    if (m.buckets.some((b, i) => i > 0 && b <= (m.buckets?.[i - 1] ?? b)))
      problems.push(`${path}.buckets: must be strictly increasing`);
  }
  if (m.reset === 'cartesian') {
    // Open labels (SPEC's own example has one) take the values they had when reset.
    const combinations = m.labels.reduce((n, l) => n * (m.values[l]?.length ?? 1), 1);
    if (combinations > m.max_series)
      problems.push(`${path}.reset: ${combinations} combinations exceed max_series ${m.max_series}`);
  }
  return problems;
}

function toDef(key: string, m: MetricInput, experiment: boolean): PushMetricDef {
  return {
    name: key,
    metricName: experiment ? `delivery_experiments_${key}` : `delivery_${key}`,
    experiment,
    type: m.type,
    help: m.help,
    labels: m.labels,
    values: m.values,
    buckets: m.type === 'histogram' ? (m.buckets ?? [...DEFAULT_BUCKETS]) : undefined,
    reset: m.reset,
    maxSeries: m.max_series,
  };
}

/** Validates a parsed catalog document; throws one CatalogError listing every problem. */
export function parseCatalog(doc: unknown): Catalog {
  const parsed = catalogSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    throw new CatalogError(
      parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  const problems: string[] = [];
  const metrics: PushMetricDef[] = [];
  for (const [key, m] of Object.entries(parsed.data.metrics)) {
    problems.push(...checkMetric(`metrics.${key}`, m));
    metrics.push(toDef(key, m, false));
  }
  for (const [key, m] of Object.entries(parsed.data.experiments)) {
    problems.push(...checkMetric(`experiments.${key}`, m));
    metrics.push(toDef(key, m, true));
  }
  const byName = new Map<string, PushMetricDef>();
  for (const def of metrics) {
    const names = def.experiment ? [def.name, `experiments_${def.name}`] : [def.name];
    for (const n of names) {
      const other = byName.get(n);
      if (other !== undefined) problems.push(`'${n}' names both ${other.metricName} and ${def.metricName}`);
      byName.set(n, def);
    }
  }
  if (problems.length > 0) throw new CatalogError(problems);
  return { metrics, byName };
}

/** Reads a YAML or JSON catalog file (JSON is YAML, so one parser reads both). */
export function loadCatalogFile(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CatalogError([`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new CatalogError([`${path} is not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseCatalog(doc);
}
