import assert from 'node:assert/strict';
import { pino } from 'pino';
import { MetricState } from '../../../src/metrics/metric-state.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { type Store, StoreUnavailableError, type WriteBatch } from '../../../src/store/store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** A real store whose writes can be made to fail, as a full disk would. */
class FlakyStore extends SqliteStore {
  failing = false;
  override write(batch: WriteBatch): Promise<void> {
    if (this.failing) return Promise.reject(new StoreUnavailableError('disk full'));
    return super.write(batch);
  }
}

const log = pino({ level: 'silent' });
const def = { name: 'g', help: 'a gauge', type: 'gauge' as const, labelNames: ['p'], maxSeries: 10 };

describe('MetricState', () => {
  it('restores what the store holds and skips series that no longer fit', async () => {
    const dir = tempDir();
    const store: Store = new SqliteStore(dir, new FakeClock());
    await store.write({
      series: [
        { metric: 'g', labels: { p: 'a' }, value: { kind: 'number', value: 4 } },
        { metric: 'g', labels: { p: 'a', extra: 'x' }, value: { kind: 'number', value: 1 } },
        { metric: 'gone', labels: {}, value: { kind: 'number', value: 1 } },
      ],
    });
    const state = new MetricState({ store, log });
    state.define(def);
    await state.load();
    assert.equal(state.render(), '# HELP g a gauge\n# TYPE g gauge\ng{p="a"} 4\n');
    await store.close();
  });

  it('sets memory back to the store when a save fails, so a refused change has no effect', async () => {
    const store = new FlakyStore(tempDir(), new FakeClock());
    const state = new MetricState({ store, log });
    const family = state.define(def);
    await state.save({ series: [family.set(['a'], 1)] });
    store.failing = true;
    await assert.rejects(
      state.save({ series: [family.inc(['a'], 5), family.set(['b'], 2)] }),
      StoreUnavailableError,
    );
    assert.equal(state.render(), '# HELP g a gauge\n# TYPE g gauge\ng{p="a"} 1\n');
    await store.close();
  });
});
