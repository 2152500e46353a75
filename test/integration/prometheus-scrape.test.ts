import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { BLOCK_SERIES } from '../../src/metrics/family.js';
import { type RealPrometheus, startPrometheus } from '../helpers/prometheus.js';
import { push, TOKEN } from '../helpers/push.js';
import { startTestApp, type TestApp } from '../helpers/start-app.js';

const CATALOG = fileURLToPath(new URL('../fixtures/catalog.yaml', import.meta.url));

describe('a real Prometheus scraping /metrics', function () {
  this.timeout(90_000);
  let app: TestApp;
  let prometheus: RealPrometheus | undefined;

  afterEach(async () => {
    await prometheus?.stop();
    await app.stop();
  });

  it('reads every series of the gzipped, block-assembled exposition, and changes as they come', async () => {
    app = await startTestApp({ AUTH_TOKEN: TOKEN, METRICS_CATALOG: CATALOG });
    // Several blocks, so the gzip member is assembled from several kept pieces.
    const series = BLOCK_SERIES * 2 + 37;
    for (let i = 0; i < series; i++) {
      const res = await push(app.url, '/api/builds_total/inc', { labels: `acme/api-${i},success` });
      assert.equal(res.status, 200);
    }
    prometheus = await startPrometheus({ host: '127.0.0.1', port: app.service.port });
    await prometheus.waitFor('up{job="delivery-metrics"}', (v) => v === 1);
    assert.equal(await prometheus.waitFor('count(delivery_builds_total)', (v) => v === series), series);
    assert.equal(await prometheus.query('sum(delivery_builds_total)'), series);

    // A change in one block: that piece is compressed again, the others are reused.
    await push(app.url, '/api/builds_total/inc', { value: '41', labels: 'acme/api-300,success' });
    await prometheus.waitFor('delivery_builds_total{project="acme/api-300"}', (v) => v === 42);
    assert.equal(await prometheus.query('sum(delivery_builds_total)'), series + 41);
    // Prometheus asked for gzip and read the whole stream without an error.
    assert.equal(await prometheus.query('up{job="delivery-metrics"}'), 1);
  });
});
