import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { Checkpointer } from './checkpointer.js';
import { DataDirGuard } from './data-dir-guard.js';
import { applyRows, PRUNED, prepareWrites, type Rows, type WriteStatements } from './sqlite-writes.js';
import {
  type SeriesRecord,
  type SeriesValue,
  type StateWrite,
  type Store,
  StoreUnavailableError,
  type WriteBatch,
} from './store.js';
import { StoreWriter } from './writer.js';

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
  readonly #writer: StoreWriter;
  readonly #stmt: {
    getState: Database.Statement;
    scanState: Database.Statement;
    getClaim: Database.Statement;
  };
  /** Commits on this thread: before the writer thread is up, and while it is started again. */
  readonly #writes: WriteStatements;
  /** Per pruned table (PRUNED): the last key of the next slice, and where the previous one ended. */
  readonly #prune: Array<{ sliceEnd: Database.Statement; from: string }>;
  readonly #pruneSlice: number;
  readonly #pruneEveryMs: number;
  /** Writes of this turn, not yet handed to a commit. */
  #series = new Map<string, SeriesRecord>();
  #state = new Map<string, StateWrite>();
  #claims = new Map<string, number>();
  #waiters: Waiter[] = [];
  /**
   * Commits handed to the writer thread and not yet answered, oldest first. Reads look at their
   * state and claims before the database: until the answer, this thread's reads may not see them.
   */
  #inFlight: Commit[] = [];
  #sent = 0;
  #scheduled = false;
  #closed = false;
  #lastError: Error | undefined;
  #lastPrune = Number.NEGATIVE_INFINITY;
  #checkpointingStarted: () => void = () => {};
  readonly #checkpointing = new Promise<void>((resolve) => {
    this.#checkpointingStarted = resolve;
  });
  #endScheduled = false;
  /** The checkpointer asked that no write transaction start (see Checkpointer). */
  #holding = false;
  /** Called once no commit is in flight, while holding. */
  #drained: (() => void) | undefined;
  /** A commit came while holding. */
  #deferred = false;

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
      getState: db.prepare(
        'SELECT value FROM state WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)',
      ),
      scanState: db.prepare(
        'SELECT key, value FROM state WHERE key >= ? AND key < ? AND (expires_at IS NULL OR expires_at > ?)',
      ),
      getClaim: db.prepare('SELECT 1 FROM claims WHERE key = ? AND expires_at > ?'),
    };
    this.#writes = prepareWrites(db);
    this.#prune = PRUNED.map((table) => ({
      sliceEnd: db.prepare(`SELECT key FROM ${table} WHERE key > ? ORDER BY key LIMIT 1 OFFSET ?`).pluck(),
      from: '',
    }));
    this.#writer = new StoreWriter(
      { file, autocheckpoint: AUTOCHECKPOINT_FRAMES, walSizeLimit: WAL_SIZE_LIMIT },
      {
        done: (through) => this.#saved(through),
        failed: (through, err) => {
          const first = this.#inFlight[0];
          // Commits the thread refused after an earlier failure were failed then already.
          if (first === undefined || first.n > through) return;
          this.#lose(first.error ?? err);
          this.#writer.resume();
        },
        lost: () => this.#lose(new Error('the store writer thread stopped')),
      },
      options.log,
    );
    this.#checkpointer = new Checkpointer(
      file,
      {
        // Once the thread runs, no commit here checkpoints; if it stops, SQLite's checkpoints resume.
        running: (running) => {
          const frames = running ? 0 : AUTOCHECKPOINT_FRAMES;
          if (!this.#closed) this.#db.pragma(`wal_autocheckpoint = ${frames}`);
          this.#writer.autocheckpoint(frames);
          if (running) this.#checkpointingStarted();
        },
        hold: (drained) => {
          this.#holding = true;
          if (this.#inFlight.length === 0) drained();
          else this.#drained = drained;
        },
        release: (restart) => {
          this.#holding = false;
          this.#drained = undefined;
          // A read begun before the WAL was all copied would keep the next commit from starting it over.
          if (restart) this.#endRead();
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

  /** Resolves once commits go to the writer thread (tests wait for it; the service need not). */
  whenWriterUp(): Promise<void> {
    return this.#writer.whenUp();
  }

  /** Tests: stops the writer thread as a crash would; it is started again a second later. */
  killWriter(): Promise<void> {
    return this.#writer.terminate();
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
    const gone = this.#guard?.problem(true);
    if (gone !== undefined) throw new StoreUnavailableError(gone);
    if (this.#lastError !== undefined) throw new StoreUnavailableError('the last write to the store failed');
    try {
      this.#db.prepare('SELECT 1').get();
    } catch (err) {
      throw new StoreUnavailableError('the store does not answer', { cause: err });
    }
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
    let pending = this.#claims.get(key);
    for (let i = this.#inFlight.length - 1; pending === undefined && i >= 0; i--)
      pending = this.#inFlight[i]?.claims.get(key);
    if (pending !== undefined) return pending > this.#clock.nowSeconds();
    this.#read();
    return this.#stmt.getClaim.get(key, this.#clock.nowSeconds()) !== undefined;
  }

  #getState(key: string): unknown {
    if (this.#closed) throw new StoreUnavailableError('the store is closed');
    let pending = this.#state.get(key);
    for (let i = this.#inFlight.length - 1; pending === undefined && i >= 0; i--)
      pending = this.#inFlight[i]?.state.get(key);
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
    // Writes still in flight count too, the latest last.
    for (const writes of [...this.#inFlight.map((c) => c.state), this.#state]) {
      for (const [key, w] of writes) {
        if (!key.startsWith(prefix)) continue;
        if (w.value === null) found.delete(key);
        else found.set(key, w.value);
      }
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
        this.#endRead();
      });
    }
  }

  /** Ends this turn's read transaction, if one is open: the next read sees every commit. */
  #endRead(): void {
    try {
      if (this.#db.open && this.#db.inTransaction) this.#db.exec('COMMIT');
    } catch {
      // Nothing was written in it; the next read or commit finds the connection as it is.
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
    if (this.#waiters.length > 0 || this.#scheduled || this.#deferred) {
      await new Promise<void>((resolve) => {
        this.#waiters.push({ resolve, reject: () => resolve() });
      });
    }
    const last = this.#inFlight.at(-1);
    if (last !== undefined) {
      await new Promise<void>((resolve) => {
        last.waiters.push({ resolve, reject: () => resolve() });
      });
    }
  }

  #commit(): void {
    this.#scheduled = false;
    if (this.#holding) {
      this.#deferred = true;
      return;
    }
    this.#deferred = false;
    // Nothing to do: the writes of this turn were failed (see #lose).
    if (this.#waiters.length === 0) return;
    const commit: Commit = {
      n: ++this.#sent,
      state: this.#state,
      claims: this.#claims,
      waiters: this.#waiters,
    };
    const series = this.#series;
    this.#waiters = [];
    this.#series = new Map();
    this.#state = new Map();
    this.#claims = new Map();
    let rows: Rows;
    try {
      const gone = this.#guard?.problem();
      if (gone !== undefined) throw new StoreUnavailableError(gone);
      rows = this.#rows(series, commit);
    } catch (err) {
      if (this.#inFlight.length === 0) {
        this.#fail(commit.waiters, err);
        return;
      }
      // Commits are in flight: this one fails in its turn, once they are answered, so that the
      // callers' reload of memory (MetricState.save) finds them in the database. It also fails
      // every commit sent after it, which was decided on it: the thread refuses them.
      this.#inFlight.push({ ...commit, error: err as Error });
      this.#writer.fail(commit.n, (err as Error).message);
      return;
    }
    if (this.#writer.up) {
      this.#inFlight.push(commit);
      this.#writer.send(commit.n, rows);
      return;
    }
    // On this thread, while the writer thread is not up. Not inside this turn's read transaction:
    // a writer thread that stopped may have committed since it began, and SQLite refuses a
    // write on an older snapshot. (SQLite also starts the WAL over only in a write whose read
    // began after all of it was copied.)
    this.#endRead();
    try {
      this.#db.exec('BEGIN');
      applyRows(this.#writes, rows);
      this.#db.exec('COMMIT');
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      this.#fail(commit.waiters, err);
      return;
    }
    this.#lastError = undefined;
    this.#checkpointer.committed();
    for (const w of commit.waiters) w.resolve();
  }

  /** Encodes one commit's writes, and the slice of keys its pruning looks at, if it is time. */
  #rows(series: Map<string, SeriesRecord>, commit: Commit): Rows {
    const rows: Rows = { series: [], state: [], claims: [], prune: undefined, now: this.#clock.nowSeconds() };
    for (const s of series.values()) {
      rows.series.push(s.metric, JSON.stringify(s.labels), s.value === null ? null : encodeValue(s.value));
    }
    for (const w of commit.state.values()) {
      rows.state.push(w.key, w.value === null ? null : JSON.stringify(w.value), w.expiresAt ?? null);
    }
    for (const [key, expiresAt] of commit.claims) rows.claims.push(key, expiresAt);
    const at = performance.now();
    if (at - this.#lastPrune < this.#pruneEveryMs) return rows;
    this.#lastPrune = at;
    this.#read();
    const prune: Array<string | null> = [];
    for (const table of this.#prune) {
      const end = table.sliceEnd.get(table.from, this.#pruneSlice - 1) as string | undefined;
      prune.push(table.from, end ?? null);
      table.from = end ?? '';
    }
    return { ...rows, prune };
  }

  /** The writer thread committed every commit up to `through`. */
  #saved(through: number): void {
    // This thread's open read began before those commits: the next read must see them.
    this.#endRead();
    this.#lastError = undefined;
    while ((this.#inFlight[0]?.n ?? Infinity) <= through) {
      for (const w of this.#inFlight.shift()?.waiters ?? []) w.resolve();
    }
    this.#checkpointer.committed();
    this.#whenDrained();
  }

  /**
   * A commit of the writer thread failed, or the thread stopped. Every commit in flight fails,
   * and so do the writes not yet handed over: each was decided on state that included the
   * failed one (its reads saw the commits in flight). Their callers set memory back to what
   * the store holds (MetricState.save) and answer 503; a redelivery then starts from there.
   */
  #lose(err: Error): void {
    this.#endRead();
    const waiters = [...this.#inFlight.flatMap((c) => c.waiters), ...this.#waiters];
    this.#inFlight = [];
    this.#waiters = [];
    this.#series = new Map();
    this.#state = new Map();
    this.#claims = new Map();
    this.#fail(waiters, err);
    this.#whenDrained();
  }

  #whenDrained(): void {
    if (this.#inFlight.length > 0 || this.#drained === undefined) return;
    const drained = this.#drained;
    this.#drained = undefined;
    drained();
  }

  #fail(waiters: readonly Waiter[], err: unknown): void {
    this.#lastError = err as Error;
    const failure =
      err instanceof StoreUnavailableError
        ? err
        : new StoreUnavailableError('the store could not save the change', { cause: err });
    for (const w of waiters) w.reject(failure);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#holding = false;
    this.#drained = undefined;
    if (this.#scheduled || this.#deferred) this.#commit();
    this.#closed = true;
    await this.flush();
    await this.#writer.close();
    if (this.#db.inTransaction) this.#db.exec('COMMIT');
    await this.#checkpointer.close();
    // The last connection to close copies what is left of the WAL and removes it.
    this.#db.close();
    this.#guard?.close();
  }
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** One commit: its state and claims (reads look at them until it is answered) and its callers. */
interface Commit {
  readonly n: number;
  readonly state: Map<string, StateWrite>;
  readonly claims: Map<string, number>;
  readonly waiters: Waiter[];
  /** It failed before it could be handed over (see #commit). */
  readonly error?: Error;
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
