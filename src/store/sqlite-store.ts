import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { Checkpointer } from './checkpointer.js';
import { DataDirGuard } from './data-dir-guard.js';
import {
  type SeriesRecord,
  type SeriesValue,
  type StateWrite,
  type Store,
  StoreUnavailableError,
  type WriteBatch,
} from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS series (
  metric TEXT NOT NULL,
  labels TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (metric, labels)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
  key        TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

/**
 * Expired claims and state are removed a slice at a time: at most every PRUNE_EVERY_MS, the
 * commit also looks at the next PRUNE_SLICE keys of each table, in key order, and deletes the
 * expired ones among them; after the last key it starts again from the first. A delete of
 * every expired row at once scans the whole table: with a million claims and a million state
 * rows that held the main thread (and every answer) for 130-160 ms on this project's test
 * machine. A slice takes well under a millisecond, and sweeps 10,000 keys a second per table.
 */
const PRUNE_EVERY_MS = 200;
const PRUNE_SLICE = 2000;
/** SQLite's default: its automatic checkpoint, used while the checkpointer thread is not running. */
const AUTOCHECKPOINT_FRAMES = 1000;
/**
 * After a failed commit, changes are refused without trying for this long (see `unavailable`):
 * during an outage a write a second probes the store, instead of every request paying for a
 * failed commit and a reload of every series.
 */
const RETRY_AFTER_FAILURE_MS = 1000;
/** The state key readiness writes to find out whether the store takes writes again. */
const PROBE_KEY = 'health:probe';
/** After the WAL starts over, its file is cut back to this many bytes. */
const WAL_SIZE_LIMIT = 16 * 1024 * 1024;

/**
 * The embedded default store: SQLite in WAL mode in `DATA_DIR`. Writes that arrive in the same
 * event-loop turn are committed in one transaction (group commit) and every caller is answered
 * once that transaction is in the WAL. `synchronous=NORMAL` makes a committed transaction
 * survive the death of the process (`kill -9`); surviving a power cut as well would need FULL,
 * an fsync per commit.
 */
export class SqliteStore implements Store {
  readonly kind = 'embedded' as const;
  readonly #db: Database.Database;
  readonly #guard: DataDirGuard | undefined;
  readonly #checkpointer: Checkpointer;
  readonly #clock: Clock;
  readonly #stmt: {
    upsertSeries: Database.Statement;
    deleteSeries: Database.Statement;
    upsertState: Database.Statement;
    deleteState: Database.Statement;
    getState: Database.Statement;
    scanState: Database.Statement;
    upsertClaim: Database.Statement;
    getClaim: Database.Statement;
  };
  /**
   * Per pruned table (claims, state): the last key of the next slice, the deletes of a slice,
   * and the last key the previous slice looked at ('' to start at the first).
   */
  readonly #prune: Array<{
    sliceEnd: Database.Statement;
    deleteUpTo: Database.Statement;
    deleteRest: Database.Statement;
    from: string;
  }>;
  readonly #pruneSlice: number;
  readonly #pruneEveryMs: number;
  #series = new Map<string, SeriesRecord>();
  #state = new Map<string, StateWrite>();
  #claims = new Map<string, number>();
  #waiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  #scheduled = false;
  #closed = false;
  #lastError: Error | undefined;
  /** performance.now() of the last failed commit. */
  #failedAt = Number.NEGATIVE_INFINITY;
  #lastPrune = Number.NEGATIVE_INFINITY;
  #checkpointingStarted: () => void = () => {};
  readonly #checkpointing = new Promise<void>((resolve) => {
    this.#checkpointingStarted = resolve;
  });
  #endScheduled = false;
  /** The checkpointer asked that no write transaction start (see Checkpointer). */
  #holding = false;
  /** A commit came while holding. */
  #deferred = false;
  /** The WAL is all copied: the next write must not reuse an older read transaction. */
  #freshRead = false;

  constructor(
    dataDir: string,
    clock: Clock,
    options: {
      log?: Logger;
      /** Tests: keys looked at per prune slice, and the least time between slices. */
      prune?: { slice: number; everyMs: number };
    } = {},
  ) {
    this.#clock = clock;
    this.#pruneSlice = options.prune?.slice ?? PRUNE_SLICE;
    this.#pruneEveryMs = options.prune?.everyMs ?? PRUNE_EVERY_MS;
    const file = join(dataDir, 'delivery-metrics.sqlite');
    try {
      mkdirSync(dataDir, { recursive: true });
      // One process owns DATA_DIR, and its files must stay the ones open (data-dir-guard.ts).
      this.#guard = new DataDirGuard(dataDir, options.log);
      this.#db = new Database(file, { timeout: 100 });
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      // SQLite's own checkpoints, in a commit on this thread, until the checkpointer thread runs.
      this.#db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_FRAMES}`);
      this.#db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
      this.#db.exec(SCHEMA);
      this.#guard.guard(file);
    } catch (err) {
      this.#guard?.close();
      const code = (err as { code?: string }).code;
      const hint =
        code === 'SQLITE_BUSY'
          ? 'another delivery-metrics process is using it; give each process its own DATA_DIR'
          : code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT'
            ? 'delivery-metrics.sqlite is not a readable database (damaged or replaced); restore it from a backup or move it away to start empty'
            : code === 'SQLITE_FULL'
              ? 'the disk is full'
              : 'check that DATA_DIR points to a writable directory';
      throw new StoreUnavailableError(`cannot open the store in DATA_DIR '${dataDir}': ${hint}`, {
        cause: err,
      });
    }
    const db = this.#db;
    this.#stmt = {
      upsertSeries: db.prepare('INSERT OR REPLACE INTO series (metric, labels, value) VALUES (?, ?, ?)'),
      deleteSeries: db.prepare('DELETE FROM series WHERE metric = ? AND labels = ?'),
      upsertState: db.prepare('INSERT OR REPLACE INTO state (key, value, expires_at) VALUES (?, ?, ?)'),
      deleteState: db.prepare('DELETE FROM state WHERE key = ?'),
      getState: db.prepare(
        'SELECT value FROM state WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
      ),
      scanState: db.prepare(
        'SELECT key, value FROM state WHERE key >= ? AND key < ? AND (expires_at IS NULL OR expires_at > ?)',
      ),
      upsertClaim: db.prepare('INSERT OR REPLACE INTO claims (key, expires_at) VALUES (?, ?)'),
      getClaim: db.prepare('SELECT 1 FROM claims WHERE key = ? AND expires_at > ?'),
    };
    this.#prune = ['claims', 'state'].map((table) => ({
      sliceEnd: db.prepare(`SELECT key FROM ${table} WHERE key > ? ORDER BY key LIMIT 1 OFFSET ?`).pluck(),
      deleteUpTo: db.prepare(`DELETE FROM ${table} WHERE key > ? AND key <= ? AND expires_at <= ?`),
      deleteRest: db.prepare(`DELETE FROM ${table} WHERE key > ? AND expires_at <= ?`),
      from: '',
    }));
    this.#checkpointer = new Checkpointer(
      file,
      {
        // Once the thread runs, no commit here checkpoints; if it stops, SQLite's checkpoints resume.
        running: (running) => {
          if (!this.#closed) this.#db.pragma(`wal_autocheckpoint = ${running ? 0 : AUTOCHECKPOINT_FRAMES}`);
          if (running) this.#checkpointingStarted();
        },
        hold: () => {
          this.#holding = true;
        },
        release: (restart) => {
          this.#holding = false;
          if (restart) this.#freshRead = true;
          if (this.#deferred) {
            this.#deferred = false;
            this.#commit();
          }
        },
      },
      options.log,
    );
  }

  /** Resolves once the checkpointer thread runs (tests wait for it; the service need not). */
  whenCheckpointing(): Promise<void> {
    return this.#checkpointing;
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
    const gone = this.#guard?.problem(true);
    if (gone !== undefined) throw new StoreUnavailableError(gone);
    if (this.#lastError !== undefined) {
      // Only a write that gets through shows the store works again. Readiness must find out by
      // itself: while it fails, no traffic comes (a failed probe takes the pod out of service).
      const now = this.#clock.nowSeconds();
      try {
        await this.write({ state: [{ key: PROBE_KEY, value: now, expiresAt: now + 3600 }] });
      } catch (err) {
        throw new StoreUnavailableError('the last write to the store failed, and a new one fails too', {
          cause: err,
        });
      }
    }
    try {
      this.#db.prepare('SELECT 1').get();
    } catch (err) {
      throw new StoreUnavailableError('the store does not answer', { cause: err });
    }
  }

  unavailable(): StoreUnavailableError | undefined {
    if (this.#closed) return new StoreUnavailableError('the store is closed');
    const gone = this.#guard?.problem();
    if (gone !== undefined) return new StoreUnavailableError(gone);
    if (this.#lastError !== undefined && performance.now() - this.#failedAt < RETRY_AFTER_FAILURE_MS) {
      return new StoreUnavailableError('a write to the store failed a moment ago; trying again shortly');
    }
    return undefined;
  }

  async loadSeries(): Promise<SeriesRecord[]> {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
    const rows = this.#db.prepare('SELECT metric, labels, value FROM series').all() as Array<{
      metric: string;
      labels: string;
      value: string;
    }>;
    const records: SeriesRecord[] = [];
    for (const r of rows) {
      const value = decodeValue(r.value);
      // A value that is no longer a finite number (stored as null by an older version) is
      // dropped: the service starts, and Prometheus never sees `null`.
      if (value !== undefined)
        records.push({ metric: r.metric, labels: JSON.parse(r.labels) as Record<string, string>, value });
    }
    return records;
  }

  // Point reads are synchronous underneath; these are plain functions rather than `async` ones,
  // which cost an extra promise and a hop each (several per webhook).
  hasClaim(key: string): Promise<boolean> {
    try {
      return Promise.resolve(this.#hasClaim(key));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  getState(key: string): Promise<unknown> {
    try {
      return Promise.resolve(this.#getState(key));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  #hasClaim(key: string): boolean {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
    const pending = this.#claims.get(key);
    if (pending !== undefined) return pending > this.#clock.nowSeconds();
    this.#read();
    return this.#stmt.getClaim.get(key, this.#clock.nowSeconds()) !== undefined;
  }

  #getState(key: string): unknown {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
    const pending = this.#state.get(key);
    if (pending !== undefined) return pending.value === null ? undefined : pending.value;
    this.#read();
    const row = this.#stmt.getState.get(key, this.#clock.nowSeconds()) as { value: string } | undefined;
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  async scanState(prefix: string): Promise<Array<{ key: string; value: unknown }>> {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
    const rows = this.#stmt.scanState.all(prefix, `${prefix}\uffff`, this.#clock.nowSeconds()) as Array<{
      key: string;
      value: string;
    }>;
    const found = new Map(rows.map((r) => [r.key, JSON.parse(r.value) as unknown]));
    // Writes still in flight count too.
    for (const [key, w] of this.#state) {
      if (!key.startsWith(prefix)) continue;
      if (w.value === null) found.delete(key);
      else found.set(key, w.value);
    }
    return [...found].map(([key, value]) => ({ key, value }));
  }

  /**
   * Point reads of one event-loop turn share one read transaction, ended by the turn's commit
   * or right after the turn. Each read on its own would take and drop the database's shared
   * locks (four system calls); together they take them once.
   */
  #read(): void {
    if (this.#db.inTransaction) return;
    this.#db.exec('BEGIN');
    if (!this.#endScheduled) {
      this.#endScheduled = true;
      setImmediate(() => {
        this.#endScheduled = false;
        try {
          if (this.#db.open && this.#db.inTransaction) this.#db.exec('COMMIT');
        } catch {
          // Nothing was written in it; the next read or commit finds the connection as it is.
        }
      });
    }
  }

  write(batch: WriteBatch): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
    // Kept as given and encoded at commit: a series written by many deliveries of one turn is
    // encoded once. The family's key, when given, spares serialising labels to match writes.
    for (const s of batch.series ?? [])
      this.#series.set(s.key ?? `${s.metric}\u0000${JSON.stringify(s.labels)}`, s);
    for (const w of batch.state ?? []) this.#state.set(w.key, w);
    for (const c of batch.claims ?? []) this.#claims.set(c.key, c.expiresAt);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#commit());
      }
    });
  }

  async flush(): Promise<void> {
    if (this.#waiters.length === 0) return;
    await new Promise<void>((resolve) => {
      this.#waiters.push({ resolve, reject: () => resolve() });
    });
  }

  #commit(): void {
    this.#scheduled = false;
    if (this.#holding) {
      this.#deferred = true;
      return;
    }
    this.#deferred = false;
    // SQLite starts the WAL over in a write whose read began with all of the WAL copied.
    if (this.#freshRead && this.#db.inTransaction) this.#db.exec('COMMIT');
    this.#freshRead = false;
    const waiters = this.#waiters;
    const series = this.#series;
    const state = this.#state;
    const claims = this.#claims;
    this.#waiters = [];
    this.#series = new Map();
    this.#state = new Map();
    this.#claims = new Map();
    const now = this.#clock.nowSeconds();
    try {
      const gone = this.#guard?.problem();
      if (gone !== undefined) throw new StoreUnavailableError(gone);
      // Inside the turn's read transaction, if one is open: it becomes the write.
      if (!this.#db.inTransaction) this.#db.exec('BEGIN');
      for (const s of series.values()) {
        const labels = JSON.stringify(s.labels);
        if (s.value === null) this.#stmt.deleteSeries.run(s.metric, labels);
        else this.#stmt.upsertSeries.run(s.metric, labels, encodeValue(s.value));
      }
      for (const w of state.values()) {
        if (w.value === null) this.#stmt.deleteState.run(w.key);
        else this.#stmt.upsertState.run(w.key, JSON.stringify(w.value), w.expiresAt ?? null);
      }
      for (const [key, expiresAt] of claims) this.#stmt.upsertClaim.run(key, expiresAt);
      const at = performance.now();
      if (at - this.#lastPrune >= this.#pruneEveryMs) {
        this.#lastPrune = at;
        this.#pruneSliceOf(now);
      }
      this.#db.exec('COMMIT');
      this.#lastError = undefined;
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      this.#lastError = err as Error;
      this.#failedAt = performance.now();
      const failure =
        err instanceof StoreUnavailableError
          ? err
          : new StoreUnavailableError('the store could not save the change', { cause: err });
      for (const w of waiters) w.reject(failure);
      return;
    }
    this.#checkpointer.committed();
    for (const w of waiters) w.resolve();
  }

  /** Deletes the expired rows among the next slice of keys of each pruned table (see PRUNE_SLICE). */
  #pruneSliceOf(now: number): void {
    for (const table of this.#prune) {
      const end = table.sliceEnd.get(table.from, this.#pruneSlice - 1) as string | undefined;
      if (end === undefined) table.deleteRest.run(table.from, now);
      else table.deleteUpTo.run(table.from, end, now);
      table.from = end ?? '';
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#holding = false;
    if (this.#scheduled || this.#deferred) this.#commit();
    if (this.#db.inTransaction) this.#db.exec('COMMIT');
    this.#closed = true;
    await this.#checkpointer.close();
    // The last connection to close copies what is left of the WAL and removes it.
    this.#db.close();
    this.#guard?.close();
  }
}

function encodeValue(v: SeriesValue): string {
  return JSON.stringify(v.kind === 'number' ? v.value : { c: v.counts, s: v.sum, n: v.count });
}

function decodeValue(text: string): SeriesValue | undefined {
  const v = JSON.parse(text) as number | { c: number[]; s: number; n: number } | null;
  if (typeof v === 'number') return { kind: 'number', value: v };
  if (v === null || typeof v.s !== 'number' || typeof v.n !== 'number' || !Array.isArray(v.c))
    return undefined;
  return { kind: 'histogram', counts: v.c, sum: v.s, count: v.n };
}
