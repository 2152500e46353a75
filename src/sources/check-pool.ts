import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Secrets } from '../secrets/secrets.js';
import { startWorker } from '../worker-thread.js';
import { BodyRing } from './body-ring.js';
import { SOURCE_CHECKS } from './checks.js';
import { type CheckHeaders, type Checked, runCheck } from './webhook-check.js';

/** Makes the stateless part of a webhook's work (read, authenticate, parse) somewhere. */
export interface WebhookChecker {
  check(source: 'gitlab' | 'github', headers: CheckHeaders, raw: Buffer): Promise<Checked>;
  /** Bodies checked so far on threads and on the main thread; threads that are up. */
  counts(): { readonly threads: number; readonly inline: number; readonly threadsUp: number };
  close(): Promise<void>;
}

/**
 * Messages between the pool and a check thread (check-worker.ts). Requests travel in batches
 * (an array per message) and their verdicts come back the same way: a message costs more than
 * a check.
 */
export interface CheckRequest {
  readonly id: number;
  readonly source: 'gitlab' | 'github';
  readonly headers: CheckHeaders;
  /** Where the body sits in the message's `bodies`. */
  readonly offset: number;
  readonly length: number;
}
/**
 * One message: its requests, and their bodies one after another, in the thread's shared ring
 * (`bodies` absent) or in a buffer of their own (`bodies`) when the ring has no room.
 */
export interface CheckBatch {
  readonly batch: number;
  readonly requests: readonly CheckRequest[];
  readonly bodies?: ArrayBuffer;
}
export type CheckReply =
  | {
      readonly type: 'checked';
      /** The batch answered: its ring region can be used again. */
      readonly batch: number;
      readonly results: ReadonlyArray<{ readonly id: number; readonly checked: Checked }>;
    }
  | { readonly type: 'ready' }
  | { readonly type: 'log'; readonly level: 'debug' | 'warn'; readonly obj: object; readonly msg: string };
export interface CheckWorkerData {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly dir: string | undefined;
  /** The thread's BodyRing memory. */
  readonly ring?: SharedArrayBuffer;
}

/** On the main thread: `WEBHOOK_THREADS=0`, and the fallback while no thread is up. */
export class InlineChecker implements WebhookChecker {
  readonly #secrets: Secrets;
  #checked = 0;

  constructor(secrets: Secrets) {
    this.#secrets = secrets;
  }

