import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { OtlpProtocol } from './otlp-export.js';
import type { TraceSink } from './span-record.js';
import { createWorkerSink } from './worker-sink.js';

/**
 * The trace sink the settings ask for: none without OTEL_EXPORTER_OTLP_ENDPOINT (no span is
 * even built then); `http/protobuf`, the OpenTelemetry default, without a protocol. `log` is the
 * service's logger: the export thread's lines carry their own component.
 */
export function traceSinkOf(config: Config, log: Logger): TraceSink | undefined {
  const { endpoint, protocol, headers } = config.otel;
  if (endpoint === undefined) return undefined;
  const chosen = (protocol ?? 'http/protobuf') as OtlpProtocol;
  return createWorkerSink({ endpoint, protocol: chosen, log, ...(headers === undefined ? {} : { headers }) });
}
