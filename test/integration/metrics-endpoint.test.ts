import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { push, TOKEN } from '../helpers/push.js';
import { getMetrics, sample, startTestApp } from '../helpers/start-app.js';

const CATALOG = fileURLToPath(new URL('../fixtures/catalog.yaml', import.meta.url));

describe('/metrics and health', () => {
  it('passes promtool check metrics, with process metrics and pushed series of every type', async () => {
    const app = await startTestApp({ AUTH_TOKEN: TOKEN, METRICS_CATALOG: CATALOG });
    try {
      await push(app.url, '/api/deployment_duration_seconds/observe', {
        value: '18000',
        labels: 'coordinator,success',
      });
      await push(app.url, '/api/builds_total/inc', { labels: 'acme/api,success' });
      await push(app.url, '/api/queue_depth/set', { value: '3', labels: 'say "hi"\\n' });
      await push(app.url, '/api/nope/inc', {});
      const res = await fetch(`${app.url}/metrics`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      const text = await res.text();
      assert.match(text, /^process_cpu_user_seconds_total /m);
      assert.match(text, /^nodejs_heap_size_used_bytes /m);
      assert.equal(sample(text, 'delivery_queue_depth{project="say \\"hi\\"\\\\n"}'), 3);
      const check = promtoolCheckMetrics(text);
      assert.equal(check.status, 0, check.output);
    } finally {
      await app.stop();
    }
  });

  it('asks for METRICS_TOKEN when it is set, accepting either value of a rotation', async () => {
    const app = await startTestApp({ METRICS_TOKEN: 'scrape-1,scrape-2' });
    try {
      const open = await fetch(`${app.url}/metrics`);
      assert.equal(open.status, 401);
      assert.equal(open.headers.get('www-authenticate'), 'Bearer');
      assert.equal(
        (await fetch(`${app.url}/metrics`, { headers: { Authorization: 'Bearer wrong' } })).status,
        401,
      );
      assert.equal(
        (await fetch(`${app.url}/metrics`, { headers: { Authorization: 'Bearer scrape-2' } })).status,
        200,
      );
      assert.ok(
        (await getMetrics(app.url, { Authorization: 'Bearer scrape-1' })).includes(
          'delivery_push_requests_total',
        ),
      );
      // Health stays open for the kubelet.
      assert.equal((await fetch(`${app.url}/-/healthy`)).status, 200);
      assert.equal((await fetch(`${app.url}/-/ready`)).status, 200);
    } finally {
      await app.stop();
    }
  });

  it('answers JSON 404 for unknown routes and 405 for a wrong method', async () => {
    const app = await startTestApp({});
    try {
      const missing = await fetch(`${app.url}/nothing-here`);
      assert.equal(missing.status, 404);
      assert.match(((await missing.json()) as { error: string }).error, /no route for GET \/nothing-here/);
      assert.equal((await fetch(`${app.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await app.stop();
    }
  });
});
