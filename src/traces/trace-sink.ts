import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createOtlpSink, type OtlpProtocol } from './otlp-export.js';
import type { TraceSink } from './span-record.js';

/**
 * The trace sink the settings ask for: none without OTEL_EXPORTER_OTLP_ENDPOINT (no span is
 * even built then); `http/protobuf`, the OpenTelemetry default, without a protocol.
 */
export function traceSinkOf(config: Config, log: Logger): TraceSink | undefined {
  const { endpoint, protocol } = config.otel;
  if (endpoint === undefined) return undefined;
  const chosen = (protocol ?? 'http/protobuf') as OtlpProtocol;
  log.info({ protocol: chosen }, 'exporting pipeline traces over OTLP');
  return createOtlpSink({ endpoint, protocol: chosen, log });
}