  check(source: 'gitlab' | 'github', headers: CheckHeaders, raw: Buffer): Promise<Checked> {
    this.#checked++;
    return runCheck(SOURCE_CHECKS[source], headers, raw, this.#secrets);
  }

  counts() {
    return { threads: 0, inline: this.#checked, threadsUp: 0 };
  }

  async close(): Promise<void> {}
}

/**
 * Requests per message, and messages a thread may have at once. Small batches, two at a time:
 * the main thread gets the first verdicts of a burst back while the thread parses the rest
 * (one batch of a whole burst left the main thread idle ~20% of a benchmark run, waiting).
 */
const MAX_BATCH = 8;
const MAX_BATCHES = 2;

/** A thread that died is replaced after this long (not at once: one that dies at start would spin). */
const RESTART_MS = 1_000;

/**
 * Shared memory per thread for the bodies of its batches in flight: two batches of eight
 * bodies of up to 64 KiB. A batch that does not fit (larger bodies) travels in a buffer of its
 * own, as every batch did before.
 */
const RING_BYTES = 1024 * 1024;

interface Pending {
  readonly id: number;
  readonly source: 'gitlab' | 'github';
  readonly headers: CheckHeaders;
  readonly raw: Buffer;
  readonly resolve: (checked: Checked) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly ring: BodyRing;
  /** Ring regions of the batches in flight, by batch number. */
  readonly regions: Map<number, object>;
  readonly pending: Map<number, Pending>;
  /** Requests not yet sent: they wait while the thread works on a batch. */
  queue: Pending[];
  /** Batches with the thread. */
  busy: number;
  up: boolean;
  /** It has said it is ready (its modules are loaded). */
  ready: boolean;
}

/**
 * Worker threads that read, authenticate and parse webhook bodies, so the main thread keeps
 * only HTTP and the exactly-once work on state. JSON.parse, the HMAC and the schemas are most
 * of a webhook's cost; they need no state, only the secrets, which each thread reads itself
 * (the environment and `SECRETS_DIR`, re-read on change like the main thread's).
 *
 * A request goes to the thread with the fewest in flight. If a thread dies, what it had in
 * flight is checked on the main thread instead (nothing is lost or answered twice) and a new
 * thread is started; while none is up, the main thread checks everything.
 */
export class ThreadChecker implements WebhookChecker {
  readonly #threads: Thread[] = [];
  readonly #inline: InlineChecker;
  readonly #data: CheckWorkerData;
  readonly #log: Logger;
  readonly #timers = new Set<NodeJS.Timeout>();
  #nextId = 0;
  #nextBatch = 0;
  #closed = false;
  #checkedByThreads = 0;

  constructor(deps: { threads: number; secrets: Secrets; log: Logger }) {
    const { env, dir } = deps.secrets.origin();
    this.#data = { env: { ...env }, dir };
    this.#inline = new InlineChecker(deps.secrets);
    this.#log = deps.log;
    for (let i = 0; i < deps.threads; i++) this.#start();
  }

  check(source: 'gitlab' | 'github', headers: CheckHeaders, raw: Buffer): Promise<Checked> {
    let thread: Thread | undefined;
    for (const t of this.#threads) {
      if (t.up && (thread === undefined || t.pending.size < thread.pending.size)) thread = t;
    }
    if (thread === undefined) return this.#inline.check(source, headers, raw);
    const id = this.#nextId++;
    const target = thread;
    return new Promise((resolve) => {
      const p: Pending = { id, source, headers, raw, resolve };
      target.pending.set(id, p);
      target.queue.push(p);
      if (target.busy < MAX_BATCHES) this.#send(target);
    });
  }

  /**
   * Sends up to MAX_BATCH queued requests as one message. A thread has at most MAX_BATCHES
   * messages at once; what arrives meanwhile waits for the next, so batches grow with the load
   * and a lone request goes at once. The bodies are copied (a body may be a view into a larger
   * buffer the socket still uses) into the thread's ring, or, when they do not fit there, into
   * one buffer the thread then owns.
   */
  #send(t: Thread): void {
    if (t.queue.length === 0) return;
    const sent = t.queue.splice(0, MAX_BATCH);
    const batch = this.#nextBatch++;
    const written = t.ring.write(sent.map((p) => p.raw));
    let offset = written?.start ?? 0;
    let bodies: ArrayBuffer | undefined;
    if (written === undefined) {
      let size = 0;
      for (const p of sent) size += p.raw.byteLength;
      // Not zero-filled (every byte is written below) and not from Buffer's pool: an
      // ArrayBuffer of its own, which can be transferred.
      const bytes = Buffer.allocUnsafeSlow(size);
      for (const p of sent) {
        bytes.set(p.raw, offset);
        offset += p.raw.byteLength;
      }
      bodies = bytes.buffer as ArrayBuffer;
      offset = 0;
    } else {
      t.regions.set(batch, written.region);
    }
    const requests = sent.map((p): CheckRequest => {
      const r = { id: p.id, source: p.source, headers: p.headers, offset, length: p.raw.byteLength };
      offset += p.raw.byteLength;
      return r;
    });
    t.busy++;
    if (bodies === undefined) t.worker.postMessage({ batch, requests } satisfies CheckBatch);
    else t.worker.postMessage({ batch, requests, bodies } satisfies CheckBatch, [bodies]);
  }

  counts() {
    return {
      threads: this.#checkedByThreads,
      inline: this.#inline.counts().inline,
      threadsUp: this.#threads.filter((t) => t.ready).length,
    };
  }

  /** The threads now up, for diagnostics and tests. */
  get workers(): readonly Worker[] {
    return this.#threads.map((t) => t.worker);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }

  #start(): void {
    const ring = new BodyRing(RING_BYTES);
    const data: CheckWorkerData = { ...this.#data, ring: ring.buffer };
    const worker = startWorker(import.meta.url, 'check-worker', data);
    worker.unref();
    const thread: Thread = {
      worker,
      ring,
      regions: new Map(),
      pending: new Map(),
      queue: [],
      busy: 0,
      up: true,
      ready: false,
    };
    this.#threads.push(thread);
    worker.on('message', (reply: CheckReply) => {
      if (reply.type === 'ready') {
        thread.ready = true;
        return;
      }
      if (reply.type === 'log') {
        this.#log[reply.level]({ ...reply.obj, thread: worker.threadId }, reply.msg);
        return;
      }
      const region = thread.regions.get(reply.batch);
      if (region !== undefined) {
        thread.regions.delete(reply.batch);
        thread.ring.release(region);
      }
      for (const { id, checked } of reply.results) {
        const p = thread.pending.get(id);
        if (p === undefined) continue;
        thread.pending.delete(id);
        this.#checkedByThreads++;
        p.resolve(checked);
      }
      thread.busy--;
      this.#send(thread);
    });
    worker.on('error', (err) => {
      this.#log.error({ err, thread: worker.threadId }, 'webhook check thread failed');
    });
    worker.on('exit', (code) => {
      thread.up = false;
      this.#threads.splice(this.#threads.indexOf(thread), 1);
      for (const p of thread.pending.values()) {
        this.#inline.check(p.source, p.headers, p.raw).then(p.resolve, (err: unknown) => {
          p.resolve({ kind: 'failed', message: String(err), stack: undefined });
        });
      }
      thread.pending.clear();
      thread.queue = [];
      if (this.#closed) return;
      this.#log.error(
        { code, thread: worker.threadId },
        'webhook check thread stopped; its requests were checked on the main thread; starting a new one',
      );
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (!this.#closed) this.#start();
      }, RESTART_MS);
      timer.unref();
      this.#timers.add(timer);
    });
  }
}

/** `WEBHOOK_THREADS` threads, or the main thread when it is 0. */
export function webhookChecker(deps: { threads: number; secrets: Secrets; log: Logger }): WebhookChecker {
  return deps.threads === 0 ? new InlineChecker(deps.secrets) : new ThreadChecker(deps);
}
