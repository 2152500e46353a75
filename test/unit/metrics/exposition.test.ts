import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { collect, exposeAll, exposeGroup, projectInGroup } from '../../../src/metrics/exposition.js';
import { MetricState } from '../../../src/metrics/metric-state.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { systemClock } from '../../../src/clock.js';

describe('exposition', () => {
  let dir: string;
  let store: SqliteStore;
  let state: MetricState;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'exposition-test-'));
    store = new SqliteStore(dir, systemClock);
    state = new MetricState({ store, log: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function fill(series: number): void {
    const h = state.define({
      name: 'h_seconds',
      help: 'h',
      type: 'histogram',
      labelNames: ['project', 'job'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      maxSeries: series,
    });
    for (let i = 0; i < series; i++) h.observe([`acme/p${i % 10}`, `job-${i}`], i % 600);
  }

  it('gives the event loop turns while it renders many series', async () => {
    fill(30_000);
    const registry = new Registry();
    let turns = 0;
    let rendering = true;
    const tick = () => {
      if (!rendering) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const text = await collect(exposeAll(registry, state));
    rendering = false;
    assert.equal(text, `\n${state.render()}`); // an empty Registry renders as one newline
    // 30,000 series of 15 lines take far longer than one slice: other work ran in between.
    assert.ok(turns > 1, `${turns} event loop turns during the render`);
  });

  it('filters a group down to its projects, prom-client metrics included', async () => {
    fill(20);
    const registry = new Registry();
    const text = await collect(exposeGroup(registry, state, 'acme'));
    assert.equal(text.split('\n').filter((l) => l.startsWith('h_seconds_count')).length, 20);
    assert.equal(await collect(exposeGroup(registry, state, 'other')), '');
  });
});

describe('projectInGroup', () => {
  it('folds only ASCII letters: a Kelvin sign is no k', () => {
    assert.equal(projectInGroup('Kube/infra', 'kube'), true);
    assert.equal(projectInGroup('kube/sub/infra', 'KUBE'), true);
    assert.equal(projectInGroup('\u212Aube/infra', 'kube'), false);
    assert.equal(projectInGroup('kubex/infra', 'kube'), false);
    assert.equal(projectInGroup('kube', 'kube'), false);
  });
});
