/**
 * The store's writer thread (see writer.ts): its own connection to the database, on which it
 * commits what the main thread hands it. Writes that arrive together are committed in one
 * transaction, and answered together once that transaction is in the WAL.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { applyRows, prepareWrites, type Rows } from './sqlite-writes.js';
import type { FromWriter, ToWriter, WriteMessage, WriterData } from './writer.js';

const { file, autocheckpoint, walSizeLimit } = workerData as WriterData;
const port = parentPort;
if (port === null) throw new Error('writer-worker runs as a worker thread');

const db = new Database(file, { timeout: 1000 });
db.pragma('synchronous = NORMAL');
db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
db.pragma(`journal_size_limit = ${walSizeLimit}`);
const statements = prepareWrites(db);

const post = (message: FromWriter) => port.postMessage(message);
let queue: WriteMessage[] = [];
let scheduled = false;
let closing = false;
/** A commit failed: writes are refused until the main thread says `resume` (see writer.ts). */
let refusing = false;

function commit(): void {
  scheduled = false;
  const writes = queue;
  queue = [];
  const last = writes.at(-1);
  if (last === undefined) return;
  // A write that failed on the main thread fails here in its turn, with every one after it.
  const failedAt = writes.findIndex((w) => w.rows === null);
  const good = failedAt === -1 ? writes : writes.slice(0, failedAt);
  const first = good[0];
  const through = good.at(-1);
  if (first !== undefined && through !== undefined) {
    try {
      db.exec('BEGIN');
      for (const w of good) applyRows(statements, JSON.parse(w.rows ?? '') as Rows);
      db.exec('COMMIT');
      post({ type: 'done', from: first.n, through: through.n });
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      refusing = true;
      const { message, code } = err as { message?: unknown; code?: unknown };
      post({
        type: 'failed',
        from: first.n,
        through: last.n,
        message: typeof message === 'string' ? message : String(err),
        ...(typeof code === 'string' ? { code } : {}),
      });
      return;
    }
  }
  const failed = writes[failedAt];
  if (failed === undefined) return;
  refusing = true;
  post({ type: 'failed', from: failed.n, through: last.n, message: failed.error ?? 'failed' });
}

port.on('message', (message: ToWriter) => {
  if (message.type === 'write') {
    if (refusing) {
      post({ type: 'failed', from: message.n, through: message.n, message: 'an earlier write failed' });
      return;
    }
    queue.push(message);
    // Every message already waiting is delivered before this runs: they share one commit.
    if (!scheduled) {
      scheduled = true;
      setImmediate(commit);
    }
  } else if (message.type === 'resume') {
    refusing = false;
  } else if (message.type === 'autocheckpoint') {
    db.pragma(`wal_autocheckpoint = ${message.frames}`);
  } else if (message.type === 'close' && !closing) {
    closing = true;
    // After the writes already received.
    setImmediate(() => {
      commit();
      db.close();
      port.close();
    });
  }
});
post({ type: 'ready' });
