import { DELIVERY_FAMILY_DEFS } from '../metrics/delivery-families.js';
import { Family, FamilyConflictError } from '../metrics/family.js';
import { SERVICE_METRIC_NAMES } from '../metrics/service-metrics.js';
import type { Catalog } from './catalog.js';

/**
 * Catalog metrics that cannot be served beside the service's own metrics: a service metric's
 * name, or an event metric's name with another type (or the same labels and other buckets).
 * The same name with other labels is fine: both are served under it (see Family).
 */
export function catalogConflicts(catalog: Catalog): string[] {
  const families = new Map<string, Family>();
  for (const def of Object.values(DELIVERY_FAMILY_DEFS)) {
    const family = new Family({ ...def, maxSeries: 1 });
    family.view({ ...def, maxSeries: 1 });
    families.set(def.name, family);
  }
  const problems: string[] = [];
  for (const def of catalog.metrics) {
    if ((SERVICE_METRIC_NAMES as readonly string[]).includes(def.metricName)) {
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
  return problems;
}
