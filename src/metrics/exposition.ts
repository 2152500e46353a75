import type { Registry } from 'prom-client';
import type { MetricState } from './metric-state.js';
import { formatLabels, formatValue, header } from './text-format.js';

/** Everything: the process and service metrics of prom-client, then the durable metrics. */
export async function renderAll(registry: Registry, state: MetricState): Promise<string> {
  return (await registry.metrics()) + state.render();
}

/** True when a `project` label value lies inside `group` (GitLab paths compare case-insensitively). */
export function projectInGroup(project: string, group: string): boolean {
  return project.toLowerCase().startsWith(`${group.toLowerCase()}/`);
}

/** Only the series whose `project` label is inside `group` (SPEC section 7). */
export async function renderGroup(registry: Registry, state: MetricState, group: string): Promise<string> {
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
  return (
    out +
    state.render((view, labels) => {
      const i = view.labelNames.indexOf('project');
      return i >= 0 && projectInGroup(labels[i] ?? '', group);
    })
  );
}
