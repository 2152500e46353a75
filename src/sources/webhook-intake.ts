import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DeliveryOutcome, EventProcessor } from '../events/processor.js';
import typeis from 'type-is';
import { type Answer, errorAnswer } from '../http/answer.js';
import { type FastRoute, header } from '../http/fast-routes.js';
import { HttpError } from '../http/http-error.js';
import { readRawBody } from '../http/read-raw-body.js';
import type { LastReceived } from '../metrics/last-received.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { WebhookChecker } from './check-pool.js';
import { refusalLog } from './refusal-log.js';
import type { SourceCheck } from './webhook-check.js';

/** Delivery ids are UUIDs; anything implausibly long is not used as a dedupe key. */
const MAX_KEY_LENGTH = 256;

/** The processor's delivery key for a source's delivery-id header, if it is usable. */
export function deliveryKey(source: 'gitlab' | 'github', header: string): string | undefined {
  return header !== '' && header.length <= MAX_KEY_LENGTH ? `${source}:${header}` : undefined;
}

export type WebhookOutcome = DeliveryOutcome | 'ignored' | 'invalid' | 'unauthorized' | 'rejected';

/** What a source's route adds to its check (webhook-check.ts): labels and the delivery key. */
export interface WebhookRoute {
  readonly check: SourceCheck;
  /** The bounded `event` label of the request (from its headers). */
  event(req: IncomingMessage): string;
  /** The header that names a delivery (its dedupe key): GitLab `Idempotency-Key`, GitHub `X-GitHub-Delivery`. */
  readonly deliveryHeader: string;
}

/** Answers of content-type headers seen, so type-is parses each distinct header once. */
const MAX_CACHED = 64;

/**
 * `contentTypeFits(req)`: true when the request's content type is one of `types`, or it has no
 * body at all (type-is decides; its verdict on each distinct header value is kept).
 */
function contentTypeCheck(types: readonly string[]): (req: IncomingMessage) => boolean {
  const seen = new Map<string, boolean>();
  return (req) => {
    if (!typeis.hasBody(req)) return true;
    const value = req.headers['content-type'] ?? '';
    let fits = seen.get(value);
    if (fits === undefined) {
      fits = typeis.is(value, types as string[]) !== false;
      if (seen.size < MAX_CACHED) seen.set(value, fits);
    }
    return fits;
  };
}

/**
 * SPEC section 4 for every source: content type, size, parse, authenticate first, then the
 * source's own work. Every answer is counted once in `delivery_webhook_requests_total`. The
 * route answers every request itself (errors included), so it can be served with or without
 * Koa (see `withFastRoutes`).
 */
export function webhookIntake(
  steps: WebhookRoute,
  deps: {
    checker: WebhookChecker;
    processor: EventProcessor;
    metrics: ServiceMetrics;
    lastReceived: LastReceived;
    clock: Clock;
    log: Logger;
    contentTypes: readonly string[];
  },
): FastRoute {
  const { check } = steps;
  const { source } = check;
  const contentTypeFits = contentTypeCheck(deps.contentTypes);
  const processing = deps.metrics.webhookProcessing.labels({ source });
  // The buffers are shared by every source: their keys name the source too.
  const count = (event: string, outcome: WebhookOutcome) =>
    deps.metrics.webhookRequests.inc(`${source}\u0000${event}\u0000${outcome}`, () => ({
      source,
      event,
      outcome,
    }));
  // In memory only: saved in the background, not by this request (see last-received.ts).
  const noteReceived = (project: string) => deps.lastReceived.note(source, project, deps.clock.now() / 1000);
  const noteRefused = refusalLog(deps.log, source);
  return async (req: IncomingMessage): Promise<Answer> => {
    const started = process.hrtime.bigint();
    const event = steps.event(req);
    // Anything that ends before an outcome is set (415, 413, 400, 503, 500) is `rejected`.
    let outcome: WebhookOutcome = 'rejected';
    try {
      if (!contentTypeFits(req)) {
        throw new HttpError(415, `content type must be ${deps.contentTypes.join(' or ')}`);
      }
      // GitLab and GitHub send bodies as they are; a compressed one would be checked and parsed
      // as bytes it is not (RFC 9110: 415 for a content coding the server does not take).
      const coding = req.headers['content-encoding'];
      if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
        throw new HttpError(
          415,
          `content encoding '${coding.slice(0, 40)}' is not accepted: send the body uncompressed`,
        );
      }
      const raw = await readRawBody(req);
      const headers: Record<string, string> = {};
      for (const name of check.headers) headers[name] = header(req, name);
      const checked = await deps.checker.check(source, headers, raw);
      switch (checked.kind) {
        case 'unreadable':
          throw new HttpError(400, checked.message);
        case 'unauthorized':
          outcome = 'unauthorized';
          noteRefused(event, checked);
          throw new HttpError(
            401,
            'the webhook secret is missing or is not the secret of the project this event names',
          );
        case 'failed':
          throw Object.assign(new Error(checked.message), { stack: checked.stack });
      }
      if (checked.project !== '') noteReceived(checked.project);
      if (checked.kind === 'invalid') {
        // Never 4xx for authentic JSON: GitLab disables hooks that keep answering 4xx.
        outcome = 'invalid';
        deps.log.warn(
          { source, event, project: checked.project, error: checked.error },
          'webhook payload does not fit the schema',
        );
        return { status: 202, body: { outcome, error: checked.error } };
      }
      outcome =
        checked.kind === 'ignored'
          ? 'ignored'
          : await deps.processor.process({
              key: deliveryKey(source, header(req, steps.deliveryHeader)),
              events: checked.events,
            });
      return { status: 200, body: { outcome } };
    } catch (err) {
      if (!req.complete) req.resume();
      return errorAnswer(err, deps.log, { method: 'POST', path: `/webhooks/${source}` });
    } finally {
      count(event, outcome);
      processing.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}
