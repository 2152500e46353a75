import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync, inflateRawSync } from 'node:zlib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { crc32Combine } from '../../../src/metrics/crc32-combine.js';
import { collect, exposeAll } from '../../../src/metrics/exposition.js';
import { BLOCK_SERIES } from '../../../src/metrics/family.js';
import { gzipAll } from '../../../src/metrics/gzip-exposition.js';
import { MetricState } from '../../../src/metrics/metric-state.js';
import type { Store } from '../../../src/store/store.js';

async function gzipBytes(
  registry: Registry,
  state: MetricState,
  format: 'text' | 'openmetrics' = 'text',
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of gzipAll(registry, state, format)) parts.push(part);
  return Buffer.concat(parts);
}

/** One gzip member: header, one raw deflate stream, CRC-32 and length of the text. */
function singleMember(gz: Buffer): string {
  assert.deepEqual([...gz.subarray(0, 3)], [0x1f, 0x8b, 8]);
  const text = inflateRawSync(gz.subarray(10, gz.length - 8));
  assert.equal(gz.readUInt32LE(gz.length - 8), crc32(text), 'trailer CRC-32');
  assert.equal(gz.readUInt32LE(gz.length - 4), text.length, 'trailer length');
  return text.toString('utf8');
}

describe('crc32Combine', () => {
  it('gives the CRC-32 of two pieces joined, whatever their lengths', () => {
    for (const [a, b] of [
      [0, 0],
      [1, 1],
      [5, 1000],
      [70_000, 3],
      [12_345, 65_536],
    ] as const) {
      const x = randomBytes(a);
      const y = randomBytes(b);
      assert.equal(crc32Combine(crc32(x), crc32(y), y.length), crc32(Buffer.concat([x, y])), `${a}+${b}`);
    }
  });
});

describe('gzipAll', () => {
  const state = () => new MetricState({ store: {} as Store, log: pino({ level: 'silent' }) });

  it('is one gzip member of exactly the plain text, and follows changes to kept blocks', async () => {
    const s = state();
    const counter = s.define({
      name: 'c_total',
      help: 'a counter',
      type: 'counter',
      labelNames: ['project'],
      maxSeries: 10_000,
    });
    const histogram = s.define({
      name: 'h_seconds',
      help: 'a histogram',
      type: 'histogram',
      labelNames: ['project', 'job'],
      buckets: [1, 10, 100],
      maxSeries: 10_000,
    });
    s.define({ name: 'empty', help: 'no series yet', type: 'gauge', labelNames: ['x'], maxSeries: 10 });
    for (let i = 0; i < BLOCK_SERIES * 3 + 17; i++) {
      counter.inc([`acme/p${i}`], i);
      histogram.observe([`acme/p${i % 9}`, `job "${i}"`], i % 150);
    }
    const registry = new Registry();
    const first = singleMember(await gzipBytes(registry, s));
    assert.equal(first, await collect(exposeAll(registry, s)));
    assert.equal(gunzipSync(await gzipBytes(registry, s)).toString('utf8'), first);

    // A change in one block, a new series and a removed one: the kept pieces of the others are
    // reused, and the text still equals the plain one.
    counter.inc(['acme/p300'], 1000);
    histogram.observe(['acme/p1', 'job "new"'], 5);
    counter.remove(['acme/p3']);
    const second = singleMember(await gzipBytes(registry, s));
    assert.notEqual(second, first);
    assert.equal(second, await collect(exposeAll(registry, s)));
    assert.match(second, /^c_total\{project="acme\/p300"\} 1300$/m);
    assert.doesNotMatch(second, /^c_total\{project="acme\/p3"\}/m);

    // State reloaded from scratch (as after a failed write): nothing stale is served.
    s.get('c_total')?.clearAll();
    counter.inc(['acme/p0'], 7);
    const third = singleMember(await gzipBytes(registry, s));
    assert.equal(third, await collect(exposeAll(registry, s)));
    assert.equal(third.split('\n').filter((l) => l.startsWith('c_total{')).length, 1);
  });

  it('carries exemplars in OpenMetrics only, and keeps each format’s pieces apart', async () => {
    const s = state();
    const histogram = s.define({
      name: 'd_seconds',
      help: 'durations',
      type: 'histogram',
      labelNames: ['project'],
      buckets: [1, 10],
      maxSeries: 10_000,
    });
    for (let i = 0; i < BLOCK_SERIES + 5; i++) histogram.observe([`acme/p${i}`], 0.5);
    const trace = '94ecad9abb9ba862ff2e02944d2d683e';
    histogram.observe(['acme/p1'], 4.25, { traceId: trace, at: 1736654830.5 });
    const registry = new Registry();
    const line = `d_seconds_bucket{project="acme/p1",le="10"} 2 # {trace_id="${trace}"} 4.25 1736654830.5`;
    for (let round = 0; round < 2; round++) {
      // Twice each, alternating: a piece kept for one format is never served in the other.
      const text = singleMember(await gzipBytes(registry, s, 'text'));
      const open = singleMember(await gzipBytes(registry, s, 'openmetrics'));
      assert.equal(text, await collect(exposeAll(registry, s, 'text')));
      assert.equal(open, await collect(exposeAll(registry, s, 'openmetrics')));
      assert.doesNotMatch(text, /trace_id/);
      assert.ok(open.split('\n').includes(line), `no exemplar line in:\n${open.slice(0, 2000)}`);
      assert.equal(open.split('\n').filter((l) => l.includes('trace_id')).length, 1);
    }
    // A later observation in the same bucket replaces the exemplar.
    histogram.observe(['acme/p1'], 7, { traceId: 'ab'.repeat(16), at: 1736654900 });
    const open = singleMember(await gzipBytes(registry, s, 'openmetrics'));
    assert.match(open, /le="10"\} 3 # \{trace_id="(ab){16}"\} 7 1736654900$/m);
  });
});
