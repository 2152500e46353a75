import { statSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startWorker } from '../worker-thread.js';

export interface CheckpointerData {
  readonly file: string;
  readonly everyMs: number;
  readonly holdFrames: number;
  readonly holdGapMs: number;
}

export type FromCheckpointer =
  | { type: 'ready' }
  | { type: 'pass'; log: number; checkpointed: number; ms: number }
  | { type: 'error'; message: string }
  | { type: 'hold'; id: number }
  | { type: 'release'; id: number; complete: boolean };

export type ToCheckpointer =
  { type: 'close' } | { type: 'held'; id: number } | { type: 'cancel'; id: number } | { type: 'full' };

/** What the checkpointer needs of the connection that commits (SqliteStore). */
export interface CheckpointerHost {
  /** The thread runs passes (true), or has stopped and the host must checkpoint itself (false). */
  running(running: boolean): void;
  /** Start no write transaction until `release`. Called between two commits. */
  hold(): void;
  /** Commits may go on. `restart`: the WAL is all copied, so the next commit starts it over. */
  release(restart: boolean): void;
}

/** SQLite's page size (the default) and the header of each WAL frame. */
const FRAME_BYTES = 4096 + 24;

/** How often the thread copies the WAL into the database file. */
const EVERY_MS = 100;
/**
 * WAL frames (4 KiB pages) past which the thread asks for a hold: 16 MiB. Under steady traffic
 * a commit always lands while a pass copies, so SQLite, which starts the WAL over only when a
 * commit finds all of it copied, never would.
 */
const HOLD_FRAMES = 4096;
/**
 * Past this WAL file size (64 MiB of frames), commits come faster than the disk takes them:
 * they are held until the WAL starts over, however long that takes. Answers slow down instead
 * of the WAL growing without end, as they did when SQLite checkpointed in the commit. The main
 * thread checks it after each commit: a pass on a slow disk takes seconds, in which commits
 * that nothing holds can add hundreds of megabytes.
 */
const HARD_BYTES = 16_384 * FRAME_BYTES;
/** At most one hold per this long, below HARD_BYTES. */
const HOLD_GAP_MS = 500;
/** Below HARD_BYTES commits are not held longer than this: a slow disk costs a bigger WAL. */
const HOLD_MAX_MS = 50;
/** Past HARD_BYTES, the longest hold: if the thread is stuck, commits go on. */
const HARD_HOLD_MAX_MS = 5000;
/**
 * The WAL file's size is looked at after a commit at most this often: a stat per commit cost
 * ~1% of the main thread under webhook load. Commits back to back add at most a few MB in it.
 */
const STAT_EVERY_MS = 10;
/** A thread that died is started again after this long. */
const RESTART_MS = 1000;
/** While passes keep failing, a line is logged at most this often. */
const FAILING_LOG_MS = 60_000;
/** A pass slower than this is logged: the disk is struggling. */
const SLOW_PASS_MS = 1000;

/**
 * Runs the store's WAL checkpoints on a thread of their own (checkpoint-worker.ts). A
 * checkpoint copies the WAL into the database file and fsyncs both; done by SQLite's
 * automatic checkpoint, in a commit on the main thread, it stalled every answer for 20 to
 * 800 ms every few thousand webhooks on this project's test machine.
 */
export class Checkpointer {
  readonly #data: CheckpointerData;
  readonly #wal: string;
  readonly #host: CheckpointerHost;
  readonly #log: Logger | undefined;
  #worker: Worker | undefined;
  #restart: NodeJS.Timeout | undefined;
  #closed = false;
  #running = false;
  /** The hold in place; its id is undefined while the thread has not yet answered `full`. */
  #hold: { id: number | undefined; timer: NodeJS.Timeout } | undefined;
  #nextStat = 0;
  /** Passes are failing: since how many, and when that was last logged. */
  #failing: { count: number; loggedAt: number } | undefined;

