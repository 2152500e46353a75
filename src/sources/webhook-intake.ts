import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { DeliveryEvent } from '../events/model.js';
import type { DeliveryOutcome, EventProcessor } from '../events/processor.js';
import typeis from 'type-is';
import { type Answer, errorAnswer } from '../http/answer.js';
import { type FastRoute, header } from '../http/fast-routes.js';
import { HttpError } from '../http/http-error.js';
import { readRawBody } from '../http/read-raw-body.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import { InvalidPayloadError } from './invalid-payload-error.js';

/** Delivery ids are UUIDs; anything implausibly long is not used as a dedupe key. */
const MAX_KEY_LENGTH = 256;

/** The processor's delivery key for a source's delivery-id header, if it is usable. */
export function deliveryKey(source: 'gitlab' | 'github', header: string): string | undefined {
  return header !== '' && header.length <= MAX_KEY_LENGTH ? `${source}:${header}` : undefined;
}

/** A webhook body as JSON, or 400 naming the problem (SPEC section 4). */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
  }
}

export type WebhookOutcome = DeliveryOutcome | 'ignored' | 'invalid' | 'unauthorized' | 'rejected';

/** What a source does with one request, after the shared checks. */
export interface WebhookSteps<T> {
  readonly source: 'gitlab' | 'github';
  /** The bounded `event` label of the request (from its headers). */
  event(req: IncomingMessage): string;
  /** Reads the raw body into the source's envelope: 400 (HttpError) when unreadable. */
  decode(req: IncomingMessage, raw: Buffer): T;
  /** Authenticates; returns the project path to note as last received, or false. */
  authenticate(req: IncomingMessage, raw: Buffer, decoded: T): string | false | Promise<string | false>;
  /** Source-neutral events, or why the delivery is not used; InvalidPayloadError for JSON that does not fit. */
  parse(req: IncomingMessage, decoded: T): SourceParsed;
  /** The header that names a delivery (its dedupe key): GitLab `Idempotency-Key`, GitHub `X-GitHub-Delivery`. */
  readonly deliveryHeader: string;
}

/** What a source's parser makes of an authentic payload. */
export type SourceParsed = { kind: 'events'; events: DeliveryEvent[] } | { kind: 'ignored'; reason: string };

/** True when the request's content type is one of `types`, or it has no body at all. */
function contentTypeFits(req: IncomingMessage, types: readonly string[]): boolean {
  return typeis(req, types as string[]) !== false;
}

/**
 * SPEC section 4 for every source: content type, size, parse, authenticate first, then the
 * source's own work. Every answer is counted once in `delivery_webhook_requests_total`. The
 * route answers every request itself (errors included), so it can be served with or without
 * Koa (see `withFastRoutes`).
 */
export function webhookIntake<T>(
  steps: WebhookSteps<T>,
  deps: {
    processor: EventProcessor;
    metrics: ServiceMetrics;
    clock: Clock;
    log: Logger;
    contentTypes: readonly string[];
  },
): FastRoute {
  const processing = deps.metrics.webhookProcessing.labels({ source: steps.source });
  // prom-client hashes a label object on every call; the children of these bounded label sets
  // (event and outcome are closed sets) are looked up once.
  const counted = new Map<string, { inc(): void }>();
  const count = (event: string, outcome: WebhookOutcome) => {
    const key = `${event}\u0000${outcome}`;
    let child = counted.get(key);
    if (child === undefined) {
      child = deps.metrics.webhookRequests.labels({ source: steps.source, event, outcome });
      counted.set(key, child);
    }
    child.inc();
  };
  return async (req: IncomingMessage): Promise<Answer> => {
    const started = process.hrtime.bigint();
    const event = steps.event(req);
    // Anything that ends before an outcome is set (415, 413, 400, 503, 500) is `rejected`.
    let outcome: WebhookOutcome = 'rejected';
    try {
      if (!contentTypeFits(req, deps.contentTypes)) {
        throw new HttpError(415, `content type must be ${deps.contentTypes.join(' or ')}`);
      }
      const raw = await readRawBody(req);
      const decoded = steps.decode(req, raw);
      const project = await steps.authenticate(req, raw, decoded);
      if (project === false) {
        outcome = 'unauthorized';
        throw new HttpError(
          401,
          'the webhook secret is missing or is not the secret of the project this event names',
        );
      }
      deps.metrics.webhookLastReceived.set({ source: steps.source, project }, deps.clock.now() / 1000);
      try {
        const parsed = steps.parse(req, decoded);
        outcome =
          parsed.kind === 'ignored'
            ? 'ignored'
            : await deps.processor.process({
                key: deliveryKey(steps.source, header(req, steps.deliveryHeader)),
                events: parsed.events,
              });
        return { status: 200, body: { outcome } };
      } catch (err) {
        if (!(err instanceof InvalidPayloadError)) throw err;
        // Never 4xx for authentic JSON: GitLab disables hooks that keep answering 4xx.
        outcome = 'invalid';
        deps.log.warn(
          { source: steps.source, event, error: err.message },
          'webhook payload does not fit the schema',
        );
        return { status: 202, body: { outcome, error: err.message } };
      }
    } catch (err) {
      if (!req.complete) req.resume();
      return errorAnswer(err, deps.log, { method: 'POST', path: `/webhooks/${steps.source}` });
    } finally {
      count(event, outcome);
      processing.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}
