/**
 * Shared machinery of the fake GitLab and GitHub REST APIs: a real HTTP server on 127.0.0.1 with a
 * random port, a router, a request log, a sliding-window per-second rate limit, an hourly request
 * budget, token auth, and fault injection (errors, hanging requests, malformed bodies, downtime).
 */
import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** '500': a 500 JSON error; 'timeout': never answered (socket stays open until close()/setDown(true));
 * 'malformed': 200 with a JSON content type and the body `{"truncated": `; '401': the fake's 401;
 * '403': 403 `{"message":"403 Forbidden"}` (a token without the right, as for GitLab's admin-only
 * `/runners/all`); 'empty': 200 `{}`; 'reset': the connection is destroyed without an answer;
 * '429': the per-second refusal with `Retry-After: 1`; 'ratelimit': the hourly budget refusal
 * (GitLab 429, GitHub 403) whose rate-limit headers say 0 remaining until the next second but one;
 * '502', '503': a proxy's HTML error page; 'cut': the real answer's headers (with its
 * Content-Length), half its body, then the connection is destroyed. */
export type FaultKind =
  | '500'
  | 'timeout'
  | 'malformed'
  | '401'
  | '403'
  | 'empty'
  | 'reset'
  | '429'
  | 'ratelimit'
  | '502'
  | '503'
  | 'cut';

export interface LoggedRequest {
  readonly method: string;
  /** Path as requested (still percent-encoded, prefix included), without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Arrival time, ms since the epoch (from the `now` option). */
  readonly at: number;
  /** Status answered; 0 while unanswered and for requests that were never answered ('timeout'). */
  readonly status: number;
  /** The request's headers. */
  readonly headers: IncomingHttpHeaders;
  /** The injected fault that answered this request, if any. */
  readonly fault: FaultKind | null;
}

export type RequestPredicate = (r: LoggedRequest) => boolean;
export type RequestFilter =
  RequestPredicate | { method?: string; path?: string | RegExp; status?: number; fault?: FaultKind | null };

export interface RandomFaults {
  /** Probability (0..1) that a request is answered with a fault. */
  rate: number;
  /** Kinds to pick from uniformly; default ['500']. */
  kinds?: readonly FaultKind[];
  /** PRNG seed; default 1. The same seed and request sequence give the same faults. */
  seed?: number;
  /** Only requests matching this are eligible. */
  match?: RequestFilter;
}

export interface RateLimitState {
  limit: number;
  remaining: number;
  used: number;
  /** Unix seconds when the hourly window ends. */
  reset: number;
}

