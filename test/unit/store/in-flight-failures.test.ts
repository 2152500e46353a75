import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Registry } from 'prom-client';
import { EventProcessor } from '../../../src/events/processor.js';
import { defineDeliveryFamilies } from '../../../src/metrics/delivery-families.js';
import { MetricState } from '../../../src/metrics/metric-state.js';
import { createServiceMetrics } from '../../../src/metrics/service-metrics.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { tempDir } from '../../helpers/temp-dir.js';

const log = pino({ level: 'silent' });

/**
 * Failures while commits are in flight on the store's writer thread: nothing answered as saved
 * may be lost, and nothing decided on a commit that failed may be answered as saved.
 */
describe('Store failures with commits in flight', () => {
  let dir: string;
  let clock: FakeClock;
  let store: SqliteStore;
  /** Another connection, to hold the database's write lock and keep a commit in flight. */
  let other: Database.Database;
  beforeEach(async () => {
    dir = tempDir();
    clock = new FakeClock();
    store = new SqliteStore(dir, clock);
    await store.whenWriterUp();
    other = new Database(join(dir, 'delivery-metrics.sqlite'));
  });
  afterEach(async () => {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    await store.close();
  });

  it('a commit that fails before it is handed over waits for those in flight, so memory is reloaded with them', async () => {
    const state = new MetricState({ store, log });
    const c = state.define({ name: 'c_total', help: 'h', type: 'counter', labelNames: [], maxSeries: 10 });
    const stored = () =>
      other.prepare("SELECT value FROM series WHERE metric = 'c_total'").pluck().get() as string | undefined;
    await state.save({ series: [c.inc([], 1)] });
    // d1 waits in its commit for 200 ms, then succeeds.
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('ROLLBACK'), 200);
    const d1 = state.save({ series: [c.inc([], 1)] });
    await sleep(20);
    // d2 fails on this thread, as it is encoded (a value JSON cannot hold).
    const d2 = state.save({ series: [c.inc([], 1)], state: [{ key: 'x', value: 1n as unknown }] });
    const [r1, r2] = await Promise.allSettled([d1, d2]);
    assert.equal(r1.status, 'fulfilled');
    assert.equal(r2.status, 'rejected');
    // Memory holds what was answered as saved: 1 + d1.
    assert.equal(c.valueOf([]), 2);
    await state.save({ series: [c.inc([], 1)] });
    assert.equal(stored(), '3');
  });

  it('a redelivery that finds the claim of a commit in flight is answered only once that commit is saved', async () => {
    const state = new MetricState({ store, log });
    const processor = new EventProcessor({
      store,
      state,
      families: defineDeliveryFamilies(state),
      metrics: createServiceMetrics(new Registry()),
      clock,
      log,
      trackedRefs: /^main$/,
    });
    const merge = {
      kind: 'merge' as const,
      source: 'gitlab' as const,
      project: { id: '1', path: 'g/p', defaultBranch: 'main' },
      mergeRequestId: '7',
      targetRef: 'main',
      createdAt: 1,
      mergedAt: 2,
    };
    // The lock is held past the writer thread's busy timeout (1 s): the first commit fails.
    other.exec('BEGIN IMMEDIATE');
    const answers: string[] = [];
    const first = processor.process({ key: 'A', events: [merge] }).then(
      (o) => answers.push(`first: ${o}`),
      () => answers.push('first: failed'),
    );
    await new Promise((resolve) => setImmediate(resolve));
    // Sent again by a sender that timed out, while the first is in flight.
    const again = processor.process({ key: 'A', events: [merge] }).then(
      (o) => answers.push(`again: ${o}`),
      () => answers.push('again: failed'),
    );
    await Promise.all([first, again]);
    other.exec('ROLLBACK');
    assert.deepEqual(answers.sort(), ['again: failed', 'first: failed']);
    assert.equal(await store.hasClaim('delivery:A'), false);
    // Sent once more, now that the store takes writes: counted once.
    assert.equal(await processor.process({ key: 'A', events: [merge] }), 'processed');
    assert.equal(await processor.process({ key: 'A', events: [merge] }), 'duplicate');
  });
});
