import assert from 'node:assert/strict';
import { generalSeconds, parseTimestamp } from '../../../src/sources/timestamps.js';

describe('parseTimestamp', () => {
  it('reads every form GitLab and GitHub send', () => {
    const at = Date.UTC(2021, 1, 23, 2, 41, 37) / 1000;
    assert.equal(parseTimestamp('2021-02-23T02:41:37Z'), at);
    assert.equal(parseTimestamp('2021-02-23T02:41:37.886Z'), at + 0.886);
    assert.equal(parseTimestamp('2021-02-23 02:41:37 UTC'), at);
    assert.equal(parseTimestamp('2021-02-23 03:41:37 +0100'), at);
    assert.equal(parseTimestamp('2021-02-23T03:41:37+01:00'), at);
    for (const bad of [null, undefined, '', 'yesterday', 42, '2021-13-01T00:00:00Z', '2021-01-01T23:60:00Z'])
      assert.equal(parseTimestamp(bad), undefined, String(bad));
  });

  it('reads the plain forms (without a regular expression) exactly as the general path does', () => {
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const cases = [
      '2024-02-29T12:00:00Z',
      '2023-02-29T12:00:00Z',
      '2023-04-31T00:00:00Z',
      '2023-01-01T24:00:00Z',
      '2023-01-01T23:59:60Z',
      '0050-06-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '2023-00-10T00:00:00Z',
      '2023-01-00T00:00:00Z',
      '2023-1a-10T00:00:00Z',
      '2023-01-10T00:00:00z',
      '2023-01-10t00:00:00Z',
      '2021-02-23T02:41:37.886Z',
      '2021-02-23T02:41:37.8x6Z',
      '2021-02-23 02:41:37 UTC',
      '2021-02-23 02:41:37 utc',
      '2021-02-23 02:41:37 GMT',
      '2021-02-23T02:41:37 UTC',
      '2021-02-23 02:41:37xUTC',
    ];
    let seed = 11;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 3000; i++) {
      const date = `${pad(1900 + random(200), 4)}-${pad(random(14), 2)}-${pad(random(33), 2)}`;
      const time = `${pad(random(26), 2)}:${pad(random(62), 2)}:${pad(random(62), 2)}`;
      const form = random(3);
      cases.push(
        form === 0
          ? `${date}T${time}Z`
          : form === 1
            ? `${date}T${time}.${pad(random(1000), 3)}Z`
            : `${date} ${time} UTC`,
      );
    }
    for (const c of cases) assert.equal(parseTimestamp(c), generalSeconds(c), c);
  });
});
