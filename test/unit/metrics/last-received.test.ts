import assert from 'node:assert/strict';
import { pino } from 'pino';
import { defineDeliveryFamilies } from '../../../src/metrics/delivery-families.js';
import { LastReceived } from '../../../src/metrics/last-received.js';
import { MetricState } from '../../../src/metrics/metric-state.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { StoreUnavailableError, type WriteBatch } from '../../../src/store/store.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** A real store that counts writes and can be made to refuse them, as a full disk would. */
class FlakyStore extends SqliteStore {
  failing = false;
  writes = 0;
  override write(batch: WriteBatch): Promise<void> {
    this.writes++;
    if (this.failing) return Promise.reject(new StoreUnavailableError('disk full'));
    return super.write(batch);
  }
}

const NAME = 'delivery_webhook_last_received_timestamp_seconds';
const line = (project: string, value: number) => `${NAME}{source="gitlab",project="${project}"} ${value}`;

function lines(state: MetricState): string[] {
  return state
    .render()
    .split('\n')
    .filter((l) => l.startsWith(`${NAME}{`));
}

/** What a fresh process on the same store serves after `load`. */
async function reloaded(dir: string): Promise<string[]> {
  const store = new SqliteStore(dir, new FakeClock());
  const state = new MetricState({ store, log: pino({ level: 'silent' }) });
  new LastReceived({ state, store, log: pino({ level: 'silent' }) });
  await state.load();
  await store.close();
  return lines(state);
}

describe('LastReceived', () => {
  it('changes memory on note, and the store only on save', async () => {
    const dir = tempDir();
    const store = new FlakyStore(dir, new FakeClock());
    const state = new MetricState({ store, log: pino({ level: 'silent' }) });
    const last = new LastReceived({ state, store, log: pino({ level: 'silent' }) });
    last.note('gitlab', 'acme/api', 100);
    last.note('gitlab', 'acme/api', 101.5);
    assert.deepEqual(lines(state), [line('acme/api', 101.5)]);
    assert.equal(store.writes, 0);
    await last.save();
    assert.equal(store.writes, 1);
    // Nothing changed since: nothing to write.
    await last.save();
    assert.equal(store.writes, 1);
    await store.close();
    assert.deepEqual(await reloaded(dir), [line('acme/api', 101.5)]);
  });

  it('keeps memory and retries at the next save when the store refuses a save', async () => {
    const dir = tempDir();
    const store = new FlakyStore(dir, new FakeClock());
    const logs: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => logs.push(JSON.parse(l)) });
    const state = new MetricState({ store, log });
    const last = new LastReceived({ state, store, log });
    last.note('gitlab', 'acme/api', 100);
    last.note('gitlab', 'acme/web', 200);
    store.failing = true;
    await last.save(); // resolves: a refused background save is no failure of anyone's request
    assert.equal(logs.filter((l) => l.level === 40).length, 1);
    assert.deepEqual(lines(state), [line('acme/api', 100), line('acme/web', 200)]);
    // Noted again while the store was down: the newer value is what is saved.
    last.note('gitlab', 'acme/api', 300);
    store.failing = false;
    await last.save();
    await store.close();
    assert.deepEqual(await reloaded(dir), [line('acme/api', 300), line('acme/web', 200)]);
  });

  it('is not set back when a save of the event metrics is refused', async () => {
    const store = new FlakyStore(tempDir(), new FakeClock());
    const log = pino({ level: 'silent' });
    const state = new MetricState({ store, log });
    const families = defineDeliveryFamilies(state);
    const last = new LastReceived({ state, store, log });
    await state.load();
    last.note('gitlab', 'acme/api', 100);
    store.failing = true;
    await assert.rejects(
      state.save({ series: [families.releases.inc(['gitlab', 'acme/api'], 1)] }),
      StoreUnavailableError,
    );
    // The refused release is undone; the delivery did arrive, and its time is still pending.
    assert.doesNotMatch(state.render(), /^delivery_releases_total\{/m);
    assert.deepEqual(lines(state), [line('acme/api', 100)]);
    store.failing = false;
    await last.save();
    await store.close();
  });

  it('stop saves what is left, and the timer saves on its own', async () => {
    const dir = tempDir();
    const store = new FlakyStore(dir, new FakeClock());
    const log = pino({ level: 'silent' });
    const state = new MetricState({ store, log });
    const last = new LastReceived({ state, store, log });
    last.start(20);
    last.note('github', 'acme/api', 1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(store.writes, 1);
    last.note('github', 'acme/api', 2);
    await last.stop();
    assert.equal(store.writes, 2);
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(store.writes, 2, 'no save after stop');
    await store.close();
    assert.deepEqual(await reloaded(dir), [`${NAME}{source="github",project="acme/api"} 2`]);
  });
});