export interface Reply {
  status: number;
  /** Serialized as JSON unless `raw` is given. */
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

export interface RouteContext {
  readonly method: string;
  /** Full requested path, percent-encoded. */
  readonly path: string;
  /** Decoded path parameters. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Absolute URL of the request built on the fake's base URL (for Link headers). */
  readonly url: URL;
}

export type Handler = (ctx: RouteContext) => Reply;

/** What differs between GitLab and GitHub in the shared machinery. */
export interface Dialect {
  /** Path prefix every route lives under, e.g. '/api/v4'. */
  readonly prefix: string;
  /** Answer ETag / If-None-Match (304s do not use the budget), as GitHub does. */
  readonly etags: boolean;
  isAuthorized(ctx: RouteContext, token: string): boolean;
  unauthorized(ctx: RouteContext | null): Reply;
  notFound(): Reply;
  serverError(): Reply;
  /** Per-second limit exceeded; the server adds `Retry-After: 1`. */
  tooManyRequests(): Reply;
  /** Hourly budget used up. */
  budgetExceeded(state: RateLimitState, nowMs: number): Reply;
  rateLimitHeaders(state: RateLimitState): Record<string, string>;
}

export interface FakeServerOptions {
  /** Required token; undefined = no auth. */
  token?: string | undefined;
  /** More requests than this within the last 1000 ms get 429 + `Retry-After: 1`. */
  limitPerSecond?: number | undefined;
  /** Requests per hour before 403 (GitHub) / 429 (GitLab); default 5000. */
  hourlyBudget?: number | undefined;
  /** Clock for the log, the limits and the budget; default Date.now. */
  now?: (() => number) | undefined;
}

/** Thrown by handlers to answer with an error. */
export class HttpError extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Record<string, string>;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** Small deterministic PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type TimeInput = string | number | Date;

/** Milliseconds since the epoch of a timestamp; throws on an invalid one. */
export function toMs(t: TimeInput): number {
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new Error(`invalid timestamp: ${String(t)}`);
  return ms;
}

export function optionalMs(t: TimeInput | null | undefined): number | null {
  return t === null || t === undefined ? null : toMs(t);
}

/** GitLab style: `2026-11-20T10:00:00.000Z`. */
export function isoMillis(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** GitHub style: `2026-11-20T10:00:00Z`. */
export function isoSeconds(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Stable small positive integer from a string (FNV-1a). */
export function stableId(s: string, modulo = 1_000_000): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % modulo) + 1;
}

/** A fake 40-hex commit sha derived from a number or string. */
export function fakeSha(seed: number | string): string {
  return createHash('sha1').update(String(seed)).digest('hex');
}

interface MutableLogged {
  method: string;
  path: string;
  query: URLSearchParams;
  at: number;
  status: number;
  headers: IncomingHttpHeaders;
  fault: FaultKind | null;
}

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

interface QueuedFault {
  remaining: number;
  kind: FaultKind;
  match: RequestFilter | undefined;
}

function toPredicate(filter: RequestFilter | undefined): RequestPredicate {
  if (filter === undefined) return () => true;
  if (typeof filter === 'function') return filter;
  return (r) =>
    (filter.method === undefined || r.method === filter.method.toUpperCase()) &&
    (filter.path === undefined ||
      (typeof filter.path === 'string' ? r.path === filter.path : filter.path.test(r.path))) &&
    (filter.status === undefined || r.status === filter.status) &&
    (filter.fault === undefined || r.fault === filter.fault);
}

function snapshot(r: MutableLogged): LoggedRequest {
  return { ...r, query: new URLSearchParams(r.query), headers: { ...r.headers } };
}

const HOUR_MS = 3_600_000;

/**
 * A routed HTTP server on 127.0.0.1:0. FakeGitlab and FakeGithub extend it; it can also be used
 * on its own with any Dialect.
 */
export class FakeHttpServer {
  readonly #dialect: Dialect;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #routes: Route[] = [];
  readonly #log: MutableLogged[] = [];
  #arrivals: number[] = [];
  #faults: QueuedFault[] = [];
  #random: { rate: number; kinds: readonly FaultKind[]; next: () => number; match: RequestPredicate } | null =
    null;
  #port = 0;
  #down = false;
  #closed = false;
  #budgetUsed = 0;
  #budgetWindowStart: number | null = null;
  readonly #now: () => number;

  token: string | undefined;
  limitPerSecond: number | undefined;
  hourlyBudget: number;

