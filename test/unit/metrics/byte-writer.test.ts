import assert from 'node:assert/strict';
import { ByteWriter } from '../../../src/metrics/byte-writer.js';

describe('ByteWriter', () => {
  it('writes numbers as String() would, whole or not, across buffer boundaries', () => {
    const w = new ByteWriter(64);
    const name = Buffer.from('m_bucket');
    const labels = Buffer.from('{é="ü"}');
    const none = Buffer.alloc(0);
    const le = Buffer.from('le="+Inf"} ');
    const values = [0, 7, 10, 99, 100, 123456789012, Number.MAX_SAFE_INTEGER, 2 ** 60, 1.5, -3, 1e-7];
    let expected = '';
    for (const v of values) {
      w.bucket(name, labels, le, v);
      w.bucket(name, none, le, v);
      w.sample(name, labels, v);
      w.sample(name, none, v);
      expected += `m_bucket{é="ü",le="+Inf"} ${v}\nm_bucket{le="+Inf"} ${v}\nm_bucket{é="ü"} ${v}\nm_bucket ${v}\n`;
    }
    for (const [v, text] of [
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, '+Inf'],
      [Number.NEGATIVE_INFINITY, '-Inf'],
    ] as const) {
      w.sample(name, none, v);
      expected += `m_bucket ${text}\n`;
    }
    w.text('# end ✓\n');
    expected += '# end ✓\n';
    const parts = w.take();
    assert.ok(parts.length > 1, 'spans several buffers');
    assert.equal(Buffer.concat(parts).toString('utf8'), expected);
    assert.equal(w.length, 0);
  });
});
