import assert from 'node:assert/strict';
import {
  CHUNK_BYTES,
  Family,
  FamilyConflictError,
  type FamilyDef,
  SeriesBudgetError,
} from '../../../src/metrics/family.js';

/** A record as the store keeps it; `key` is the family's own, compared on its own below. */
function withoutKey<T extends { key?: string }>(record: T | undefined): Omit<T, 'key'> | undefined {
  if (record === undefined) return undefined;
  const { key: _key, ...rest } = record;
  return rest;
}

function view(def: Omit<FamilyDef, 'maxSeries'> & { maxSeries?: number }) {
  return new Family({ maxSeries: 10, ...def }).view({ maxSeries: 10, ...def });
}

describe('Family', () => {
  it('gives each label set its own record key, the same on every change and on removal', () => {
    const c = view({ name: 'c_total', help: 'h', type: 'counter', labelNames: ['a', 'b'] });
    const first = c.inc(['x', 'y'], 1).key;
    assert.equal(typeof first, 'string');
    assert.equal(c.inc(['x', 'y'], 2).key, first);
    // Values that would run together when joined must still differ.
    assert.notEqual(c.inc(['x,y', ''], 1).key, first);
    assert.notEqual(c.inc(['xy', ''], 1).key, c.inc(['x', 'y'], 1).key);
    assert.equal(c.remove(['x', 'y'])?.key, first);
  });

  it('renders a histogram in text format with cumulative buckets', () => {
    const h = view({
      name: 'h_seconds',
      help: 'Help with \\ and\nnewline',
      type: 'histogram',
      labelNames: ['a'],
      buckets: [1, 5],
    });
    h.observe(['x"y'], 0.5);
    h.observe(['x"y'], 5);
    const record = h.observe(['x"y'], 7);
    assert.deepEqual(withoutKey(record), {
      metric: 'h_seconds',
      labels: { a: 'x"y' },
      value: { kind: 'histogram', counts: [1, 1, 1], sum: 12.5, count: 3 },
    });
    assert.equal(
      h.family.render(),
      [
        '# HELP h_seconds Help with \\\\ and\\nnewline',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{a="x\\"y",le="1"} 1',
        'h_seconds_bucket{a="x\\"y",le="5"} 2',
        'h_seconds_bucket{a="x\\"y",le="+Inf"} 3',
        'h_seconds_sum{a="x\\"y"} 12.5',
        'h_seconds_count{a="x\\"y"} 3',
        '',
      ].join('\n'),
    );
  });

  it('re-renders a series after it changes', () => {
    const c = view({ name: 'c_total', help: 'h', type: 'counter', labelNames: [] });
    c.inc([], 1);
    assert.match(c.family.render(), /^c_total 1$/m);
    c.inc([], 2);
    assert.match(c.family.render(), /^c_total 3$/m);
  });

  it('refuses new series past its budget but updates existing ones', () => {
    const g = view({ name: 'g', help: 'h', type: 'gauge', labelNames: ['k'], maxSeries: 1 });
    g.set(['a'], 1);
    assert.throws(() => g.set(['b'], 1), SeriesBudgetError);
    g.set(['a'], 2);
    assert.equal(g.size, 1);
    assert.deepEqual(withoutKey(g.remove(['a'])), { metric: 'g', labels: { k: 'a' }, value: null });
    g.set(['b'], 1);
    assert.equal(g.size, 1);
  });

  it('filters series and leaves out its header when nothing is kept', () => {
    const g = view({ name: 'g', help: 'h', type: 'gauge', labelNames: ['project'] });
    g.set(['acme/x'], 1);
    g.set(['other/y'], 2);
    assert.equal(
      g.family.render((_v, l) => l[0] === 'acme/x'),
      '# HELP g h\n# TYPE g gauge\ng{project="acme/x"} 1\n',
    );
    assert.equal(
      g.family.render(() => false),
      '',
    );
  });

  it('serves two label sets under one name, and clears one without touching the other', () => {
    const family = new Family({
      name: 'd_seconds',
      help: 'h',
      type: 'histogram',
      labelNames: [],
      buckets: [1],
      maxSeries: 10,
    });
    const push = family.view({
      name: 'd_seconds',
      help: 'h',
      type: 'histogram',
      labelNames: ['target'],
      buckets: [1],
      maxSeries: 10,
    });
    const hooks = family.view({
      name: 'd_seconds',
      help: 'h',
      type: 'histogram',
      labelNames: ['source', 'env'],
      buckets: [1],
      maxSeries: 10,
    });
    push.observe(['t'], 2);
    hooks.observe(['gitlab', 'prod'], 0.5);
    const text = family.render();
    assert.equal(text.match(/# TYPE/g)?.length, 1);
    assert.match(text, /^d_seconds_count\{target="t"\} 1$/m);
    assert.match(text, /^d_seconds_count\{source="gitlab",env="prod"\} 1$/m);
    assert.deepEqual(push.clear().map(withoutKey), [
      { metric: 'd_seconds', labels: { target: 't' }, value: null },
    ]);
    assert.match(family.render(), /^d_seconds_count\{source="gitlab",env="prod"\} 1$/m);
    assert.throws(
      () => family.view({ name: 'd_seconds', help: 'h', type: 'counter', labelNames: ['x'], maxSeries: 1 }),
      FamilyConflictError,
    );
    assert.throws(
      () =>
        family.view({
          name: 'd_seconds',
          help: 'h',
          type: 'histogram',
          labelNames: ['target'],
          buckets: [2],
          maxSeries: 1,
        }),
      FamilyConflictError,
    );
  });
});

describe('Family.chunks', () => {
  it('hands out the text of render in buffers of at most CHUNK_BYTES, ending at line ends', () => {
    const h = view({
      name: 'h_seconds',
      help: 'h',
      type: 'histogram',
      labelNames: ['project', 'job'],
      buckets: [1, 5, 10],
      maxSeries: 5000,
    });
    for (let i = 0; i < 3000; i++) h.observe([`acme/p${i % 7}`, `job-${i}`], i % 13);
    const chunks = [...h.family.chunks()].map((c) => c.toString('utf8'));
    assert.ok(chunks.length > 2, `${chunks.length} chunks`);
    assert.equal(chunks.join(''), h.family.render());
    for (const chunk of chunks) {
      assert.ok(chunk.endsWith('\n'));
      assert.ok(chunk.length <= CHUNK_BYTES, `chunk of ${chunk.length} bytes`);
    }
    assert.equal(h.family.render().split('\n').length - 1, 2 + 3000 * 6);
  });
});