  constructor(dialect: Dialect, options: FakeServerOptions = {}) {
    this.#dialect = dialect;
    this.token = options.token;
    this.limitPerSecond = options.limitPerSecond;
    this.hourlyBudget = options.hourlyBudget ?? 5000;
    this.#now = options.now ?? Date.now;
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts listening on 127.0.0.1 with a random port. */
  /** Called after each answer: a test changes the data between two requests of one read. */
  afterReply: ((request: LoggedRequest) => void) | undefined;

  async listen(): Promise<this> {
    await this.#listenOn(0);
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    this.#port = address.port;
    return this;
  }

  get port(): number {
    return this.#port;
  }

  /** Origin, e.g. `http://127.0.0.1:39211` (no prefix). */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Origin plus the API prefix, e.g. `http://127.0.0.1:39211/api/v4`. */
  get apiUrl(): string {
    return `${this.url}${this.#dialect.prefix}`;
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Stops listening and destroys every open socket, so hanging requests end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#down) {
      for (const s of this.#sockets) s.destroy();
      return;
    }
    await this.#stopListening();
  }

  /** Down: the listening socket is closed (connection refused) and open sockets destroyed. Up: listens
   * on the same port again. */
  async setDown(down: boolean): Promise<void> {
    if (this.#closed || down === this.#down) return;
    this.#down = down;
    if (down) await this.#stopListening();
    else await this.#listenOn(this.#port);
  }

  // ---- request log ----

  requests(filter?: RequestFilter): LoggedRequest[] {
    const keep = toPredicate(filter);
    return this.#log.map(snapshot).filter(keep);
  }

  requestCount(filter?: RequestFilter): number {
    return this.requests(filter).length;
  }

  resetLog(): void {
    this.#log.length = 0;
  }

  /** The largest number of (matching) logged requests whose `at` lies in some window [t, t + 1000 ms). */
  maxPerSecond(filter?: RequestFilter): number {
    const times = this.requests(filter)
      .map((r) => r.at)
      .sort((a, b) => a - b);
    let best = 0;
    let j = 0;
    for (let i = 0; i < times.length; i++) {
      const start = times[i]!;
      if (j < i) j = i;
      while (j < times.length && times[j]! < start + 1000) j++;
      best = Math.max(best, j - i);
    }
    return best;
  }

  // ---- faults ----

  /** The next n (matching) requests are answered with `kind`. Calls queue up in order. */
  failNext(n: number, kind: FaultKind, match?: RequestFilter): void {
    if (n > 0) this.#faults.push({ remaining: n, kind, match });
  }

  /** Fails a seeded-random share of requests; null turns it off. */
  failRandomly(options: RandomFaults | null): void {
    if (options === null) {
      this.#random = null;
      return;
    }
    const kinds = options.kinds ?? ['500'];
    if (kinds.length === 0) throw new Error('failRandomly needs at least one kind');
    this.#random = {
      rate: options.rate,
      kinds,
      next: mulberry32(options.seed ?? 1),
      match: toPredicate(options.match),
    };
  }

  /** Drops queued failNext() faults and turns failRandomly() off. */
  clearFaults(): void {
    this.#faults = [];
    this.#random = null;
  }

  // ---- hourly budget ----

  /** Current hourly budget state (the window starts at the first request after the previous ended). */
  rateLimitState(): RateLimitState {
    return this.#budgetState(this.#now());
  }

  /** Pretends `used` requests were already made in the current hourly window. */
  setBudgetUsed(used: number): void {
    this.#rollBudget(this.#now());
    this.#budgetUsed = used;
  }

  /** Starts a fresh hourly window. */
  resetBudget(): void {
    this.#budgetWindowStart = null;
    this.#budgetUsed = 0;
  }

  // ---- routing ----

  /** Registers a handler; pattern segments starting with ':' are parameters (one path segment). */
  protected route(method: string, pattern: string, handler: Handler): void {
    this.#routes.push({ method, segments: pattern.split('/').filter((s) => s !== ''), handler });
  }

  #match(method: string, routePath: string): { route: Route; params: Record<string, string> } | null {
    const segments = routePath.split('/').filter((s) => s !== '');
    for (const route of this.#routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const want = route.segments[i]!;
        const got = segments[i]!;
        if (want.startsWith(':')) {
          try {
            params[want.slice(1)] = decodeURIComponent(got);
          } catch {
            ok = false;
          }
        } else ok = want === got;
      }
      if (ok) return { route, params };
    }
    return null;
  }

