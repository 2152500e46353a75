import { DiagLogLevel, diag } from '@opentelemetry/api';
import type { Logger } from 'pino';

let target: Logger | undefined;

/** Objects are not spelled out: one could be exporter options holding headers. */
function describe(arg: unknown): string {
  if (arg instanceof Error) return arg.message;
  return typeof arg === 'object' && arg !== null ? `[${arg.constructor?.name ?? 'object'}]` : String(arg);
}

/** The core's error handler logs an error as JSON with its stack: keep its message. */
function readable(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const parsed = JSON.parse(message) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : message;
  } catch {
    return message;
  }
}

/**
 * Sends OpenTelemetry's own warnings and errors (failed exports, bad config) to pino at warn
 * level. Without it they go nowhere: `diag` is silent until a logger is set. `diag` is global,
 * so its logger is set once per process; the latest logger given here receives the lines.
 * Only messages and error messages are logged, never request options, so tokens from
 * OTEL_EXPORTER_OTLP_HEADERS stay out of the log.
 */
export function routeDiagToPino(log: Logger): void {
  const first = target === undefined;
  target = log.child({ component: 'opentelemetry' });
  if (!first) return;
  const warn = (message: string, ...args: unknown[]): void => {
    if (args.length === 0) target?.warn(readable(message));
    else target?.warn({ details: args.map(describe) }, readable(message));
  };
  const ignore = (): void => {};
  diag.setLogger(
    { error: warn, warn, info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
