import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/log.js';
import { REFUSAL_LOG_MS, refusalLog } from '../../../src/sources/refusal-log.js';

describe('refusalLog', () => {
  it('writes the first refusal at once, then one line per window with how many came meanwhile', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    let now = 1_000;
    const note = refusalLog(createLogger('info', sink), 'gitlab', () => now);
    note('job', { claimed: 'acme/api', secretSent: true });
    now += 1;
    note('job', { claimed: 'acme/api', secretSent: true });
    now += 1;
    note('pipeline', { claimed: `x/${'y'.repeat(500)}`, secretSent: false });
    now += REFUSAL_LOG_MS;
    note('pipeline', { claimed: `x/${'y'.repeat(500)}`, secretSent: false });
    assert.deepEqual(
      lines.map((l) => [
        l.source,
        l.event,
        String(l.claimedProject).length,
        l.secret,
        l.refusedSinceLastLine,
      ]),
      [
        ['gitlab', 'job', 8, 'wrong', undefined],
        ['gitlab', 'pipeline', 200, 'missing', 2],
      ],
    );
  });
});
