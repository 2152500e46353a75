import assert from 'node:assert/strict';
import { example, postGithub } from '../helpers/github.js';
import { GITLAB_SECRET, jobHook, postGitlab } from '../helpers/gitlab.js';
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

  it('write a request line for failed requests too, without the presented tokens', async () => {
    const app = await startTestApp({
      AUTH_TOKEN: 'auth-secret',
      METRICS_TOKEN: 'metrics-secret',
      LOG_LEVEL: 'debug',
    });
    try {
      const metrics = await fetch(`${app.url}/metrics`, {
        headers: { Authorization: 'Bearer presented-wrong-bearer' },
      });
      assert.equal(metrics.status, 401);
      assert.equal((await fetch(`${app.url}/prom/nobody/metrics`)).status, 404);
      const unknown = await push(app.url, '/api/no_such_metric/inc', {}, 'auth-secret');
      assert.equal(unknown.status, 404);
      const bad = await push(
        app.url,
        '/api/deployments_total/inc',
        { labels: 'too,many,labels' },
        'auth-secret',
      );
      assert.equal(bad.status, 400);
    } finally {
      await app.stop();
    }
    const requests = app.logs
      .filter((l) => l.msg === 'request')
      .map((l) => `${String(l.method)} ${String(l.path)} ${String(l.status)} ${typeof l.ms}`);
    assert.deepEqual(requests, [
      'GET /metrics 401 number',
      'GET /prom/nobody/metrics 404 number',
      'POST /api/no_such_metric/inc 404 number',
      'POST /api/deployments_total/inc 400 number',
    ]);
    for (const value of ['auth-secret', 'metrics-secret', 'presented-wrong-bearer']) {
      assert.ok(!app.rawLogs().includes(value), `${value} appears in the logs`);
    }
  });

  it('warn of webhooks refused for their secret at the default level, once per source per 10 s, without the secret', async () => {
    const app = await startTestApp({
      GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET,
      GITHUB_WEBHOOK_SECRET: 'github-secret',
      LOG_LEVEL: 'info',
    });
    try {
      for (const token of ['presented-wrong-1', 'presented-wrong-2', null]) {
        assert.equal(
          (await postGitlab(app.url, jobHook({ id: 1, status: 'pending' }), { token })).status,
          401,
        );
      }
      const run = example('workflow_run');
      assert.equal(
        (await postGithub(app.url, 'workflow_run', run, { secret: 'presented-wrong-3' })).status,
        401,
      );
      assert.equal((await postGitlab(app.url, jobHook({ id: 1, status: 'pending' }))).status, 200);
    } finally {
      await app.stop();
    }
    const refused = app.logs
      .filter((l) => l.level === 40 && String(l.msg).startsWith('webhook refused'))
      .map((l) => [l.source, l.event, l.claimedProject, l.secret, l.refusedSinceLastLine]);
    const repo = (example('workflow_run').repository as { full_name: string }).full_name;
    assert.deepEqual(refused, [
      ['gitlab', 'job', 'acme/payments-api', 'wrong', undefined],
      ['github', 'workflow_run', repo, 'wrong', undefined],
    ]);
    for (const value of [
      'presented-wrong-1',
      'presented-wrong-2',
      'presented-wrong-3',
      GITLAB_SECRET,
      'github-secret',
    ]) {
      assert.ok(!app.rawLogs().includes(value), `${value} appears in the logs`);
    }
  });
});
