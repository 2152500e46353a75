import type { Logger } from 'pino';
import { startWorker } from '../worker-thread.js';
import type { FromMain, ToMain } from './export-worker.js';
import type { OtlpProtocol } from './otlp-export.js';
import type { SpanRecord, TraceSink } from './span-record.js';

/** Spans waiting for the export thread at most; more are dropped and counted. */
const MAX_PENDING = 20_000;
/** Spans are posted to the export thread at most this often. */
const POST_EVERY_MS = 50;
/** How long stop waits for the thread to send what it holds (its own limit is 5 s). */
const SHUTDOWN_MS = 7_000;

/**
 * A TraceSink whose OTLP export runs on a thread of its own (export-worker.ts). Building the
 * SDK's spans, serializing them and sending them cost the main thread about a third of its
 * webhook throughput when done there (docs/performance.md); here it only gathers the records of
 * 50 ms and posts them at once.
 */
export function createWorkerSink(options: {
  endpoint: URL;
  protocol: OtlpProtocol;
  log: Logger;
  /** OTEL_EXPORTER_OTLP_HEADERS as the settings give it (it may come from a SECRETS_DIR file). */
  headers?: string;
}): TraceSink {
  const { log } = options;
  const worker = startWorker(import.meta.url, 'export-worker', {
    endpoint: options.endpoint.href,
    protocol: options.protocol,
    level: log.level,
    headers: options.headers,
  });
  // Never what keeps the process alive: stop sends what is left, then ends it.
  worker.unref();
  let pending: SpanRecord[] = [];
  let scheduled = false;
  let failed = false;
  let stopping: Promise<void> | undefined;
  let dropped = 0;
  let stopped: () => void = () => {};
  const stoppedNow = new Promise<void>((resolve) => (stopped = resolve));

  worker.on('message', (message: ToMain) => {
    if ('log' in message) forward(log, message.log);
    else stopped();
  });
  worker.on('error', (err) => {
    failed = true;
    stopped();
    log.warn(
      { component: 'otlp-export', err: err.message },
      'the trace export thread failed: no more spans are exported',
    );
  });

  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0 || failed) return;
    worker.postMessage({ spans: pending } satisfies FromMain);
    pending = [];
  };

  return {
    export(spans) {
      if (stopping !== undefined || failed) return;
      for (const span of spans) {
        if (pending.length < MAX_PENDING) pending.push(span);
        else dropped++;
      }
      if (!scheduled) {
        scheduled = true;
        // Gathered for a while: each message to the thread has a cost of its own.
        setTimeout(flush, POST_EVERY_MS).unref();
      }
    },
    shutdown() {
      stopping ??= (async () => {
        flush();
        if (dropped > 0)
          log.warn({ component: 'otlp-export', dropped }, 'spans dropped before the export thread took them');
        if (!failed) {
          worker.postMessage({ shutdown: true } satisfies FromMain);
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([stoppedNow, new Promise((r) => (timer = setTimeout(r, SHUTDOWN_MS)))]);
          clearTimeout(timer);
        }
        await worker.terminate();
      })();
      return stopping;
    },
  };
}

/** A log line of the export thread, written by the service's logger at its level. */
function forward(log: Logger, line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const { level, msg, ...fields } = entry;
  const label = log.levels.labels[Number(level)] ?? 'warn';
  const write = (log as unknown as Record<string, (o: object, m?: string) => void>)[label];
  write?.call(log, fields, typeof msg === 'string' ? msg : undefined);
}
