import assert from 'node:assert/strict';
import {
  parseDecimal,
  parseDuration,
  parseList,
  parseListenAddress,
  toUpperSnake,
} from '../../../src/config/parse.js';

describe('setting parsers', () => {
  it('reads lists separated by commas or line breaks (a file with one entry per line)', () => {
    assert.deepEqual(parseList('acme/a, acme/b'), ['acme/a', 'acme/b']);
    assert.deepEqual(parseList('acme/a\r\nacme/b\n\n'), ['acme/a', 'acme/b']);
  });

  it('reads listen addresses with and without a host', () => {
    assert.deepEqual(parseListenAddress(':2112'), { ok: true, value: { host: undefined, port: 2112 } });
    assert.deepEqual(parseListenAddress('127.0.0.1:0'), { ok: true, value: { host: '127.0.0.1', port: 0 } });
    assert.deepEqual(parseListenAddress('[::1]:9000'), { ok: true, value: { host: '::1', port: 9000 } });
    assert.equal(parseListenAddress('2112').ok, false);
    assert.equal(parseListenAddress(':99999').ok, false);
    assert.equal(parseListenAddress('host:port').ok, false);
  });

  it('reads Go-style durations into seconds', () => {
    assert.deepEqual(parseDuration('24h'), { ok: true, value: 86400 });
    assert.deepEqual(parseDuration('1h30m'), { ok: true, value: 5400 });
    assert.deepEqual(parseDuration('7d'), { ok: true, value: 604800 });
    assert.deepEqual(parseDuration('1500ms'), { ok: true, value: 1.5 });
    assert.equal(parseDuration('24').ok, false);
    assert.equal(parseDuration('h').ok, false);
    assert.equal(parseDuration('0s').ok, false);
  });

  it('refuses durations over a maximum', () => {
    const max = { seconds: 365 * 86400, says: '365d' };
    assert.deepEqual(parseDuration('365d', max), { ok: true, value: 365 * 86400 });
    assert.deepEqual(parseDuration('99999999999d', max), {
      ok: false,
      message: "'99999999999d' is longer than 365d",
    });
    assert.equal(parseDuration(`${'9'.repeat(400)}d`, max).ok, false);
  });

  it('takes plain decimal numbers in a range instead of turning bad ones into NaN', () => {
    assert.deepEqual(parseDecimal('2.5', 0.01, 10), { ok: true, value: 2.5 });
    assert.deepEqual(parseDecimal('0.01', 0.01, 10), { ok: true, value: 0.01 });
    // Spaces around a value (an env file's trailing blank) are no error.
    assert.deepEqual(parseDecimal(' 5 ', 0.01, 10), { ok: true, value: 5 });
    for (const bad of ['', ' ', 'abc', '0', '-1', 'Infinity', '1e-300', '0x10', '1e1', '5.', '11'])
      assert.equal(parseDecimal(bad, 0.01, 10).ok, false, bad);
  });

  it('turns paths into setting keys', () => {
    assert.equal(toUpperSnake('acme/payments-api'), 'ACME_PAYMENTS_API');
    assert.equal(toUpperSnake('Acme/Platform/ci.tools'), 'ACME_PLATFORM_CI_TOOLS');
  });
});
