/** A span attribute value: what OTLP's AnyValue carries for the attributes this service sets. */
export type AttributeValue = string | number | boolean | readonly string[];

/**
 * A finished span, built by hand from CI payloads rather than by an OpenTelemetry tracer: the
 * ids are derived from the run and job ids, so re-sending the same run gives the same span.
 */
export interface SpanRecord {
  readonly traceId: string; // 32 lowercase hex
  readonly spanId: string; // 16 lowercase hex
  readonly parentSpanId?: string; // 16 lowercase hex; absent for a root span
  readonly name: string;
  readonly kind: 'server' | 'internal';
  readonly startS: number; // unix seconds, may be fractional
  readonly endS: number; // unix seconds, >= startS
  readonly status: 'ok' | 'error' | 'unset';
  readonly statusMessage?: string;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly links?: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>;
  /** Resource attributes of this span (service.name etc.); spans with equal resources are grouped. */
  readonly resource: Readonly<Record<string, string>>;
}

export interface TraceSink {
  /** Queues finished spans for export; never throws, never blocks (bounded queue; drops and logs a warning when full). */
  export(spans: readonly SpanRecord[]): void;
  /** Exports what is queued (bounded by a timeout), then stops. */
  shutdown(): Promise<void>;
}
