import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';

const OWNER_SCHEMA = `CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL);`;

/**
 * How often, at most, commits look at the files: two stats every 10 ms. (A change notice for
 * the directory would come for every WAL write too, and cost more than the stats.)
 */
const CHECK_EVERY_MS = 10;

interface FileId {
  readonly dev: number;
  readonly ino: number;
}

function fileId(path: string): FileId | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st === undefined ? undefined : { dev: st.dev, ino: st.ino };
}

function same(a: FileId | undefined, b: FileId | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

/**
 * Keeps DATA_DIR to one process and notices when its files are taken away while the service
 * runs.
 *
 * - **One owner.** An exclusive SQLite lock on `delivery-metrics.lock`: a second process would
 *   overwrite the first one's numbers. (The data file itself cannot hold that lock: the
 *   checkpointer thread needs its own connection to it.) If the lock file is removed, the lock
 *   is taken again on a new one; if another process got there first, writes stop.
 * - **The data file is still the one open.** SQLite keeps writing to a file that was deleted
 *   or replaced (`rm -rf DATA_DIR`, a restored backup moved over it): every answer would still
 *   be 2xx, and all of it would be gone at the next start. Once the path no longer names the
 *   open file, writes stop (503) and readiness fails, loudly.
 *
 * Commits ask at most every CHECK_EVERY_MS; readiness always asks.
 */
export class DataDirGuard {
  readonly #lockPath: string;
  readonly #log: Logger | undefined;
  #owner: Database.Database;
  #lock: FileId | undefined;
  #data: { path: string; id: FileId | undefined } | undefined;
  #problem: string | undefined;
  #next = 0;

  /** Takes the lock; throws (SQLITE_BUSY) while another process holds it. */
  constructor(dataDir: string, log: Logger | undefined) {
    this.#lockPath = join(dataDir, 'delivery-metrics.lock');
    this.#log = log;
    this.#owner = this.#takeLock();
    this.#lock = fileId(this.#lockPath);
  }

  /** The data file now open, whose path must keep naming it. */
  guard(path: string): void {
    this.#data = { path, id: fileId(path) };
  }

  /**
   * Why writes must stop, if they must: undefined while all is well. `now` forces a look
   * (readiness); otherwise a commit looks at most every CHECK_EVERY_MS.
   */
  problem(now = false): string | undefined {
    if (this.#problem !== undefined) return this.#problem;
    const at = performance.now();
    if (!now && at < this.#next) return undefined;
    this.#next = at + CHECK_EVERY_MS;
    const data = this.#data;
    if (data !== undefined && !same(fileId(data.path), data.id)) {
      return this.#fail(
        `the store's file ${data.path} was deleted or replaced while the service ran: what is written ` +
          'now would be lost at the next start; restore DATA_DIR and restart the service',
      );
    }
    if (!same(fileId(this.#lockPath), this.#lock)) this.#retakeLock();
    return this.#problem;
  }

  close(): void {
    this.#owner.close();
  }

  #takeLock(): Database.Database {
    const owner = new Database(this.#lockPath, { timeout: 100 });
    try {
      owner.pragma('locking_mode = EXCLUSIVE');
      owner.exec(OWNER_SCHEMA);
      owner.prepare('INSERT OR REPLACE INTO owner (id, pid) VALUES (1, ?)').run(process.pid);
      return owner;
    } catch (err) {
      owner.close();
      throw err;
    }
  }

  #retakeLock(): void {
    try {
      const owner = this.#takeLock();
      this.#owner.close();
      this.#owner = owner;
      this.#lock = fileId(this.#lockPath);
      this.#log?.warn({ path: this.#lockPath }, 'the lock file of DATA_DIR was removed; it is held again');
    } catch (err) {
      this.#fail(
        `the lock file ${this.#lockPath} was removed and another process holds it now: two processes ` +
          'would overwrite each other’s numbers; stop one of them',
        err,
      );
    }
  }

  #fail(problem: string, err?: unknown): string {
    this.#problem = problem;
    this.#log?.error({ err }, `store stopped: ${problem}`);
    return problem;
  }
}
