import assert from 'node:assert/strict';
import { push } from '../helpers/push.js';
import { startTestApp } from '../helpers/start-app.js';

describe('logs', () => {
  it('are JSON lines that never contain a secret, a presented token or a header value', async () => {
    const secrets = ['auth-secret-1', 'auth-secret-2', 'metrics-secret', 'group-secret'];
    const app = await startTestApp({
      AUTH_TOKEN: `${secrets[0]},${secrets[1]}`,
      METRICS_TOKEN: secrets[2],
      PROM_GROUP_TOKEN_ACME: secrets[3],
      LOG_LEVEL: 'trace',
    });
    try {
      await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, secrets[0]);
      await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, 'presented-wrong-token');
      await fetch(`${app.url}/metrics`, { headers: { Authorization: 'Bearer presented-wrong-bearer' } });
      await fetch(`${app.url}/prom/acme/metrics`, { headers: { Authorization: `Bearer ${secrets[3]}` } });
      await app.service.store.close();
      await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, secrets[1]);
    } finally {
      await app.stop();
    }
    const raw = app.rawLogs();
    assert.ok(
      app.logs.some((l) => l.msg === 'request'),
      'debug request lines are written',
    );
    for (const value of [...secrets, 'presented-wrong-token', 'presented-wrong-bearer']) {
      assert.ok(!raw.includes(value), `${value} appears in the logs`);
    }
  });
});
