import assert from 'node:assert/strict';
import { join } from 'node:path';
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

describe('A failed commit and the deliveries decided on it', () => {
  it('a redelivery that finds the key of a delivery not yet committed is answered only once it is saved', async () => {
    const dir = tempDir();
    const clock = new FakeClock();
    const store = new SqliteStore(dir, clock);
    // Another connection holds the write lock past the store's busy timeout: the commit fails.
    const other = new Database(join(dir, 'delivery-metrics.sqlite'));
    try {
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
      other.exec('BEGIN IMMEDIATE');
      const answer = (p: Promise<string>) =>
        p.then(
          (outcome) => outcome,
          () => 'failed',
        );
      // Sent twice at once (a sender that timed out): the second finds the first's key.
      const answers = await Promise.all([
        answer(processor.process({ key: 'A', events: [merge] })),
        answer(processor.process({ key: 'A', events: [merge] })),
      ]);
      other.exec('ROLLBACK');
      assert.deepEqual(answers, ['failed', 'failed']);
      assert.equal(await store.hasClaim('delivery:A'), false);
      // Sent once more, now that the store takes writes: counted once.
      assert.equal(await processor.process({ key: 'A', events: [merge] }), 'processed');
      assert.equal(await processor.process({ key: 'A', events: [merge] }), 'duplicate');
      const families = defineDeliveryFamilies(state);
      assert.equal(families.mergesTotal.valueOf(['gitlab', 'g/p', 'main']), 1);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await store.close();
    }
  });
});