  #rollBudget(at: number): void {
    if (this.#budgetWindowStart === null || at >= this.#budgetWindowStart + HOUR_MS) {
      this.#budgetWindowStart = at;
      this.#budgetUsed = 0;
    }
  }

  #budgetState(at: number): RateLimitState {
    this.#rollBudget(at);
    const start = this.#budgetWindowStart ?? at;
    return {
      limit: this.hourlyBudget,
      used: this.#budgetUsed,
      remaining: Math.max(0, this.hourlyBudget - this.#budgetUsed),
      reset: Math.ceil((start + HOUR_MS) / 1000),
    };
  }

  #takeFault(record: LoggedRequest): FaultKind | null {
    for (let i = 0; i < this.#faults.length; i++) {
      const f = this.#faults[i]!;
      if (!toPredicate(f.match)(record)) continue;
      f.remaining--;
      if (f.remaining <= 0) this.#faults.splice(i, 1);
      return f.kind;
    }
    const random = this.#random;
    if (random?.match(record)) {
      if (random.next() < random.rate) {
        const index = Math.min(random.kinds.length - 1, Math.floor(random.next() * random.kinds.length));
        return random.kinds[index]!;
      }
    }
    return null;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const at = this.#now();
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1));
    const method = (req.method ?? 'GET').toUpperCase();
    const record: MutableLogged = {
      method,
      path,
      query,
      at,
      status: 0,
      headers: { ...req.headers },
      fault: null,
    };
    this.#log.push(record);
    req.resume();

    const url = new URL(this.url);
    url.pathname = path;
    url.search = query.toString();
    const ctx: RouteContext = {
      method,
      path,
      params: {},
      query: new URLSearchParams(query),
      headers: req.headers,
      url,
    };

    const send = (reply: Reply, countsAgainstBudget = false): void => {
      let status = reply.status;
      let body =
        reply.raw !== undefined ? reply.raw : reply.body === undefined ? '' : JSON.stringify(reply.body);
      const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE, ...reply.headers };
      if (this.#dialect.etags && status === 200 && reply.raw === undefined) {
        const etag = `W/"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
        headers.etag = etag;
        const inm = req.headers['if-none-match'];
        if (inm?.split(',').some((t) => t.trim() === etag)) {
          status = 304;
          body = '';
          delete headers['content-type'];
          countsAgainstBudget = false;
        }
      }
      if (countsAgainstBudget) this.#budgetUsed++;
      const rate = this.#dialect.rateLimitHeaders(this.#budgetState(at));
      record.status = status;
      if (res.destroyed) return;
      if (record.fault === 'cut' && body.length > 1) {
        const bytes = Buffer.from(body);
        res.writeHead(status, { ...rate, ...headers, 'content-length': String(bytes.length) });
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => req.socket.destroy());
        return;
      }
      res.writeHead(status, { ...rate, ...headers });
      res.end(body);
      this.afterReply?.(record);
    };

    try {
      // 1. sliding-window per-second limit (every arrival counts, rejected ones included)
      this.#arrivals.push(at);
      let drop = 0;
      while (drop < this.#arrivals.length && this.#arrivals[drop]! <= at - 1000) drop++;
      if (drop > 0) this.#arrivals = this.#arrivals.slice(drop);
      if (this.limitPerSecond !== undefined && this.#arrivals.length > this.limitPerSecond) {
        const reply = this.#dialect.tooManyRequests();
        send({ ...reply, headers: { ...reply.headers, 'retry-after': '1' } });
        return;
      }

      // 2. injected faults
      const fault = this.#takeFault(snapshot(record));
      if (fault !== null) {
        record.fault = fault;
        switch (fault) {
          case 'timeout':
            return; // never answered; the socket is destroyed by close() or setDown(true)
          case '500':
            send(this.#dialect.serverError());
            return;
          case '401':
            send(this.#dialect.unauthorized(null));
            return;
          case 'malformed':
            send({ status: 200, raw: '{"truncated": ', headers: { 'content-type': JSON_CONTENT_TYPE } });
            return;
          case '403':
            send({ status: 403, body: { message: '403 Forbidden' } });
            return;
          case 'empty':
            send({ status: 200, body: {} });
            return;
          case 'reset':
            req.socket.destroy();
            return;
          case '429': {
            const reply = this.#dialect.tooManyRequests();
            send({ ...reply, headers: { ...reply.headers, 'retry-after': '1' } });
            return;
          }
          case 'ratelimit': {
            const state = { ...this.#budgetState(at), remaining: 0, reset: Math.ceil(at / 1000) + 1 };
            state.used = state.limit;
            const reply = this.#dialect.budgetExceeded(state, at);
            send({ ...reply, headers: { ...this.#dialect.rateLimitHeaders(state), ...reply.headers } });
            return;
          }
          case '502':
          case '503':
            send({
              status: Number(fault),
              raw: `<html><head><title>${fault}</title></head><body><h1>${fault === '502' ? 'Bad Gateway' : 'Service Unavailable'}</h1><hr><center>nginx</center></body></html>\n`,
              headers: { 'content-type': 'text/html' },
            });
            return;
          case 'cut':
            break; // answered as usual, then cut short in send()
        }
      }

      // 3. auth
      if (this.token !== undefined && !this.#dialect.isAuthorized(ctx, this.token)) {
        send(this.#dialect.unauthorized(ctx));
        return;
      }

      // 4. hourly budget
      const state = this.#budgetState(at);
      if (state.remaining <= 0) {
        send(this.#dialect.budgetExceeded(state, at));
        return;
      }

      // 5. routing
      const prefix = this.#dialect.prefix;
      const inPrefix = prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
      const found = inPrefix ? this.#match(method, path.slice(prefix.length)) : null;
      if (found === null) {
        send(this.#dialect.notFound(), true);
        return;
      }
      let reply: Reply;
      try {
        reply = found.route.handler({ ...ctx, params: found.params });
      } catch (err) {
        if (!(err instanceof HttpError)) throw err;
        reply = { status: err.status, body: err.body, headers: err.headers };
      }
      send(reply, true);
    } catch (err) {
      console.error('fake API handler failed:', err);
      send(this.#dialect.serverError());
    }
  }

  #listenOn(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
  }

  #stopListening(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }
}

// ---- helpers shared by the fakes ----

/** All values of a list parameter given as `key`, `key[]`, or comma-free repeated values. */
export function listParam(query: URLSearchParams, key: string): string[] {
  return [...query.getAll(key), ...query.getAll(`${key}[]`)];
}

/** A query value that is present and not empty. */
export function param(query: URLSearchParams, key: string): string | undefined {
  const v = query.get(key);
  return v === null || v === '' ? undefined : v;
}

export function compareNumbers(a: number | null, b: number | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a - b;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
