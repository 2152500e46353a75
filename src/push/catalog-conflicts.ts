import { Registry } from 'prom-client';
import { DELIVERY_FAMILY_DEFS } from '../metrics/delivery-families.js';
import { Family, FamilyConflictError } from '../metrics/family.js';
import { SERVICE_METRIC_NAMES } from '../metrics/service-metrics.js';
import { createScraperMetrics } from '../scrapers/scraper-metrics.js';
import type { Catalog } from './catalog.js';

type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * Every name a metric writes on `/metrics`, in either format: its samples (a histogram's
 * `_bucket`, `_sum` and `_count`; a counter's `_total`, which OpenMetrics adds when missing) and
 * its family name (OpenMetrics names a counter's family without `_total`). Two metrics that share
 * one of these cannot both be served: Prometheus reads the page as one family declared twice.
 */
function namesWritten(name: string, type: MetricType | undefined): string[] {
  const base = name.replace(/_total$/, '');
  const forms = {
    counter: [name, base, `${base}_total`],
    gauge: [name],
    histogram: [name, `${name}_bucket`, `${name}_sum`, `${name}_count`],
  };
  return type === undefined ? [...new Set(Object.values(forms).flat())] : forms[type];
}

/** The service's metrics outside the event families, by name, with their types where known. */
function otherMetrics(): Array<{ name: string; type: MetricType | undefined }> {
  // The scrapers' metrics are made in a registry of their own here: making them has no effect
  // beyond it. The service's own are named only (their type does not matter: their names are
  // refused outright, and every name they could write is taken).
  const registry = new Registry();
  createScraperMetrics(registry);
  return [
    ...registry.getMetricsAsArray().map((m) => ({ name: m.name, type: String(m.type) as MetricType })),
    ...SERVICE_METRIC_NAMES.map((name) => ({ name, type: undefined })),
  ];
}

/**
 * Catalog metrics that cannot be served beside the service's own metrics or each other: the
 * name of one of the service's or the scrapers' own metrics; an event metric's name with another type (or the same labels and
 * other buckets); or a name that another metric's lines already use (`x_count` beside the
 * histogram `x`, the gauge `x` beside the counter `x_total`). The same name with other labels
 * is fine: both are served under it (see Family).
 */
export function catalogConflicts(catalog: Catalog): string[] {
  const others = otherMetrics();
  const own = new Set(others.map((m) => m.name));
  const families = new Map<string, Family>();
  for (const def of Object.values(DELIVERY_FAMILY_DEFS)) {
    const family = new Family({ ...def, maxSeries: 1 });
    family.view({ ...def, maxSeries: 1 });
    families.set(def.name, family);
  }
  const problems: string[] = [];
  for (const def of catalog.metrics) {
    if (own.has(def.metricName)) {
      problems.push(
        `${def.name}: ${def.metricName} is one of the service's own metrics; choose another name`,
      );
      continue;
    }
    try {
      families.get(def.metricName)?.view({
        name: def.metricName,
        help: def.help,
        type: def.type,
        labelNames: def.labels,
        ...(def.buckets ? { buckets: def.buckets } : {}),
        maxSeries: 1,
      });
    } catch (err) {
      if (!(err instanceof FamilyConflictError)) throw err;
      problems.push(`${def.name}: ${err.message}`);
    }
  }

  // Names written: which metric writes each, over every metric served.
  const writers = new Map<string, Set<string>>();
  const note = (name: string, type: MetricType | undefined) => {
    for (const written of namesWritten(name, type)) {
      const set = writers.get(written) ?? new Set<string>();
      set.add(name);
      writers.set(written, set);
    }
  };
  for (const def of Object.values(DELIVERY_FAMILY_DEFS)) note(def.name, def.type);
  for (const m of others) note(m.name, m.type);
  for (const def of catalog.metrics) note(def.metricName, def.type);
  for (const def of catalog.metrics) {
    if (own.has(def.metricName)) continue;
    const clashes = new Map<string, string>();
    for (const written of namesWritten(def.metricName, def.type)) {
      for (const other of writers.get(written) ?? []) {
        if (other !== def.metricName && !clashes.has(other)) clashes.set(other, written);
      }
    }
    for (const [other, written] of clashes) {
      problems.push(
        `${def.name}: ${def.metricName} would be served as ${written}, a name ${other} uses too; choose another name`,
      );
    }
  }
  return problems;
}
