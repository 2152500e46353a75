import { DiagLogLevel, diag } from '@opentelemetry/api';
import type { Logger } from 'pino';

let target: Logger | undefined;

/** At most one OpenTelemetry warning line per this many ms. */
export const DIAG_LOG_MS = 10_000;
let interval = DIAG_LOG_MS;
let loggedAt = Number.NEGATIVE_INFINITY;
let since = 0;

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
export function routeDiagToPino(log: Logger, intervalMs = DIAG_LOG_MS): void {
  const first = target === undefined;
  target = log.child({ component: 'opentelemetry' });
  // A collector down for an hour fails an export every second or so: one line per interval,
  // with how many were left out, says as much. A new logger starts a new interval.
  loggedAt = Number.NEGATIVE_INFINITY;
  since = 0;
  interval = intervalMs;
  if (!first) return;
  const warn = (message: string, ...args: unknown[]): void => {
    const at = performance.now();
    if (at - loggedAt < interval) {
      since++;
      return;
    }
    const fields = {
      ...(args.length === 0 ? {} : { details: args.map(describe) }),
      ...(since > 0 ? { suppressedSinceLastLine: since } : {}),
    };
    target?.warn(fields, readable(message));
    loggedAt = at;
    since = 0;
  };
  const ignore = (): void => {};
  diag.setLogger(
    { error: warn, warn, info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