  constructor(file: string, host: CheckpointerHost, log: Logger | undefined) {
    this.#data = {
      file,
      everyMs: EVERY_MS,
      holdFrames: HOLD_FRAMES,
      holdGapMs: HOLD_GAP_MS,
    };
    this.#wal = `${file}-wal`;
    this.#host = host;
    this.#log = log;
    this.#start();
  }

  #start(): void {
    const worker = startWorker(import.meta.url, 'checkpoint-worker', this.#data);
    this.#worker = worker;
    worker.on('message', (m: FromCheckpointer) => this.#receive(worker, m));
    worker.on('error', (err) => this.#log?.error({ err }, 'checkpointer thread failed'));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    worker.on('exit', () => {
      this.#endHold(false);
      if (this.#running) {
        this.#running = false;
        if (!this.#closed) this.#host.running(false);
      }
      if (this.#closed || this.#worker !== worker) return;
      this.#worker = undefined;
      this.#log?.warn('checkpointer thread stopped; starting it again');
      this.#restart = setTimeout(() => {
        this.#restart = undefined;
        if (!this.#closed) this.#start();
      }, RESTART_MS);
      this.#restart.unref();
    });
  }

  #receive(worker: Worker, m: FromCheckpointer): void {
    if (m.type === 'ready') {
      this.#running = true;
      this.#host.running(true);
    } else if (m.type === 'pass') {
      if (m.ms > SLOW_PASS_MS)
        this.#log?.warn({ ms: Math.round(m.ms), frames: m.log }, 'slow WAL checkpoint');
      if (this.#failing !== undefined) {
        this.#log?.info({ failedPasses: this.#failing.count }, 'WAL checkpoints work again');
        this.#failing = undefined;
      }
    } else if (m.type === 'error') {
      // A pass runs every 100 ms: a lasting fault (a read-only disk) is logged when it starts
      // and once a minute while it lasts, not 600 times a minute.
      const now = performance.now();
      if (this.#failing === undefined) {
        this.#failing = { count: 1, loggedAt: now };
        this.#log?.warn({ err: m.message }, 'WAL checkpoint failed; retrying every 100 ms');
      } else {
        this.#failing.count++;
        if (now - this.#failing.loggedAt >= FAILING_LOG_MS) {
          this.#failing.loggedAt = now;
          this.#log?.warn(
            { err: m.message, failedPasses: this.#failing.count },
            'WAL checkpoints still fail; retrying every 100 ms',
          );
        }
      }
    } else if (m.type === 'hold') {
      if (this.#closed) return;
      if (this.#hold === undefined) {
        this.#host.hold();
        const timer = setTimeout(() => {
          worker.postMessage({ type: 'cancel', id: m.id } satisfies ToCheckpointer);
          this.#endHold(false);
        }, HOLD_MAX_MS);
        this.#hold = { id: m.id, timer };
      } else if (this.#hold.id === undefined) {
        // The thread's answer to `full`, or a hold it asked for before `full` reached it.
        this.#hold.id = m.id;
      } else {
        // Not expected: a hold is in place already. Answered, so the thread asks again later.
        worker.postMessage({ type: 'cancel', id: m.id } satisfies ToCheckpointer);
        return;
      }
      worker.postMessage({ type: 'held', id: m.id } satisfies ToCheckpointer);
    } else if (m.type === 'release' && this.#hold?.id === m.id) {
      this.#endHold(m.complete);
    }
  }

  /**
   * Called after each commit: past HARD_BYTES (looked at every STAT_EVERY_MS), commits are held
   * from now on, and the thread is asked for a pass under that hold as soon as it is free.
   */
  committed(): void {
    const worker = this.#worker;
    if (!this.#running || this.#hold !== undefined || worker === undefined) return;
    const now = performance.now();
    if (now < this.#nextStat) return;
    this.#nextStat = now + STAT_EVERY_MS;
    const size = statSync(this.#wal, { throwIfNoEntry: false })?.size ?? 0;
    if (size < HARD_BYTES) return;
    this.#host.hold();
    // No id to cancel: a `hold` that comes after this ends is taken as a new one.
    const timer = setTimeout(() => this.#endHold(false), HARD_HOLD_MAX_MS);
    this.#hold = { id: undefined, timer };
    worker.postMessage({ type: 'full' } satisfies ToCheckpointer);
  }

  #endHold(restart: boolean): void {
    if (this.#hold === undefined) return;
    clearTimeout(this.#hold.timer);
    this.#hold = undefined;
    this.#host.release(restart);
  }

  /** Stops the thread and closes its connection; the host's connection can then close. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#endHold(false);
    if (this.#restart !== undefined) clearTimeout(this.#restart);
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToCheckpointer);
    const timeout = setTimeout(() => void worker.terminate(), 2000);
    await exited;
    clearTimeout(timeout);
  }
}
