import {
  type Attributes,
  type HrTime,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  isValidSpanId,
  isValidTraceId,
} from '@opentelemetry/api';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { SpanRecord } from './span-record.js';

const scope = { name: 'delivery-metrics' } as const;
const kinds = { server: SpanKind.SERVER, internal: SpanKind.INTERNAL } as const;
const statusCodes = {
  ok: SpanStatusCode.OK,
  error: SpanStatusCode.ERROR,
  unset: SpanStatusCode.UNSET,
} as const;

/** Unix seconds (fractional) as OpenTelemetry's [seconds, nanoseconds]. */
export function toHrTime(seconds: number): HrTime {
  let whole = Math.floor(seconds);
  let nanos = Math.round((seconds - whole) * 1e9);
  if (nanos >= 1e9) {
    whole += 1;
    nanos -= 1e9;
  }
  return [whole, nanos];
}

function hrDiff(end: HrTime, start: HrTime): HrTime {
  let s = end[0] - start[0];
  let ns = end[1] - start[1];
  if (ns < 0) {
    s -= 1;
    ns += 1e9;
  }
  return [s, ns];
}

function sampled(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: TraceFlags.SAMPLED };
}

/** What is wrong with a record's ids, or undefined: a bad id would be sent as garbage bytes. */
export function invalidIds(r: SpanRecord): string | undefined {
  if (!isValidTraceId(r.traceId)) return 'traceId';
  if (!isValidSpanId(r.spanId)) return 'spanId';
  if (r.parentSpanId !== undefined && !isValidSpanId(r.parentSpanId)) return 'parentSpanId';
  if (r.links?.some((l) => !isValidTraceId(l.traceId) || !isValidSpanId(l.spanId))) return 'links';
  return undefined;
}

/**
 * One Resource object per distinct attribute set: the OTLP transformer groups spans into
 * ResourceSpans by object identity, so equal resources must be the same object. Bounded
 * (oldest forgotten first); a forgotten set only costs a second ResourceSpans entry.
 */
export function createResourceCache(max = 256): (attrs: SpanRecord['resource']) => Resource {
  const byKey = new Map<string, Resource>();
  return (attrs) => {
    const key = JSON.stringify(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : 1)));
    let resource = byKey.get(key);
    if (resource === undefined) {
      resource = resourceFromAttributes({ ...attrs });
      if (byKey.size >= max) byKey.delete(byKey.keys().next().value!);
      byKey.set(key, resource);
    }
    return resource;
  };
}

/** A finished span in the form the SDK's processors and exporters take, with the record's own ids. */
export function toReadableSpan(r: SpanRecord, resource: Resource): ReadableSpan {
  const startTime = toHrTime(r.startS);
  const endTime = toHrTime(r.endS);
  const attributes: Attributes = {};
  for (const [k, v] of Object.entries(r.attributes)) attributes[k] = typeof v === 'object' ? [...v] : v;
  const context = sampled(r.traceId, r.spanId);
  return {
    name: r.name,
    kind: kinds[r.kind],
    spanContext: () => context,
    ...(r.parentSpanId === undefined ? {} : { parentSpanContext: sampled(r.traceId, r.parentSpanId) }),
    startTime,
    endTime,
    duration: hrDiff(endTime, startTime),
    status:
      r.statusMessage === undefined
        ? { code: statusCodes[r.status] }
        : { code: statusCodes[r.status], message: r.statusMessage },
    attributes,
    links: (r.links ?? []).map((l) => ({ context: sampled(l.traceId, l.spanId) })),
    events: [],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
