import type { Logger } from 'pino';
import type { Refused } from './webhook-check.js';

/** How often a source's 401s are logged at most: anyone can send them. */
export const REFUSAL_LOG_MS = 10_000;

/**
 * Logs webhook 401s as a warning: the first at once, then at most one line per REFUSAL_LOG_MS
 * with how many came meanwhile. A hook whose secret no longer matches (a rotation half done)
 * shows in the log at the default level, not only in `delivery_webhook_requests_total`, and no
 * sender can fill the log. The claimed project is the unauthenticated body's, cut to 200
 * characters; the secret is never logged.
 */
export function refusalLog(
  log: Logger,
  source: string,
  now: () => number = () => performance.now(),
): (event: string, refused: Refused) => void {
  let loggedAt = Number.NEGATIVE_INFINITY;
  let since = 0;
  return (event, refused) => {
    const at = now();
    if (at - loggedAt < REFUSAL_LOG_MS) {
      since++;
      return;
    }
    log.warn(
      {
        source,
        event,
        claimedProject: refused.claimed.slice(0, 200),
        secret: refused.secretSent ? 'wrong' : 'missing',
        ...(since > 0 ? { refusedSinceLastLine: since } : {}),
      },
      'webhook refused (401): its secret is not the one of the project it names',
    );
    loggedAt = at;
    since = 0;
  };
}
