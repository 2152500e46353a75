import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LAST_RECEIVED_SAVE_MS } from '../../src/metrics/last-received.js';
import { GITLAB_SECRET, postGitlab, pushHook } from '../helpers/gitlab.js';
import { startProgram } from '../helpers/program.js';
import { getMetrics, sample } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const SERIES =
  'delivery_webhook_last_received_timestamp_seconds{source="gitlab",project="acme/payments-api"}';

describe('the built program: webhook last-received times survive kill -9 (acceptance)', function () {
  this.timeout(60_000);

  it('serves the time of a delivery saved in the background before the kill', async () => {
    const env = { DATA_DIR: tempDir(), GITLAB_WEBHOOK_TOKEN_101: GITLAB_SECRET };
    let program = await startProgram(env);
    let value: number | undefined;
    try {
      // An authentic Push Hook: ignored, so nothing but this timestamp is kept of it.
      assert.deepEqual(await postGitlab(program.url, pushHook()), {
        status: 200,
        body: { outcome: 'ignored' },
      });
      value = sample(await getMetrics(program.url), SERIES);
      assert.ok(value !== undefined && value > 1.7e9);
      // Past one background save: what a kill -9 may lose is only what came after it.
      await sleep(LAST_RECEIVED_SAVE_MS + 1_500);
    } finally {
      program.child.kill('SIGKILL');
      await program.exited;
    }

    program = await startProgram(env);
    try {
      const text = await getMetrics(program.url);
      assert.ok(text.split('\n').includes(`${SERIES} ${value}`), `no line '${SERIES} ${value}' in:\n${text}`);
    } finally {
      program.child.kill('SIGKILL');
      await program.exited;
    }
  });
});
