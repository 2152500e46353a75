import assert from 'node:assert/strict';
import { Family, SeriesBudgetError } from '../../../src/metrics/family.js';

describe('Family', () => {
  it('renders a histogram in text format with cumulative buckets', () => {
    const f = new Family({
      name: 'h_seconds',
      help: 'Help with \\ and\nnewline',
      type: 'histogram',
      labelNames: ['a'],
      buckets: [1, 5],
      maxSeries: 10,
    });
    f.observe(['x"y'], 0.5);
    f.observe(['x"y'], 5);
    f.observe(['x"y'], 7);
    assert.equal(
      f.render(),
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
    const f = new Family({ name: 'c_total', help: 'h', type: 'counter', labelNames: [], maxSeries: 10 });
    f.inc([], 1);
    assert.match(f.render(), /^c_total 1$/m);
    f.inc([], 2);
    assert.match(f.render(), /^c_total 3$/m);
  });

  it('refuses new series past its budget but updates existing ones', () => {
    const f = new Family({ name: 'g', help: 'h', type: 'gauge', labelNames: ['k'], maxSeries: 1 });
    f.set(['a'], 1);
    assert.throws(() => f.set(['b'], 1), SeriesBudgetError);
    f.set(['a'], 2);
    assert.equal(f.size, 1);
  });

  it('filters series and leaves out its header when nothing is kept', () => {
    const f = new Family({ name: 'g', help: 'h', type: 'gauge', labelNames: ['project'], maxSeries: 10 });
    f.set(['acme/x'], 1);
    f.set(['other/y'], 2);
    assert.equal(
      f.render((l) => l[0] === 'acme/x'),
      '# HELP g h\n# TYPE g gauge\ng{project="acme/x"} 1\n',
    );
    assert.equal(
      f.render(() => false),
      '',
    );
  });
});
