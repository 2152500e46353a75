import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Secrets } from '../secrets/secrets.js';
import { SOURCE_CHECKS } from './checks.js';
import { type CheckHeaders, type Checked, runCheck } from './webhook-check.js';

/** Makes the stateless part of a webhook's work (read, authenticate, parse) somewhere. */
export interface WebhookChecker {
  check(source: 'gitlab' | 'github', headers: CheckHeaders, raw: Buffer): Promise<Checked>;
  close(): Promise<void>;
}

/** Messages between the pool and a check thread (check-worker.ts). */
export interface CheckRequest {
  readonly id: number;
  readonly source: 'gitlab' | 'github';
  readonly headers: CheckHeaders;
  readonly body: ArrayBuffer;
}
export type CheckReply =
  | { readonly type: 'checked'; readonly id: number; readonly checked: Checked }
  | { readonly type: 'log'; readonly level: 'debug' | 'warn'; readonly obj: object; readonly msg: string };
export interface CheckWorkerData {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly dir: string | undefined;
}

/** On the main thread: `WEBHOOK_THREADS=0`, and the fallback while no thread is up. */
export class InlineChecker implements WebhookChecker {
  readonly #secrets: Secrets;

  constructor(secrets: Secrets) {
    this.#secrets = secrets;
  }

  check(source: 'gitlab' | 'github', headers: CheckHeaders, raw: Buffer): Promise<Checked> {
    return runCheck(SOURCE_CHECKS[source], headers, raw, this.#secrets);
  }

  async close(): Promise<void> {}
}

/** A thread that died is replaced after this long (not at once: one that dies at start would spin). */
const RESTART_MS = 1_000;

interface Pending {
  readonly source: 'gitlab' | 'github';
  readonly headers: CheckHeaders;
  readonly raw: Buffer;
  readonly resolve: (checked: Checked) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  up: boolean;
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
  #closed = false;

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
    // A copy the thread can own: `raw` may be a view into a larger buffer the socket still uses.
    const body = new ArrayBuffer(raw.byteLength);
    new Uint8Array(body).set(raw);
    const id = this.#nextId++;
    const target = thread;
    return new Promise((resolve) => {
      target.pending.set(id, { source, headers, raw, resolve });
      target.worker.postMessage({ id, source, headers, body } satisfies CheckRequest, [body]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }

  #start(): void {
    // Under tsx (tests) this module is TypeScript and so is the worker next to it.
    const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
    const worker = new Worker(new URL(`./check-worker.${ext}`, import.meta.url), {
      workerData: this.#data satisfies CheckWorkerData,
    });
    worker.unref();
    const thread: Thread = { worker, pending: new Map(), up: true };
    this.#threads.push(thread);
    worker.on('message', (reply: CheckReply) => {
      if (reply.type === 'log') {
        this.#log[reply.level]({ ...reply.obj, thread: worker.threadId }, reply.msg);
        return;
      }
      const p = thread.pending.get(reply.id);
      if (p === undefined) return;
      thread.pending.delete(reply.id);
      p.resolve(reply.checked);
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
