import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CatalogError, loadCatalogFile, parseCatalog } from '../../../src/push/catalog.js';
import { tempDir } from '../../helpers/temp-dir.js';

function problems(doc: unknown): string[] {
  try {
    parseCatalog(doc);
  } catch (err) {
    if (err instanceof CatalogError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('push catalog', () => {
  it('reads the SPEC example, with defaults filled in', () => {
    const catalog = parseCatalog({
      metrics: {
        deployment_duration_seconds: {
          type: 'histogram',
          help: 'Duration of a deployment pipeline',
          labels: ['target', 'status'],
          values: { status: ['success', 'failed'] },
          buckets: [300, 900, 1800, 3600, 7200, 14400, 28800],
          max_series: 10000,
        },
      },
      experiments: { foo_total: { type: 'counter', help: 'Number of foo', labels: ['result'] } },
    });
    const foo = catalog.byName.get('foo_total');
    assert.equal(foo?.metricName, 'delivery_experiments_foo_total');
    assert.equal(catalog.byName.get('experiments_foo_total'), foo);
    assert.equal(foo?.maxSeries, 10000);
    assert.equal(
      catalog.byName.get('deployment_duration_seconds')?.metricName,
      'delivery_deployment_duration_seconds',
    );
  });

  it('lists every problem of a bad catalog at once', () => {
    assert.deepEqual(
      problems({
        metrics: {
          a: { type: 'gauge', help: 'h', labels: ['x', 'x'], buckets: [1] },
          b: { type: 'histogram', help: 'h', labels: ['le', '__x'], buckets: [2, 1] },
          c: {
            type: 'counter',
            help: 'h',
            labels: ['x', 'y'],
            values: { x: ['1'], z: ['2'] },
            reset: 'cartesian',
          },
        },
      }),
      [
        "metrics.a.labels: 'x' appears twice",
        'metrics.a.buckets: only a histogram has buckets',
        "metrics.b.labels: 'le' is reserved in histograms",
        "metrics.b.labels: '__x' is reserved (starts with __)",
        'metrics.b.buckets: must be strictly increasing',
        "metrics.c.values: 'z' is not one of its labels",
      ],
    );
  });

  it('refuses schema errors naming the field', () => {
    const [first] = problems({ metrics: { 'bad-name': { type: 'counter', help: 'h' } } });
    assert.match(first ?? '', /^metrics\.bad-name/);
    assert.match(problems({ metrics: { x: { type: 'counter' } } })[0] ?? '', /^metrics\.x\.help/);
    assert.match(problems({ metrics: { x: { type: 'counter', help: 'h', colour: 1 } } })[0] ?? '', /colour/);
  });

  it('refuses the same name as a metric and an experiment alias', () => {
    assert.deepEqual(
      problems({
        metrics: { experiments_x: { type: 'counter', help: 'h' } },
        experiments: { x: { type: 'counter', help: 'h' } },
      }),
      ["'experiments_x' names both delivery_experiments_x and delivery_experiments_x"],
    );
  });

  it('reads YAML and JSON files and says what is wrong with a broken one', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'c.json'),
      JSON.stringify({ metrics: { x_total: { type: 'counter', help: 'h' } } }),
    );
    assert.equal(loadCatalogFile(join(dir, 'c.json')).metrics.length, 1);
    writeFileSync(join(dir, 'c.yaml'), 'metrics: [unclosed');
    assert.throws(() => loadCatalogFile(join(dir, 'c.yaml')), /not valid YAML or JSON/);
    assert.throws(() => loadCatalogFile(join(dir, 'missing.yaml')), /cannot read .*ENOENT/);
  });
});
