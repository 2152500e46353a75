import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { FakeClock } from '../helpers/fake-clock.js';
import { GITLAB_SECRET, postGitlab, pushHook } from '../helpers/gitlab.js';
import { getMetrics, startTestApp, type TestApp } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const NAME = 'delivery_webhook_last_received_timestamp_seconds';
const SERIES = `${NAME}{source="gitlab",project="acme/payments-api"}`;

describe('delivery_webhook_last_received_timestamp_seconds across a restart (SPEC sections 5 and 9)', () => {
  const dataDir = tempDir();
  const env = {
    DATA_DIR: dataDir,
    GITLAB_WEBHOOK_TOKEN_101: GITLAB_SECRET,
    PROM_GROUP_TOKEN_ACME: 'acme-token',
  };
  const apps: TestApp[] = [];
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the same value after a graceful stop and a start on the same DATA_DIR', async () => {
    // A quarter second past the minute: the value keeps its fraction through the store.
    const clock = new FakeClock(Date.UTC(2026, 10, 22, 12, 0, 0) + 250);
    const first = await startTestApp(env, { clock });
    apps.push(first);
    const res = await postGitlab(first.url, pushHook());
    assert.deepEqual(res, { status: 200, body: { outcome: 'ignored' } });
    const line = `${SERIES} 1795348800.25`;
    assert.ok((await getMetrics(first.url)).split('\n').includes(line));
    await first.stop();

    // Later, and no webhook since: the hook may have been disabled meanwhile.
    clock.advance(3600);
    const second = await startTestApp(env, { clock });
    apps.push(second);
    const text = await getMetrics(second.url);
    assert.ok(text.split('\n').includes(line), `no line '${line}' in:\n${text}`);
    // One family under the name, not a second copy from elsewhere.
    assert.equal(text.split('\n').filter((l) => l === `# TYPE ${NAME} gauge`).length, 1);

    const group = await fetch(`${second.url}/prom/acme/metrics`, {
      headers: { Authorization: 'Bearer acme-token' },
    });
    assert.equal(group.status, 200);
    const groupText = await group.text();
    assert.ok(groupText.split('\n').includes(line), `no line '${line}' in:\n${groupText}`);
    assert.equal(groupText.split('\n').filter((l) => l === `# TYPE ${NAME} gauge`).length, 1);

    const open = await fetch(`${second.url}/metrics`, {
      headers: { Accept: 'application/openmetrics-text; version=1.0.0' },
    });
    const openText = await open.text();
    assert.ok(openText.split('\n').includes(line), `no line '${line}' in:\n${openText}`);
    assert.equal(openText.split('\n').filter((l) => l === `# TYPE ${NAME} gauge`).length, 1);
  });
});
