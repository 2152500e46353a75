import type { Registry } from 'prom-client';
import type { FamilyView } from './family.js';
import type { MetricState } from './metric-state.js';
import { slices } from './slices.js';
import {
  type ExpositionFormat,
  formatLabels,
  formatValue,
  header,
  OPENMETRICS_EOF,
  toOpenMetrics,
} from './text-format.js';

/**
 * True when a `project` label value lies inside `group`. GitLab and GitHub paths compare
 * case-insensitively, and are ASCII: only A-Z fold, so that no other character (the Kelvin sign
 * folds to `k` in Unicode) can put a project of another owner into a group.
 */
export function projectInGroup(project: string, group: string): boolean {
  if (project.length <= group.length || project.charCodeAt(group.length) !== 0x2f) return false;
  for (let i = 0; i < group.length; i++) {
    let a = project.charCodeAt(i);
    let b = group.charCodeAt(i);
    if (a >= 0x41 && a <= 0x5a) a += 0x20;
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (a !== b) return false;
  }
  return true;
}

/** Everything: the process and service metrics of prom-client, then the durable metrics. */
export function exposeAll(
  registry: Registry,
  state: MetricState,
  format: ExpositionFormat = 'text',
): AsyncGenerator<Buffer> {
  return expose(() => registry.metrics(), state, format);
}

/** Only the series whose `project` label is inside `group` (SPEC section 7). */
export function exposeGroup(
  registry: Registry,
  state: MetricState,
  group: string,
  format: ExpositionFormat = 'text',
): AsyncGenerator<Buffer> {
  return expose(
    () => registryGroup(registry, group),
    state,
    format,
    (view, labels) => {
      const i = view.labelNames.indexOf('project');
      return i >= 0 && projectInGroup(labels[i] ?? '', group);
    },
  );
}

/** The whole text at once, for callers that want a string (tests, tools). */
export async function collect(chunks: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * prom-client's own metrics (a few hundred lines) first, then the durable series in pieces.
 * After each piece, once SLICE_MS (slices.ts) have passed, the event loop gets a turn: a scrape of 100,000
 * series takes a while, and intake must not stall behind it.
 */
async function* expose(
  own: () => Promise<string>,
  state: MetricState,
  format: ExpositionFormat,
  keep?: (view: FamilyView, labels: readonly string[]) => boolean,
): AsyncGenerator<Buffer> {
  const text = await own();
  yield Buffer.from(format === 'openmetrics' ? toOpenMetrics(text) : text, 'utf8');
  const slice = slices();
  for (const chunk of state.chunks(keep, format)) {
    yield chunk;
    await slice.pause();
  }
  if (format === 'openmetrics') yield Buffer.from(OPENMETRICS_EOF);
}

async function registryGroup(registry: Registry, group: string): Promise<string> {
  let out = '';
  for (const metric of await registry.getMetricsAsJSON()) {
    let lines = '';
    for (const v of metric.values) {
      const project = v.labels.project;
      if (typeof project !== 'string' || !projectInGroup(project, group)) continue;
      const names = Object.keys(v.labels);
      const values = names.map((n) => String(v.labels[n]));
      const sample = (v as { metricName?: string }).metricName ?? metric.name;
      lines += `${sample}${formatLabels(names, values)} ${formatValue(v.value)}\n`;
    }
    if (lines !== '') out += header(metric.name, metric.help, String(metric.type)) + lines;
  }
  return out;
}
