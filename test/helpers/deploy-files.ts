import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** A file of the repository, by its path from the top (`k8s/statefulset.yaml`). */
export function repoFile(path: string): string {
  return fileURLToPath(new URL(`../../${path}`, import.meta.url));
}

export function readYaml<T>(path: string): T {
  return parse(readFileSync(repoFile(path), 'utf8')) as T;
}

export interface RuleGroups {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string }> }>;
}

/** The rule groups of k8s/monitoring/prometheus-rule.yaml: a Prometheus rule file's content. */
export function ruleGroups(): RuleGroups {
  return readYaml<{ spec: RuleGroups }>('k8s/monitoring/prometheus-rule.yaml').spec;
}

export interface DashboardTarget {
  panel: string;
  expr: string;
}

interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(repoFile('k8s/monitoring/grafana-dashboard.json'), 'utf8')) as Dashboard;
}

/** Every query of the dashboard's panels. */
export function dashboardTargets(): DashboardTarget[] {
  return dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/**
 * A dashboard query as Grafana sends it, for "All" in every variable and a range of an hour:
 * the variables' `allValue` (`.+`) and Grafana's built-in intervals.
 */
export function asGrafanaSends(expr: string, range = '1h', rateInterval = '1m'): string {
  return expr
    .replaceAll('$__range', range)
    .replaceAll('$__rate_interval', rateInterval)
    .replace(/\$(source|project|environment)\b/g, '.+');
}

/** kustomize's env-file reading: KEY=VALUE lines, `#` comments and blank lines skipped. */
export function envFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(repoFile(path), 'utf8').split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
