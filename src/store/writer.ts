import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startWorker } from '../worker-thread.js';
import type { Rows } from './sqlite-writes.js';

export interface WriterData {
  readonly file: string;
  readonly autocheckpoint: number;
  readonly walSizeLimit: number;
}

/**
 * One commit's rows, numbered in the order they are sent. They travel as one JSON text: a
 * single string is copied between threads several times faster than arrays of small ones.
 */
export interface WriteMessage {
  readonly type: 'write';
  readonly n: number;
  /** `Rows` as JSON; null: this commit failed before it was sent, and fails there in its turn. */
  readonly rows: string | null;
  /** Why, when `rows` is null. */
  readonly error?: string;
}

export type ToWriter =
  | WriteMessage
  | { readonly type: 'autocheckpoint'; readonly frames: number }
  /** After a failed commit the thread refuses every write until this: those sent were failed. */
  | { readonly type: 'resume' }
  | { readonly type: 'close' };

/** Writes `from` to `through` (in the order sent) were committed together, or failed together. */
export type FromWriter =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly from: number; readonly through: number }
  | {
      readonly type: 'failed';
      readonly from: number;
      readonly through: number;
      readonly message: string;
      readonly code?: string;
    };

/** What the writer tells the store (SqliteStore). */
export interface WriterHost {
  /** Writes up to `through` are in the WAL. */
  done(through: number): void;
  /** Writes up to `through` were not saved. */
  failed(through: number, err: Error): void;
  /** The thread stopped: writes sent and not yet answered may or may not be saved. */
  lost(): void;
}

/** A thread that died is started again after this long. */
const RESTART_MS = 1000;

/**
 * Runs the store's commits on a thread of their own (writer-worker.ts). A commit's SQLite work
 * (the B-tree inserts and the WAL writes) was about a sixth of the main thread's time under
 * webhook load; here it runs beside the main thread, which only encodes the rows and hands them
 * over. Until the thread is up, and while it is being started again after it stopped, the store
 * commits on the main thread as before.
 */
export class StoreWriter {
  #data: WriterData;
  readonly #host: WriterHost;
  readonly #log: Logger | undefined;
  #worker: Worker | undefined;
  #up = false;
  #restart: NodeJS.Timeout | undefined;
  #closed = false;
  /** Callers of `whenUp` waiting for the thread. */
  #waiting: Array<() => void> = [];
  /** Writes sent and not yet answered: the thread is kept referenced while there are some. */
  #inFlight = 0;

  constructor(data: WriterData, host: WriterHost, log: Logger | undefined) {
    this.#data = data;
    this.#host = host;
    this.#log = log;
    this.#start();
  }

  /** The thread takes writes. */
  get up(): boolean {
    return this.#up;
  }

  /** Resolves once the thread takes writes (tests wait for it; the service need not). */
  whenUp(): Promise<void> {
    if (this.#up) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Only while `up`. */
  send(n: number, rows: Rows): void {
    if (this.#inFlight++ === 0) this.#worker?.ref();
    this.#worker?.postMessage({ type: 'write', n, rows: JSON.stringify(rows) } satisfies ToWriter);
  }

  /**
   * Commit `n` failed on the main thread: the thread answers it failed in its turn, after the
   * commits sent before it, and refuses those sent after it until `resume`.
   */
  fail(n: number, error: string): void {
    if (this.#inFlight++ === 0) this.#worker?.ref();
    this.#worker?.postMessage({ type: 'write', n, rows: null, error } satisfies ToWriter);
  }

  /**
   * After a failure: the thread refuses the writes it was sent until now (the store failed
   * them, as they were decided on the failed one), and takes those sent from now on.
   */
  resume(): void {
    this.#worker?.postMessage({ type: 'resume' } satisfies ToWriter);
  }

  /** SQLite's automatic checkpoint on the thread's connection (0 while the checkpointer runs). */
  autocheckpoint(frames: number): void {
    this.#data = { ...this.#data, autocheckpoint: frames };
    this.#worker?.postMessage({ type: 'autocheckpoint', frames } satisfies ToWriter);
  }

  #start(): void {
    const worker = startWorker(import.meta.url, 'writer-worker', this.#data);
    this.#worker = worker;
    worker.on('message', (m: FromWriter) => this.#receive(m));
    worker.on('error', (err) => this.#log?.error({ err }, 'store writer thread failed'));
    // After the listeners: adding a 'message' listener refs the worker again. It is referenced
    // while writes are in flight, so a program that awaits one does not exit under it.
    worker.unref();
    worker.on('exit', () => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#up = false;
      const lost = this.#inFlight > 0;
      this.#inFlight = 0;
      if (lost) this.#host.lost();
      if (this.#closed) return;
      this.#log?.warn('store writer thread stopped; committing on the main thread until it is started again');
      this.#restart = setTimeout(() => {
        this.#restart = undefined;
        if (!this.#closed) this.#start();
      }, RESTART_MS);
      this.#restart.unref();
    });
  }

  #receive(m: FromWriter): void {
    if (m.type === 'ready') {
      if (this.#closed) return;
      this.#up = true;
      for (const resolve of this.#waiting.splice(0)) resolve();
      return;
    }
    this.#inFlight -= m.through - m.from + 1;
    if (this.#inFlight <= 0) {
      this.#inFlight = 0;
      this.#worker?.unref();
    }
    if (m.type === 'done') this.#host.done(m.through);
    else
      this.#host.failed(
        m.through,
        Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code }),
      );
  }

  /** Stops the thread at once, as a crash would (tests). */
  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }

  /** Stops the thread once it has committed what it was sent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#up = false;
    if (this.#restart !== undefined) clearTimeout(this.#restart);
    const worker = this.#worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToWriter);
    const timeout = setTimeout(() => void worker.terminate(), 5000);
    await exited;
    clearTimeout(timeout);
  }
}
