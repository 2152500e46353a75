import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { createOtlpSink, type OtlpProtocol } from './otlp-export.js';
import type { SpanRecord } from './span-record.js';

/**
 * The OTLP export thread (see worker-sink.ts): turns span records into the SDK's spans,
 * batches, serializes and sends them, off the thread that answers webhooks. Its log lines go to
 * the main thread, which writes them to the service's log.
 */
interface ExportWorkerData {
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  readonly level: string;
  readonly headers: string | undefined;
}

export type FromMain = { readonly spans: SpanRecord[] } | { readonly shutdown: true };
export type ToMain = { readonly log: string } | { readonly stopped: true };

const port = parentPort;
if (port === null) throw new Error('export-worker.ts runs as a worker thread');
const data = workerData as ExportWorkerData;
const log = pino(
  { level: data.level, base: null, timestamp: false },
  {
    write(line: string) {
      port.postMessage({ log: line } satisfies ToMain);
    },
  },
);
// The exporters read OTEL_EXPORTER_OTLP_HEADERS themselves, from this thread's copy of the
// environment: the value the settings found, in the environment or in a SECRETS_DIR file.
if (data.headers !== undefined) process.env.OTEL_EXPORTER_OTLP_HEADERS = data.headers;
const sink = createOtlpSink({ endpoint: new URL(data.endpoint), protocol: data.protocol, log });
port.on('message', (message: FromMain) => {
  if ('spans' in message) {
    sink.export(message.spans);
    return;
  }
  void sink.shutdown().then(() => port.postMessage({ stopped: true } satisfies ToMain));
});
