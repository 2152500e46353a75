/**
 * The store's checkpointer thread (see checkpointer.ts): its own connection to the database,
 * which copies the WAL into the database file every `everyMs`. The copy and its two fsyncs
 * run here, so the main thread, which answers webhooks, never waits for the disk.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { CheckpointerData, FromCheckpointer, ToCheckpointer } from './checkpointer.js';

const { file, everyMs, holdFrames, holdGapMs } = workerData as CheckpointerData;
const port = parentPort;
if (port === null) throw new Error('checkpoint-worker runs as a worker thread');

const db = new Database(file, { timeout: 1000 });
// The checkpoint syncs the WAL before copying and the database file after: a power cut can then
// lose the last commits, but never leaves a database that is half old and half new.
db.pragma('synchronous = NORMAL');

const post = (message: FromCheckpointer) => port.postMessage(message);
/** The hold asked for and not yet answered, if any. */
let asked: number | undefined;
let holds = 0;
let nextHoldAt = 0;

function pass(): { log: number; checkpointed: number; complete: boolean } | undefined {
  const started = performance.now();
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{
      busy: number;
      log: number;
      checkpointed: number;
    }>;
    const log = r?.log ?? 0;
    const checkpointed = r?.checkpointed ?? 0;
    post({ type: 'pass', log, checkpointed, ms: performance.now() - started });
    return { log, checkpointed, complete: r?.busy === 0 && checkpointed === log };
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
    return undefined;
  }
}

// Under steady traffic a commit always arrives while a pass copies, so the WAL never has
// everything copied when the next commit starts, which is when SQLite starts it over. Past
// `holdFrames`, the thread asks the main thread to hold its commits for one pass. Past the
// hard limit the main thread holds them itself and sends `full` (see Checkpointer.committed).
const timer = setInterval(() => {
  if (asked !== undefined) return;
  const r = pass();
  if (r === undefined || r.log < holdFrames || Date.now() < nextHoldAt) return;
  ask();
}, everyMs);

function ask(): void {
  asked = ++holds;
  post({ type: 'hold', id: asked });
}

port.on('message', (message: ToCheckpointer) => {
  if (message.type === 'close') {
    clearInterval(timer);
    db.close();
    port.close();
    return;
  }
  if (message.type === 'full') {
    // Commits are held already; with a hold asked and not yet answered, its pass will do.
    if (asked === undefined) ask();
    return;
  }
  if (message.id !== asked) return;
  asked = undefined;
  nextHoldAt = Date.now() + holdGapMs;
  if (message.type === 'held') {
    const r = pass();
    post({ type: 'release', id: message.id, complete: r?.complete ?? false });
  }
});
post({ type: 'ready' });
