import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../clock.js';
import { routeDiagToPino } from './diag-to-pino.js';
import type { SpanRecord, TraceSink } from './span-record.js';
import { createResourceCache, invalidIds, toReadableSpan } from './to-readable-span.js';

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';

/** Spans held at most; about 2 KB each as ReadableSpans, so some 40 MB when full. */
const maxQueueSize = 20_000;
const maxExportBatchSize = 512;
const scheduledDelayMillis = 1000;
/** How long shutdown waits for the last exports: under Kubernetes' 30 s grace with room to spare. */
const shutdownTimeoutMs = 5000;
const dropWarnIntervalMs = 10_000;

/**
 * The traces URL for OTEL_EXPORTER_OTLP_ENDPOINT, as the OpenTelemetry spec says: for HTTP,
 * `v1/traces` appended to the endpoint's path (a base path is kept); for gRPC, the endpoint as
 * given. https://opentelemetry.io/docs/specs/otel/protocol/exporter/#endpoint-urls-for-otlphttp
 */
export function tracesUrl(endpoint: URL, protocol: OtlpProtocol): string {
  if (protocol === 'grpc') return endpoint.href;
  const url = new URL(endpoint.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.href;
}

/** The URL as it may be logged: user info in it would be a credential. */
function shown(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.href;
}

/**
 * At shutdown the BatchSpanProcessor sends every queued batch at once, and the exporter refuses
 * what is over its concurrency limit (30 by default): a full queue would lose a quarter of it.
 */
const concurrencyLimit = Math.ceil(maxQueueSize / maxExportBatchSize) + 1;

function createExporter(url: string, protocol: OtlpProtocol): SpanExporter {
  switch (protocol) {
    case 'grpc':
      return new GrpcExporter({ url, concurrencyLimit });
    case 'http/protobuf':
      return new ProtobufExporter({ url, concurrencyLimit });
    case 'http/json':
      return new JsonExporter({ url, concurrencyLimit });
  }
}

/**
 * Ships finished SpanRecords over OTLP through the SDK's BatchSpanProcessor. That processor
 * drops spans over its queue size with only a debug line, and its queue is private, so the sink
 * keeps the count itself: spans handed to the processor minus spans the processor has passed to
 * the exporter (it does so synchronously; our resources have no async attributes). A span that
 * would overflow is dropped here and counted in a warning at most every 10 s.
 */
export function createOtlpSink(options: {
  endpoint: URL;
  protocol: OtlpProtocol;
  log: Logger;
  clock?: Clock;
}): TraceSink {
  const { protocol, clock = systemClock } = options;
  const log = options.log.child({ component: 'otlp-export' });
  routeDiagToPino(options.log);
  const exportUrl = tracesUrl(options.endpoint, protocol);
  const exporter = createExporter(exportUrl, protocol);
  const url = shown(exportUrl);
  let queued = 0;
  const counting: SpanExporter = {
    export(spans, done) {
      queued -= spans.length;
      exporter.export(spans, done);
    },
    shutdown: () => exporter.shutdown(),
  };
  const processor = new BatchSpanProcessor(counting, {
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMillis,
  });
  const resourceFor = createResourceCache();
  const dropped = { full: 0, invalid: 0, stopped: 0 };
  let lastDropWarn = -Infinity;
  let stopping: Promise<void> | undefined;

  function warnDropped(force = false): void {
    const total = dropped.full + dropped.invalid + dropped.stopped;
    if (total === 0 || (!force && clock.now() - lastDropWarn < dropWarnIntervalMs)) return;
    lastDropWarn = clock.now();
    log.warn({ dropped: { ...dropped }, maxQueueSize }, 'spans dropped, not exported');
    dropped.full = dropped.invalid = dropped.stopped = 0;
  }

  function exportOne(record: SpanRecord): void {
    if (stopping !== undefined) dropped.stopped++;
    else if (queued >= maxQueueSize) dropped.full++;
    else if (invalidIds(record) !== undefined) dropped.invalid++;
    else {
      processor.onEnd(toReadableSpan(record, resourceFor(record.resource)));
      queued++;
    }
  }

  log.info({ url, protocol }, 'exporting traces over OTLP');
  return {
    export(spans) {
      for (const record of spans) {
        try {
          exportOne(record);
        } catch (err) {
          dropped.invalid++;
          log.debug({ err, span: record.name }, 'span not exported');
        }
      }
      warnDropped();
    },
    shutdown() {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), shutdownTimeoutMs).unref();
        });
        const outcome = await Promise.race([
          processor.shutdown().then(
            () => 'done' as const,
            (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
          ),
          timedOut,
        ]);
        clearTimeout(timer);
        warnDropped(true);
        if (outcome === 'timeout') {
          log.warn({ url, timeoutMs: shutdownTimeoutMs }, 'traces not all exported before shutdown');
        } else if (outcome instanceof Error) {
          log.warn({ url, error: outcome.message }, 'traces not all exported at shutdown');
        }
      })();
      return stopping;
    },
  };
}
