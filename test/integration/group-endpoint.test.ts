import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { push, TOKEN } from '../helpers/push.js';
import { sample, startTestApp, type TestApp } from '../helpers/start-app.js';

const CATALOG = fileURLToPath(new URL('../fixtures/catalog.yaml', import.meta.url));

async function groupMetrics(app: TestApp, group: string, token?: string): Promise<Response> {
  return fetch(
    `${app.url}/prom/${group}/metrics`,
    token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } },
  );
}

describe('per-group endpoint (SPEC section 7)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({
      AUTH_TOKEN: TOKEN,
      METRICS_CATALOG: CATALOG,
      PROM_GROUP_TOKEN_ACME: 'acme-token',
      PROM_GROUP_TOKEN_GLOBEX: 'globex-old,globex-new',
      PROM_GROUP_TOKEN_ACME_PLATFORM: 'platform-token',
    });
    await push(app.url, '/api/builds_total/inc', { labels: 'acme/api,success' });
    await push(app.url, '/api/builds_total/inc', { labels: 'acme/platform/runner,failed' });
    await push(app.url, '/api/builds_total/inc', { labels: 'globex/web,success' });
    await push(app.url, '/api/builds_total/inc', { labels: 'acme-corp/site,success' });
    await push(app.url, '/api/queue_depth/set', { value: '4', labels: 'acme/api' });
    await push(app.url, '/api/deployment_duration_seconds/observe', {
      value: '10',
      labels: 'acme/api,success',
    });
  });
  after(() => app.stop());

  it('serves only the series whose project is inside the group', async () => {
    const res = await groupMetrics(app, 'acme', 'acme-token');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    assert.equal(sample(text, 'delivery_builds_total{project="acme/api",result="success"}'), 1);
    assert.equal(sample(text, 'delivery_builds_total{project="acme/platform/runner",result="failed"}'), 1);
    assert.equal(sample(text, 'delivery_queue_depth{project="acme/api"}'), 4);
    assert.doesNotMatch(text, /globex/);
    assert.doesNotMatch(text, /acme-corp/, 'a group name that is a prefix of another is not that group');
    assert.doesNotMatch(
      text,
      /deployment_duration_seconds/,
      'metrics without a project label are not served',
    );
    assert.doesNotMatch(text, /process_cpu/);
    const check = promtoolCheckMetrics(text);
    assert.equal(check.status, 0, check.output);
  });

  it('serves a nested group with its own token, with or without a trailing slash', async () => {
    const text = await (await groupMetrics(app, 'acme/platform', 'platform-token')).text();
    assert.equal(sample(text, 'delivery_builds_total{project="acme/platform/runner",result="failed"}'), 1);
    assert.doesNotMatch(text, /acme\/api/);
    const slash = await fetch(`${app.url}/prom/acme/platform/metrics/`, {
      headers: { Authorization: 'Bearer platform-token' },
    });
    assert.equal(slash.status, 200);
    assert.equal(await slash.text(), text);
  });

  it('answers 401 for a missing or wrong bearer, and for another group’s token', async () => {
    assert.equal((await groupMetrics(app, 'acme')).status, 401);
    assert.equal((await groupMetrics(app, 'acme', 'nope')).status, 401);
    assert.equal((await groupMetrics(app, 'acme', 'globex-new')).status, 401);
    assert.equal((await groupMetrics(app, 'globex', 'acme-token')).status, 401);
    assert.equal((await groupMetrics(app, 'acme/platform', 'acme-token')).status, 401);
  });

  it('accepts either value of a rotating group token', async () => {
    assert.equal((await groupMetrics(app, 'globex', 'globex-old')).status, 200);
    const text = await (await groupMetrics(app, 'globex', 'globex-new')).text();
    assert.equal(sample(text, 'delivery_builds_total{project="globex/web",result="success"}'), 1);
  });

  it('answers 404 for a group without a token, whatever the bearer', async () => {
    assert.equal((await groupMetrics(app, 'initech', 'acme-token')).status, 404);
    assert.equal((await groupMetrics(app, 'initech')).status, 404);
  });
});
