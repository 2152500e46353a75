import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

/**
 * JSON logs. Secret-bearing headers are redacted in case a request object is ever logged;
 * the code itself never logs a secret value.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'delivery-metrics' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-private-token"]',
          'req.headers["x-gitlab-token"]',
          'req.headers["x-hub-signature-256"]',
          'req.headers["x-hub-signature"]',
          'headers.authorization',
          'headers["x-private-token"]',
          'headers["x-gitlab-token"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
