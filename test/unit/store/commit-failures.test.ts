import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Registry } from 'prom-client';
import { EventProcessor } from '../../../src/events/processor.js';
import { defineDeliveryFamilies } from '../../../src/metrics/delivery-families.js';
import { MetricState } from '../../../src/metrics/metric-state.js';
import { createServiceMetrics } from '../../../src/metrics/service-metrics.js';
import { errorAnswer } from '../../../src/http/answer.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { StoreUnavailableError } from '../../../src/store/store.js';
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
      // Sent once more, once the store takes writes again (readiness says so): counted once.
      await store.ping();
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

describe('The store while writes fail', () => {
  it('refuses changes for a second after a failed commit, and readiness finds out by itself when writes work again', async () => {
    const dir = tempDir();
    const store = new SqliteStore(dir, new FakeClock());
    const other = new Database(join(dir, 'delivery-metrics.sqlite'));
    try {
      other.exec('BEGIN IMMEDIATE');
      await assert.rejects(store.write({ state: [{ key: 'a', value: 1 }] }), StoreUnavailableError);
      // Known without trying: callers refuse before they change memory.
      assert.match(store.unavailable()?.message ?? '', /failed a moment ago/);
      await assert.rejects(store.ping(), /a new one fails too/);
      other.exec('ROLLBACK');
      // No write comes (a pod that fails readiness gets no traffic): the probe itself writes.
      await store.ping();
      assert.equal(store.unavailable(), undefined);
      assert.equal(await store.getState('a'), undefined);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await store.close();
    }
  });

  it('logs a refused request once, without a stack, and then once every 10 s with how many came', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const err = new StoreUnavailableError('the store could not save the change', {
      cause: new Error('disk I/O error'),
    });
    for (let i = 0; i < 50; i++) {
      const answer = errorAnswer(err, log, { method: 'POST', path: '/webhooks/gitlab' });
      assert.deepEqual(answer, { status: 503, body: { error: 'the store could not save the change' } });
    }
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 40);
    assert.equal(lines[0]?.cause, 'disk I/O error');
    assert.equal(lines[0]?.err, undefined, 'no stack');
    // A bug is still an error with its stack, every time.
    errorAnswer(new TypeError('x is undefined'), log, { method: 'POST', path: '/webhooks/gitlab' });
    errorAnswer(new TypeError('x is undefined'), log, { method: 'POST', path: '/webhooks/gitlab' });
    assert.equal(lines.filter((l) => l.level === 50).length, 2);
  });
});
