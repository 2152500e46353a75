import assert from 'node:assert/strict';
import { BodyRing } from '../../../src/sources/body-ring.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const read = (ring: BodyRing, start: number, n: number) => new Uint8Array(ring.buffer, start, n);

describe('BodyRing', () => {
  it('copies the parts of a batch one after another', () => {
    const ring = new BodyRing(64);
    const w = ring.write([bytes(3, 1), bytes(2, 2)]);
    assert.ok(w);
    assert.deepEqual([...read(ring, w.start, 5)], [1, 1, 1, 2, 2]);
  });

  it('never hands out space of a region not given back, and wraps around to reuse space', () => {
    const ring = new BodyRing(100);
    const a = ring.write([bytes(40, 1)]);
    const b = ring.write([bytes(40, 2)]);
    assert.ok(a && b);
    assert.equal(ring.write([bytes(30, 3)]), undefined, 'only 20 bytes are free');
    ring.release(a.region);
    // 20 bytes at the end are too few; [0, 40) is free again.
    const c = ring.write([bytes(30, 3)]);
    assert.ok(c);
    assert.equal(c.start, 0);
    assert.deepEqual([...read(ring, b.start, 40)], new Array(40).fill(2), 'b untouched');
    // Between c's end (30) and b's start (40): not 10 more bytes (the head stays below the tail).
    assert.equal(ring.write([bytes(10, 4)]), undefined);
    assert.ok(ring.write([bytes(9, 4)]));
  });

  it('reuses space only once every older region is given back, in whatever order', () => {
    const ring = new BodyRing(100);
    const a = ring.write([bytes(50, 1)]);
    const b = ring.write([bytes(50, 2)]);
    assert.ok(a && b);
    ring.release(b.region);
    assert.equal(ring.write([bytes(10, 3)]), undefined, 'a, the oldest, is still in use');
    ring.release(a.region);
    assert.equal(ring.inUse, 0);
    const c = ring.write([bytes(100, 3)]);
    assert.ok(c, 'all of it is free again');
    assert.equal(c.start, 0);
  });

  it('refuses what is larger than the ring, and takes empty batches without space', () => {
    const ring = new BodyRing(10);
    assert.equal(ring.write([bytes(11, 1)]), undefined);
    const empty = ring.write([]);
    assert.ok(empty);
    ring.release(empty.region);
    assert.equal(ring.inUse, 0);
  });

  it('keeps regions apart under a random mix of writes and out-of-order releases', () => {
    const ring = new BodyRing(1000);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const live: Array<{ start: number; size: number; fill: number; region: object }> = [];
    let fill = 0;
    for (let i = 0; i < 5000; i++) {
      if (random() < 0.55) {
        const size = 1 + Math.floor(random() * 300);
        fill = (fill % 250) + 1;
        const w = ring.write([bytes(size, fill)]);
        if (w) live.push({ start: w.start, size, fill, region: w.region });
      } else if (live.length > 0) {
        const [gone] = live.splice(Math.floor(random() * live.length), 1);
        ring.release(gone!.region);
      }
      // Every live region still holds exactly what was written into it.
      for (const r of live) {
        assert.ok(
          read(ring, r.start, r.size).every((b) => b === r.fill),
          `region at ${r.start} overwritten`,
        );
      }
    }
  });
});
