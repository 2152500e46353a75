import assert from 'node:assert/strict';
import { type IncomingHttpHeaders, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
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

  it('answers OpenMetrics when Accept asks for it first, as Prometheus does, plain or gzipped', async () => {
    const app = await startTestApp({
      AUTH_TOKEN: TOKEN,
      METRICS_CATALOG: CATALOG,
      PROM_GROUP_TOKEN_ACME: 'g',
    });
    try {
      await push(app.url, '/api/builds_total/inc', { labels: 'acme/api,success' });
      const prometheus =
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
      for (const encoding of ['identity', 'gzip']) {
        const res = await fetch(`${app.url}/metrics`, {
          headers: { Accept: prometheus, 'Accept-Encoding': encoding },
        });
        assert.equal(
          res.headers.get('content-type'),
          'application/openmetrics-text; version=1.0.0; charset=utf-8',
        );
        const text = await res.text();
        // A counter's family drops _total; its samples keep it. The text ends with # EOF.
        assert.match(text, /^# TYPE delivery_builds counter$/m);
        assert.doesNotMatch(text, /^# TYPE \S+_total /m);
        assert.equal(sample(text, 'delivery_builds_total{project="acme/api",result="success"}'), 1);
        assert.match(text, /^# TYPE delivery_deployment_duration_seconds histogram$/m);
        assert.ok(text.endsWith('\n# EOF\n'), encoding);
        assert.equal(text.match(/^# EOF$/gm)?.length, 1);
      }
      const group = await fetch(`${app.url}/prom/acme/metrics`, {
        headers: { Accept: prometheus, Authorization: 'Bearer g' },
      });
      const groupText = await group.text();
      assert.match(groupText, /^# TYPE delivery_builds counter$/m);
      assert.ok(groupText.endsWith('# EOF\n'));
      // Without Accept, or asking for text first: text 0.0.4, no end marker.
      for (const accept of [undefined, 'text/plain;version=0.0.4,application/openmetrics-text;q=0.5']) {
        const res = await fetch(
          `${app.url}/metrics`,
          accept === undefined ? {} : { headers: { Accept: accept } },
        );
        assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
        const text = await res.text();
        assert.match(text, /^# TYPE delivery_builds_total counter$/m);
        assert.doesNotMatch(text, /# EOF/);
      }
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
      const post = await fetch(`${app.url}/metrics`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'HEAD, GET');
      assert.match(((await post.json()) as { error: string }).error, /POST is not allowed for \/metrics/);
      const odd = await fetch(`${app.url}/metrics`, { method: 'PROPFIND' });
      assert.equal(odd.status, 501);
      assert.match(((await odd.json()) as { error: string }).error, /PROPFIND is not implemented/);
    } finally {
      await app.stop();
    }
  });

  it('gzips /metrics when asked, as Prometheus asks, and sends plain text otherwise', async () => {
    const app = await startTestApp({ AUTH_TOKEN: TOKEN, METRICS_CATALOG: CATALOG });
    try {
      for (let i = 0; i < 200; i++) {
        await push(app.url, '/api/builds_total/inc', { labels: `acme/api-${i},success` });
      }
      const zipped = await rawGet(app.service.port, '/metrics', { 'Accept-Encoding': 'gzip' });
      assert.equal(zipped.status, 200);
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.equal(zipped.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const unzipped = gunzipSync(zipped.body).toString('utf8');
      const plain = await rawGet(app.service.port, '/metrics', {});
      assert.equal(plain.headers['content-encoding'], undefined);
      const text = plain.body.toString('utf8');
      // Same durable series both ways (process metrics move between two scrapes).
      const delivery = (t: string) => t.split('\n').filter((l) => l.startsWith('delivery_builds_total'));
      assert.equal(delivery(text).length, 200);
      assert.deepEqual(delivery(unzipped), delivery(text));
      assert.ok(zipped.body.length < plain.body.length / 3, `${zipped.body.length} vs ${plain.body.length}`);
      const head = await fetch(`${app.url}/metrics`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(await head.text(), '');
    } finally {
      await app.stop();
    }
  });
});

/** A GET with exactly these headers (fetch would add Accept-Encoding and decompress itself). */
function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
