import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
});
