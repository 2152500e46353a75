import type { DeliveryEvent } from '../events/model.js';
import { HttpError } from '../http/http-error.js';
import type { Secrets } from '../secrets/secrets.js';
import { InvalidPayloadError } from './invalid-payload-error.js';

/**
 * A body refused as not authentic: the project it claims to come from (unauthenticated input,
 * for the log only) and whether a secret was sent at all. Never the secret.
 */
export interface Refused {
  readonly claimed: string;
  readonly secretSent: boolean;
}

/** What a source's parser makes of an authentic payload. */
export type SourceParsed = { kind: 'events'; events: DeliveryEvent[] } | { kind: 'ignored'; reason: string };

/** The request headers a source's check reads, by lower-case name ('' when absent). */
export type CheckHeaders = Readonly<Record<string, string>>;

/**
 * The verdict on one webhook body, before any state is touched: plain data, so it can be made
 * on a worker thread (see check-pool.ts) as well as on the main thread.
 */
export type Checked =
  /** The body cannot be read (not JSON, form without `payload`): 400. */
  | { readonly kind: 'unreadable'; readonly message: string }
  | ({ readonly kind: 'unauthorized' } & Refused)
  /** Authentic; `project` is what `delivery_webhook_last_received_timestamp_seconds` notes. */
  | { readonly kind: 'ignored'; readonly project: string; readonly reason: string }
  | { readonly kind: 'invalid'; readonly project: string; readonly error: string }
  | { readonly kind: 'events'; readonly project: string; readonly events: DeliveryEvent[] }
  /** A bug: answered 500 by the caller, which logs the message and stack. */
  | { readonly kind: 'failed'; readonly message: string; readonly stack: string | undefined };

/**
 * One source's work on a webhook body that needs no state: read it, authenticate it against
 * the secret of the project it names, parse it into source-neutral events. A pure function of
 * the headers, the raw bytes and the secrets.
 */
export interface SourceCheck<T = unknown> {
  readonly source: 'gitlab' | 'github';
  /** The lower-case header names `decode`, `authenticate` and `parse` read. */
  readonly headers: readonly string[];
  /** Reads the raw body into the source's envelope: 400 (HttpError) when unreadable. */
  decode(headers: CheckHeaders, raw: Buffer): T;
  /** Authenticates; returns the project path to note as last received ('' for none), or why not. */
  authenticate(
    headers: CheckHeaders,
    raw: Buffer,
    decoded: T,
    secrets: Secrets,
  ): string | Refused | Promise<string | Refused>;
  /** Source-neutral events, or why the delivery is not used; InvalidPayloadError for JSON that does not fit. */
  parse(headers: CheckHeaders, decoded: T): SourceParsed;
}

/** A webhook body as JSON, or 400 naming the problem (SPEC section 4). */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `body is not JSON: ${(err as Error).message}`);
  }
}

/** SPEC section 4 order for one body: readable (400), then authentic (401), then parsed. */
export async function runCheck<T>(
  check: SourceCheck<T>,
  headers: CheckHeaders,
  raw: Buffer,
  secrets: Secrets,
): Promise<Checked> {
  try {
    let decoded: T;
    try {
      decoded = check.decode(headers, raw);
    } catch (err) {
      if (err instanceof HttpError) return { kind: 'unreadable', message: err.message };
      throw err;
    }
    const project = await check.authenticate(headers, raw, decoded, secrets);
    if (typeof project !== 'string') return { kind: 'unauthorized', ...project };
    try {
      const parsed = check.parse(headers, decoded);
      return parsed.kind === 'ignored'
        ? { kind: 'ignored', project, reason: parsed.reason }
        : { kind: 'events', project, events: parsed.events };
    } catch (err) {
      if (err instanceof InvalidPayloadError) return { kind: 'invalid', project, error: err.message };
      throw err;
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return { kind: 'failed', message: e.message, stack: e.stack };
  }
}
