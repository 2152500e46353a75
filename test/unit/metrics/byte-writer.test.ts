import assert from 'node:assert/strict';
import { ByteWriter } from '../../../src/metrics/byte-writer.js';

describe('ByteWriter', () => {
  it('writes numbers as String() would, whole or not, across buffer boundaries', () => {
    const w = new ByteWriter(64);
    const prefix = Buffer.from('m_bucket{é="ü",');
    const le = Buffer.from('le="+Inf"} ');
    const values = [0, 7, 10, 99, 100, 123456789012, Number.MAX_SAFE_INTEGER, 2 ** 60, 1.5, -3, 1e-7];
    let expected = '';
    for (const v of values) {
      w.line(prefix, le, v);
      expected += `m_bucket{é="ü",le="+Inf"} ${String(v)}\n`;
    }
    w.text('# end ✓\n');
    expected += '# end ✓\n';
    const parts = w.take();
    assert.ok(parts.length > 1, 'spans several buffers');
    assert.equal(Buffer.concat(parts).toString('utf8'), expected);
    assert.equal(w.length, 0);
  });
});
