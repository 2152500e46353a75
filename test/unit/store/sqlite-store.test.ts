import assert from 'node:assert/strict';
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { StoreUnavailableError } from '../../../src/store/store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { tempDir } from '../../helpers/temp-dir.js';

describe('SqliteStore', () => {
  let dir: string;
  let clock: FakeClock;
  beforeEach(() => {
    dir = tempDir();
    clock = new FakeClock();
  });

  it('keeps series, state and claims across a reopen', async () => {
    const store = new SqliteStore(dir, clock);
    await store.write({
      series: [
        { metric: 'm_total', labels: { x: 'a', y: 'b' }, value: { kind: 'number', value: 3 } },
        { metric: 'h', labels: {}, value: { kind: 'histogram', counts: [1, 0, 2], sum: 7.5, count: 3 } },
      ],
      state: [{ key: 'job:1', value: { status: 'running' } }],
      claims: [{ key: 'delivery:abc', expiresAt: clock.nowSeconds() + 60 }],
    });
    await store.close();

    const again = new SqliteStore(dir, clock);
    const series = await again.loadSeries();
    assert.deepEqual(
      series.sort((x, y) => x.metric.localeCompare(y.metric)),
      [
        { metric: 'h', labels: {}, value: { kind: 'histogram', counts: [1, 0, 2], sum: 7.5, count: 3 } },
        { metric: 'm_total', labels: { x: 'a', y: 'b' }, value: { kind: 'number', value: 3 } },
      ],
    );
    assert.deepEqual(await again.getState('job:1'), { status: 'running' });
    assert.equal(await again.hasClaim('delivery:abc'), true);
    assert.equal(await again.hasClaim('delivery:other'), false);
    await again.close();
  });

  it('sees claims and state still in flight, and forgets them once expired', async () => {
    const store = new SqliteStore(dir, clock);
    const written = store.write({
      claims: [{ key: 'k', expiresAt: clock.nowSeconds() + 10 }],
      state: [{ key: 's', value: 1, expiresAt: clock.nowSeconds() + 10 }],
    });
    assert.equal(await store.hasClaim('k'), true);
    assert.equal(await store.getState('s'), 1);
    await written;
    clock.advance(11);
    assert.equal(await store.hasClaim('k'), false);
    assert.equal(await store.getState('s'), undefined);
    await store.close();
  });

  it('applies the series of one turn in order: the last write of a series wins, null forgets it', async () => {
    const store = new SqliteStore(dir, clock);
    const n = (value: number) => ({ kind: 'number' as const, value });
    await store.write({
      series: [
        { metric: 'g', labels: { k: 'x' }, value: n(1) },
        { metric: 'g', labels: { k: 'y' }, value: n(2) },
      ],
    });
    const a = store.write({ series: [{ metric: 'g', labels: { k: 'x' }, value: null }] });
    const b = store.write({ series: [{ metric: 'g', labels: { k: 'y' }, value: n(3) }] });
    const c = store.write({
      series: [
        { metric: 'o', labels: {}, value: n(5) },
        { metric: 'o', labels: {}, value: null },
      ],
    });
    await Promise.all([a, b, c]);
    assert.deepEqual(await store.loadSeries(), [{ metric: 'g', labels: { k: 'y' }, value: n(3) }]);
    await store.close();
  });

  it('commits the writes of one turn together and answers every caller', async () => {
    const store = new SqliteStore(dir, clock);
    const writes = Array.from({ length: 500 }, (_, i) =>
      store.write({
        series: [{ metric: 'c_total', labels: { i: String(i) }, value: { kind: 'number', value: i } }],
      }),
    );
    await Promise.all(writes);
    assert.equal((await store.loadSeries()).length, 500);
    await store.close();
  });

  it('refuses a second process on the same DATA_DIR with a message saying so', async () => {
    const store = new SqliteStore(dir, clock);
    assert.throws(
      () => new SqliteStore(dir, clock),
      (err: unknown) =>
        err instanceof StoreUnavailableError && /another delivery-metrics process/.test(err.message),
    );
    await store.close();
  });

  it('copies the WAL into the database file on its own thread while it stays open', async () => {
    const store = new SqliteStore(dir, clock);
    await store.whenCheckpointing();
    const dbFile = join(dir, 'delivery-metrics.sqlite');
    const before = statSync(dbFile).size;
    const value = 'x'.repeat(1000);
    await store.write({
      state: Array.from({ length: 2000 }, (_, i) => ({ key: `k:${i}`, value })),
    });
    // No commit on this thread checkpoints (wal_autocheckpoint is off): only the thread can.
    const deadline = Date.now() + 5000;
    while (statSync(dbFile).size < before + 2_000_000 && Date.now() < deadline) await sleep(50);
    assert.ok(statSync(dbFile).size >= before + 2_000_000, `database file is ${statSync(dbFile).size} bytes`);
    assert.equal(await store.getState('k:1999'), value);
    await store.close();
    assert.equal(existsSync(`${dbFile}-wal`), false, 'a clean close leaves no WAL behind');
  });

  it('keeps the WAL bounded while commits come faster than the disk takes them', async () => {
    const store = new SqliteStore(dir, clock);
    await store.whenCheckpointing();
    const wal = join(dir, 'delivery-metrics.sqlite-wal');
    const value = 'y'.repeat(2000);
    // Commits back to back, 80 KB each, until 160 MB of rows are in: far beyond HARD_BYTES
    // (64 MiB of frames), with no pause for the checkpointer thread to catch up. Holds that
    // waited for the thread to notice let the WAL reach 97-114 MB on a loaded machine and 223 MB
    // once in CI; commits held as soon as one finds it past the limit keep it to the limit plus
    // what they add in 10 ms (at most 70 MB measured, with a disk-filling `dd` alongside).
    let id = 0;
    let largest = 0;
    try {
      while (id < 80_000) {
        await store.write({ state: Array.from({ length: 40 }, () => ({ key: `s:${id++}`, value })) });
        await store.getState(`s:${id - 1}`);
        if (id % 400 === 0) largest = Math.max(largest, statSync(wal).size);
      }
      assert.ok(largest < 72 * 1024 * 1024, `the WAL file reached ${largest} bytes`);
      assert.equal(await store.getState('s:0'), value);
    } finally {
      await store.close();
    }
  });

  it('removes expired claims and state a slice of keys at a time, and keeps the rest', async () => {
    const store = new SqliteStore(dir, clock, { prune: { slice: 100, everyMs: 0 } });
    const now = clock.nowSeconds();
    const key = (prefix: string, i: number) => `${prefix}:${String(i).padStart(4, '0')}`;
    // Every other key expires in 10 s; a tenth of the state never does.
    await store.write({
      claims: Array.from({ length: 1000 }, (_, i) => ({
        key: key('c', i),
        expiresAt: now + (i % 2 === 0 ? 10 : 1000),
      })),
      state: Array.from({ length: 1000 }, (_, i) => ({
        key: key('s', i),
        value: i,
        ...(i % 10 === 5 ? {} : { expiresAt: now + (i % 2 === 0 ? 10 : 1000) }),
      })),
    });
    const db = new Database(join(dir, 'delivery-metrics.sqlite'), { readonly: true });
    const rows = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    try {
      clock.advance(11);
      // One commit looks at one slice of 100 keys per table: it removes the 50 expired among them.
      await store.write({});
      assert.equal(rows('claims'), 950);
      assert.equal(rows('state'), 950);
      for (let i = 0; i < 10; i++) await store.write({});
      assert.equal(rows('claims'), 500);
      assert.equal(rows('state'), 500);
      assert.equal(await store.hasClaim(key('c', 1)), true);
      assert.equal(await store.hasClaim(key('c', 0)), false);
      assert.equal(await store.getState(key('s', 999)), 999);
      // Never expires: kept however often the sweep passes.
      clock.advance(10_000);
      for (let i = 0; i < 12; i++) await store.write({});
      assert.equal(rows('claims'), 0);
      assert.equal(rows('state'), 100);
      assert.equal(await store.getState(key('s', 5)), 5);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('leaves out stored values that are not finite numbers (older versions wrote null)', async () => {
    const store = new SqliteStore(dir, clock);
    await store.write({
      series: [{ metric: 'delivery_ok', labels: {}, value: { kind: 'number', value: 1 } }],
    });
    await store.close();
    const db = new Database(join(dir, 'delivery-metrics.sqlite'));
    db.prepare('INSERT INTO series (metric, labels, value) VALUES (?, ?, ?)').run(
      'delivery_gauge',
      '{}',
      'null',
    );
    db.prepare('INSERT INTO series (metric, labels, value) VALUES (?, ?, ?)').run(
      'delivery_hist',
      '{}',
      '{"c":[1],"s":null,"n":1}',
    );
    db.close();
    const again = new SqliteStore(dir, clock);
    try {
      assert.deepEqual(
        (await again.loadSeries()).map((r) => r.metric),
        ['delivery_ok'],
      );
    } finally {
      await again.close();
    }
  });

  it('rejects writes and pings after close', async () => {
    const store = new SqliteStore(dir, clock);
    await store.ping();
    await store.close();
    await assert.rejects(store.write({}), StoreUnavailableError);
    await assert.rejects(store.ping(), StoreUnavailableError);
  });

  it('names DATA_DIR when it cannot be created', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const bad = join(file, 'data');
    assert.throws(
      () => new SqliteStore(bad, clock),
      (err: unknown) => err instanceof StoreUnavailableError && err.message.includes(`DATA_DIR '${bad}'`),
    );
  });
  it('stops writes and readiness when its data file is deleted or replaced while it runs', async () => {
    for (const takeAway of [
      () => rmSync(dir, { recursive: true, force: true }),
      () => {
        // A restored copy moved over the open file.
        writeFileSync(join(dir, 'restored'), '');
        renameSync(join(dir, 'restored'), join(dir, 'delivery-metrics.sqlite'));
      },
    ]) {
      dir = tempDir();
      const store = new SqliteStore(dir, clock);
      await store.write({ state: [{ key: 'k', value: 1 }] });
      takeAway();
      await assert.rejects(store.ping(), /was deleted or replaced while the service ran/);
      // Every write from then on: none may be answered as saved.
      await assert.rejects(store.write({ state: [{ key: 'k', value: 2 }] }), StoreUnavailableError);
      await assert.rejects(store.write({ state: [{ key: 'k', value: 3 }] }), /deleted or replaced/);
      await store.close();
    }
  });

  it('takes its lock again when the lock file is removed, and stops writes if another process took it', async () => {
    const store = new SqliteStore(dir, clock);
    const lock = join(dir, 'delivery-metrics.lock');
    rmSync(lock);
    await store.ping();
    await store.write({ state: [{ key: 'k', value: 1 }] });
    assert.ok(existsSync(lock), 'a new lock file');
    assert.throws(() => new SqliteStore(dir, clock), /another delivery-metrics process/);

    // Removed again, and this time another process holds the new one first.
    rmSync(lock);
    const other = new Database(lock);
    other.pragma('locking_mode = EXCLUSIVE');
    other.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL)');
    try {
      await assert.rejects(store.ping(), /another process holds it now/);
      await assert.rejects(store.write({ state: [{ key: 'k', value: 2 }] }), StoreUnavailableError);
    } finally {
      other.close();
      await store.close();
    }
  });
  it('says when the data file is not a database rather than blaming the directory', () => {
    writeFileSync(
      join(dir, 'delivery-metrics.sqlite'),
      'not a database, but long enough to look like a header '.repeat(20),
    );
    assert.throws(
      () => new SqliteStore(dir, clock),
      (err: unknown) => err instanceof StoreUnavailableError && /not a readable database/.test(err.message),
    );
  });
});
