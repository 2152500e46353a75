import type Database from 'better-sqlite3';

/**
 * One commit's rows, flat and already encoded, as the writer thread receives them (a message of
 * arrays of strings and numbers is copied between threads far faster than one of objects).
 */
export interface Rows {
  /** Triples: metric, labels as JSON, value as JSON or null to delete the series. */
  readonly series: Array<string | null>;
  /** Triples: key, value as JSON or null to delete the key, expiry (unix seconds) or null. */
  readonly state: Array<string | number | null>;
  /** Pairs: key, expiry (unix seconds). */
  readonly claims: Array<string | number>;
  /**
   * Pairs, one per pruned table (PRUNED): the first key of the slice to look at ('' for the
   * start), and its last key, or null to look at every key from the first on.
   */
  readonly prune: Array<string | null> | undefined;
  /** Unix seconds: rows that expired by then are pruned. */
  readonly now: number;
}

/** Tables whose expired rows are pruned, in the order of `Rows.prune`. */
export const PRUNED = ['claims', 'state'] as const;

export interface WriteStatements {
  readonly upsertSeries: Database.Statement;
  readonly deleteSeries: Database.Statement;
  readonly upsertState: Database.Statement;
  readonly deleteState: Database.Statement;
  readonly upsertClaim: Database.Statement;
  readonly prune: ReadonlyArray<{ deleteUpTo: Database.Statement; deleteRest: Database.Statement }>;
}

export function prepareWrites(db: Database.Database): WriteStatements {
  return {
    upsertSeries: db.prepare('INSERT OR REPLACE INTO series (metric, labels, value) VALUES (?, ?, ?)'),
    deleteSeries: db.prepare('DELETE FROM series WHERE metric = ? AND labels = ?'),
    upsertState: db.prepare('INSERT OR REPLACE INTO state (key, value, expires_at) VALUES (?, ?, ?)'),
    deleteState: db.prepare('DELETE FROM state WHERE key = ?'),
    upsertClaim: db.prepare('INSERT OR REPLACE INTO claims (key, expires_at) VALUES (?, ?)'),
    prune: PRUNED.map((table) => ({
      deleteUpTo: db.prepare(`DELETE FROM ${table} WHERE key > ? AND key <= ? AND expires_at <= ?`),
      deleteRest: db.prepare(`DELETE FROM ${table} WHERE key > ? AND expires_at <= ?`),
    })),
  };
}

/** Writes `rows` inside the transaction open on `db` (the caller begins and commits it). */
export function applyRows(s: WriteStatements, rows: Rows): void {
  const { series, state, claims, prune } = rows;
  for (let i = 0; i < series.length; i += 3) {
    const value = series[i + 2];
    if (value === null) s.deleteSeries.run(series[i], series[i + 1]);
    else s.upsertSeries.run(series[i], series[i + 1], value);
  }
  for (let i = 0; i < state.length; i += 3) {
    const value = state[i + 1];
    if (value === null) s.deleteState.run(state[i]);
    else s.upsertState.run(state[i], value, state[i + 2]);
  }
  for (let i = 0; i < claims.length; i += 2) s.upsertClaim.run(claims[i], claims[i + 1]);
  if (prune === undefined) return;
  for (let t = 0; t < s.prune.length; t++) {
    const from = prune[2 * t] ?? '';
    const end = prune[2 * t + 1] ?? null;
    const table = s.prune[t];
    if (table === undefined) continue;
    if (end === null) table.deleteRest.run(from, rows.now);
    else table.deleteUpTo.run(from, end, rows.now);
  }
}
