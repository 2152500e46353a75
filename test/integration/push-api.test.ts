import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { push, pushJson, TOKEN } from '../helpers/push.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';

const CATALOG = fileURLToPath(new URL('../fixtures/catalog.yaml', import.meta.url));

describe('push API (SPEC section 6)', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await startTestApp({ AUTH_TOKEN: TOKEN, METRICS_CATALOG: CATALOG });
  });
  afterEach(() => app.stop());

  it('observes a histogram sent multipart, as curl -F does (the quickstart example)', async () => {
    const form = new FormData();
    form.set('value', '18000');
    form.set('labels', 'coordinator_pipeline,success');
    const res = await fetch(`${app.url}/api/deployment_duration_seconds/observe`, {
      method: 'POST',
      headers: { 'X-Private-Token': TOKEN },
      body: form,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
    const text = await getMetrics(app.url);
    const labels = 'target="coordinator_pipeline",status="success"';
    assert.equal(sample(text, `delivery_deployment_duration_seconds_count{${labels}}`), 1);
    assert.equal(sample(text, `delivery_deployment_duration_seconds_sum{${labels}}`), 18000);
    assert.equal(sample(text, `delivery_deployment_duration_seconds_bucket{${labels},le="14400"}`), 0);
    assert.equal(sample(text, `delivery_deployment_duration_seconds_bucket{${labels},le="28800"}`), 1);
    assert.equal(sample(text, `delivery_deployment_duration_seconds_bucket{${labels},le="+Inf"}`), 1);
  });

  it('accepts form-encoded and JSON bodies, labels positional, as a list or by name', async () => {
    assert.equal((await push(app.url, '/api/builds_total/inc', { labels: 'acme/api,success' })).status, 200);
    assert.equal(
      (await push(app.url, '/api/builds_total/inc', { value: '2', labels: 'acme/api,success' })).status,
      200,
    );
    assert.equal(
      (await pushJson(app.url, '/api/builds_total/inc', { value: 3, labels: ['acme/api', 'success'] }))
        .status,
      200,
    );
    assert.equal(
      (
        await pushJson(app.url, '/api/builds_total/inc', {
          value: '4',
          labels: { result: 'success', project: 'acme/api' },
        })
      ).status,
      200,
    );
    assert.equal(
      (await pushJson(app.url, '/api/builds_total/inc', { labels: 'acme/api,success' })).status,
      200,
    );
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_builds_total{project="acme/api",result="success"}'), 11);
  });

  it('sets, increments and decrements a gauge', async () => {
    await push(app.url, '/api/queue_depth/set', { value: '10', labels: 'acme/api' });
    await push(app.url, '/api/queue_depth/inc', { value: '2.5', labels: 'acme/api' });
    await push(app.url, '/api/queue_depth/dec', { labels: 'acme/api' });
    await push(app.url, '/api/queue_depth/dec', { value: '-1', labels: 'acme/api' });
    assert.equal(sample(await getMetrics(app.url), 'delivery_queue_depth{project="acme/api"}'), 12.5);
  });

  it('increments a counter without labels from an empty body', async () => {
    const res = await fetch(`${app.url}/api/plain_total/inc`, {
      method: 'POST',
      headers: { 'X-Private-Token': TOKEN },
    });
    assert.equal(res.status, 200);
    assert.equal(sample(await getMetrics(app.url), 'delivery_plain_total'), 1);
  });

  describe('answers 400 with the reason', () => {
    const cases: Array<[string, string, Record<string, string>, RegExp]> = [
      [
        'a value that is not a number',
        'deployment_duration_seconds/observe',
        { value: 'abc', labels: 'x,success' },
        /not a finite number/,
      ],
      [
        'an infinite value',
        'deployment_duration_seconds/observe',
        { value: 'Infinity', labels: 'x,success' },
        /not a finite number/,
      ],
      ['NaN', 'queue_depth/set', { value: 'NaN', labels: 'p' }, /not a finite number/],
      ['a hexadecimal value', 'queue_depth/set', { value: '0x10', labels: 'p' }, /not a finite number/],
      [
        'a missing value for observe',
        'deployment_duration_seconds/observe',
        { labels: 'x,success' },
        /value is required/,
      ],
      ['a missing value for set', 'queue_depth/set', { labels: 'p' }, /value is required/],
      [
        'too few labels',
        'deployment_duration_seconds/observe',
        { value: '1', labels: 'x' },
        /takes 2 labels \(target, status\), got 1/,
      ],
      [
        'too many labels',
        'queue_depth/set',
        { value: '1', labels: 'a,b' },
        /takes 1 label \(project\), got 2/,
      ],
      ['no labels where some are needed', 'queue_depth/set', { value: '1' }, /takes 1 label/],
      [
        'a value outside a closed set',
        'deployment_duration_seconds/observe',
        { value: '1', labels: 'x,flaky' },
        /label status must be one of success, failed; got 'flaky'/,
      ],
      ['an empty label value', 'builds_total/inc', { labels: ',success' }, /label project is empty/],
      [
        'observe on a counter',
        'builds_total/observe',
        { value: '1', labels: 'p,success' },
        /counter: it has no observe/,
      ],
      ['set on a counter', 'builds_total/set', { value: '1', labels: 'p,success' }, /counter: it has no set/],
      ['dec on a counter', 'builds_total/dec', { labels: 'p,success' }, /counter: it has no dec/],
      [
        'inc on a histogram',
        'deployment_duration_seconds/inc',
        { labels: 'x,success' },
        /histogram: it has no inc/,
      ],
      ['observe on a gauge', 'queue_depth/observe', { value: '1', labels: 'p' }, /gauge: it has no observe/],
      [
        'a negative counter increment',
        'builds_total/inc',
        { value: '-1', labels: 'p,success' },
        /only goes up/,
      ],
      [
        'an empty value, as `-F value=$COUNT` sends with COUNT unset',
        'builds_total/inc',
        { value: '', labels: 'p,success' },
        /value is empty/,
      ],
      [
        'a label value longer than 1024 characters',
        'queue_depth/set',
        { value: '1', labels: 'x'.repeat(1025) },
        /label project is longer than 1024 characters/,
      ],
      [
        'an unknown field',
        'builds_total/inc',
        { labels: 'p,success', colour: 'red' },
        /unknown field 'colour'/,
      ],
    ];
    for (const [what, path, fields, reason] of cases) {
      it(`for ${what}`, async () => {
        const res = await push(app.url, `/api/${path}`, fields);
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(res.body.error ?? '', reason);
      });
    }

    it('for fields sent in the query string, which would otherwise count 1', async () => {
      const res = await fetch(`${app.url}/api/plain_total/inc?value=5`, {
        method: 'POST',
        headers: { 'X-Private-Token': TOKEN },
      });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /query string/);
      assert.equal(sample(await getMetrics(app.url), 'delivery_plain_total'), undefined);
    });

    it('for a JSON value that is null, or too large for a number (named as sent)', async () => {
      const empty = await pushJson(app.url, '/api/builds_total/inc', { value: null, labels: 'p,success' });
      assert.equal(empty.status, 400);
      assert.match(empty.body.error ?? '', /value is empty/);
      const huge = await pushJson(app.url, '/api/builds_total/inc', '{"value":1e400,"labels":"p,success"}');
      assert.equal(huge.status, 400);
      assert.equal(huge.body.error, 'value Infinity is not a finite number');
      assert.equal(
        sample(await getMetrics(app.url), 'delivery_builds_total{project="p",result="success"}'),
        undefined,
      );
    });

    it('for JSON that does not parse', async () => {
      const res = await pushJson(app.url, '/api/queue_depth/set', '{"value": 1,');
      assert.equal(res.status, 400);
      assert.match(res.body.error ?? '', /not valid JSON/);
    });

    it('for a label value that is a list or an object, however deeply nested, without echoing it', async () => {
      const deep = `{"labels":[${'['.repeat(10_000)}${']'.repeat(10_000)},"success"]}`;
      const res = await pushJson(app.url, '/api/builds_total/inc', deep);
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'label value a list is not a string');
      const object = await pushJson(app.url, '/api/builds_total/inc', { labels: [{ a: 1 }, 'success'] });
      assert.equal(object.status, 400);
      assert.equal(object.body.error, 'label value an object is not a string');
    });

    it('for labels by name with a missing or unknown label', async () => {
      const missing = await pushJson(app.url, '/api/builds_total/inc', { labels: { project: 'p' } });
      assert.equal(missing.status, 400);
      assert.match(missing.body.error ?? '', /needs label result/);
      const unknown = await pushJson(app.url, '/api/builds_total/inc', {
        labels: { project: 'p', result: 'success', x: 'y' },
      });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error ?? '', /has no label x/);
    });

    it('and changes nothing', async () => {
      await push(app.url, '/api/deployment_duration_seconds/observe', { value: 'abc', labels: 'x,success' });
      await push(app.url, '/api/deployment_duration_seconds/observe', { value: '5', labels: 'x,flaky' });
      const text = await getMetrics(app.url);
      assert.doesNotMatch(text, /^delivery_deployment_duration_seconds_count/m);
      assert.equal(
        sample(text, 'delivery_push_requests_total{metric="deployment_duration_seconds",outcome="invalid"}'),
        2,
      );
    });
  });

  it('answers 400 to a push whose total would no longer be finite, and still restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-finite-'));
    const env = { AUTH_TOKEN: TOKEN, METRICS_CATALOG: CATALOG, DATA_DIR: dir };
    const first = await startTestApp(env);
    try {
      const huge = '1.7e308';
      const inc = { value: huge, labels: 'acme/api' };
      assert.equal((await push(first.url, '/api/queue_depth/inc', inc)).status, 200);
      const over = await push(first.url, '/api/queue_depth/inc', inc);
      assert.equal(over.status, 400);
      assert.match(JSON.stringify(over.body), /finite/);
      const observe = { value: huge, labels: 'x,success' };
      assert.equal((await push(first.url, '/api/deployment_duration_seconds/observe', observe)).status, 200);
      assert.equal((await push(first.url, '/api/deployment_duration_seconds/observe', observe)).status, 400);
      const text = await getMetrics(first.url);
      assert.equal(sample(text, 'delivery_queue_depth{project="acme/api"}'), 1.7e308);
      assert.equal(
        sample(text, 'delivery_deployment_duration_seconds_count{target="x",status="success"}'),
        1,
      );
      assert.doesNotMatch(text, /(Inf|null|NaN)$/m);
      await first.stop();
      // The same numbers after a restart on the same DATA_DIR.
      const again = await startTestApp(env);
      try {
        const after = await getMetrics(again.url);
        assert.equal(sample(after, 'delivery_queue_depth{project="acme/api"}'), 1.7e308);
        assert.equal(
          sample(after, 'delivery_deployment_duration_seconds_count{target="x",status="success"}'),
          1,
        );
      } finally {
        await again.stop();
      }
    } finally {
      await first.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 401 for a missing or wrong token and counts it', async () => {
    const missing = await push(app.url, '/api/queue_depth/set', { value: '1', labels: 'p' }, null);
    assert.equal(missing.status, 401);
    const wrong = await push(app.url, '/api/queue_depth/set', { value: '1', labels: 'p' }, 'not-the-token');
    assert.equal(wrong.status, 401);
    const prefix = await push(
      app.url,
      '/api/queue_depth/set',
      { value: '1', labels: 'p' },
      TOKEN.slice(0, -1),
    );
    assert.equal(prefix.status, 401);
    const del = await fetch(`${app.url}/api/queue_depth`, { method: 'DELETE' });
    assert.equal(del.status, 401);
    const text = await getMetrics(app.url);
    assert.equal(
      sample(text, 'delivery_push_requests_total{metric="queue_depth",outcome="unauthorized"}'),
      4,
    );
    assert.equal(sample(text, 'delivery_queue_depth{project="p"}'), undefined);
  });

  it('answers 404 for a metric not in the catalog and for an unknown operation', async () => {
    const unknown = await push(app.url, '/api/nope_total/inc', {});
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error ?? '', /unknown metric 'nope_total'/);
    const op = await push(app.url, '/api/queue_depth/frobnicate', { value: '1', labels: 'p' });
    assert.equal(op.status, 404);
    assert.match(op.body.error ?? '', /unknown operation/);
    // Names outside the catalog are not label values: they would be unbounded.
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_push_requests_total{metric="unknown",outcome="unknown_metric"}'), 1);
    // The metric exists: an operation it lacks is a bad request, not an unknown metric.
    assert.equal(sample(text, 'delivery_push_requests_total{metric="queue_depth",outcome="invalid"}'), 1);
    assert.equal(
      sample(text, 'delivery_push_requests_total{metric="queue_depth",outcome="unknown_metric"}'),
      undefined,
    );
  });

  it('answers 415 for a content type it cannot read', async () => {
    const res = await fetch(`${app.url}/api/queue_depth/set`, {
      method: 'POST',
      headers: { 'X-Private-Token': TOKEN, 'Content-Type': 'text/plain' },
      body: 'value=1',
    });
    assert.equal(res.status, 415);
  });

  it('answers 413 for a body over the push limit', async () => {
    const res = await fetch(`${app.url}/api/queue_depth/set`, {
      method: 'POST',
      headers: { 'X-Private-Token': TOKEN, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `value=1&labels=${'x'.repeat(1024 * 1024 + 1)}`,
    });
    assert.equal(res.status, 413);
  });

  it('refuses new series past the budget with 400 and counts them, but still updates existing ones', async () => {
    assert.equal((await push(app.url, '/api/limited_total/inc', { labels: 'a' })).status, 200);
    assert.equal((await push(app.url, '/api/limited_total/inc', { labels: 'b' })).status, 200);
    const refused = await push(app.url, '/api/limited_total/inc', { labels: 'c' });
    assert.equal(refused.status, 400);
    assert.match(refused.body.error ?? '', /budget/);
    assert.equal((await push(app.url, '/api/limited_total/inc', { labels: 'd' })).status, 400);
    assert.equal((await push(app.url, '/api/limited_total/inc', { labels: 'a' })).status, 200);
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_series_dropped_total{metric="delivery_limited_total"}'), 2);
    assert.equal(sample(text, 'delivery_push_requests_total{metric="limited_total",outcome="dropped"}'), 2);
    assert.equal(sample(text, 'delivery_limited_total{name="a"}'), 2);
    assert.equal(sample(text, 'delivery_limited_total{name="c"}'), undefined);
  });

  it('DELETE with fields is refused: it would clear every series of the metric, not the one named', async () => {
    await push(app.url, '/api/queue_depth/set', { value: '3', labels: 'p' });
    const withBody = await fetch(`${app.url}/api/queue_depth`, {
      method: 'DELETE',
      headers: { 'X-Private-Token': TOKEN, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'labels=p',
    });
    assert.equal(withBody.status, 400);
    assert.match(((await withBody.json()) as { error: string }).error, /takes no fields/);
    const withQuery = await fetch(`${app.url}/api/queue_depth?labels=p`, {
      method: 'DELETE',
      headers: { 'X-Private-Token': TOKEN },
    });
    assert.equal(withQuery.status, 400);
    assert.equal(sample(await getMetrics(app.url), 'delivery_queue_depth{project="p"}'), 3);
  });

  it('DELETE clears a metric, and a cartesian one comes back with every combination at 0', async () => {
    await push(app.url, '/api/queue_depth/set', { value: '3', labels: 'p' });
    await push(app.url, '/api/lights/set', { value: '7', labels: 'red,on' });
    assert.equal(
      (await fetch(`${app.url}/api/queue_depth`, { method: 'DELETE', headers: { 'X-Private-Token': TOKEN } }))
        .status,
      200,
    );
    assert.equal(
      (await fetch(`${app.url}/api/lights`, { method: 'DELETE', headers: { 'X-Private-Token': TOKEN } }))
        .status,
      200,
    );
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_queue_depth{project="p"}'), undefined);
    const lights = text.split('\n').filter((l) => l.startsWith('delivery_lights{'));
    assert.deepEqual(lights.sort(), [
      'delivery_lights{color="green",state="off"} 0',
      'delivery_lights{color="green",state="on"} 0',
      'delivery_lights{color="red",state="off"} 0',
      'delivery_lights{color="red",state="on"} 0',
    ]);
  });

  it('starts with the catalog of SPEC section 6 and resets its open label cartesian by the values it had', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dm-spec-catalog-'));
    const catalog = join(dir, 'catalog.yaml');
    // SPEC section 6's example, as written there: `target` is an open label.
    writeFileSync(
      catalog,
      [
        'metrics:',
        '  deployment_duration_seconds:',
        '    type: histogram            # counter | gauge | histogram',
        '    help: Duration of a deployment pipeline',
        '    labels: [target, status]   # positional order for the push API',
        '    values: {status: [success, failed]}   # optional closed sets',
        '    buckets: [300, 900, 1800, 3600, 7200, 14400, 28800]',
        '    reset: cartesian           # optional: DELETE re-creates every combination at 0',
        '    max_series: 10000          # optional series budget of this metric (default 10000)',
        'experiments:',
        '  foo_total: {type: counter, help: Number of foo, labels: [result], values: {result: [success, failed]}}',
        '',
      ].join('\n'),
    );
    const spec = await startTestApp({ AUTH_TOKEN: TOKEN, METRICS_CATALOG: catalog });
    try {
      for (const labels of ['coordinator_pipeline,success', 'web,failed']) {
        const res = await push(spec.url, '/api/deployment_duration_seconds/observe', {
          value: '600',
          labels,
        });
        assert.equal(res.status, 200);
      }
      const del = await fetch(`${spec.url}/api/deployment_duration_seconds`, {
        method: 'DELETE',
        headers: { 'X-Private-Token': TOKEN },
      });
      assert.equal(del.status, 200);
      const counts = (await getMetrics(spec.url))
        .split('\n')
        .filter((l) => l.startsWith('delivery_deployment_duration_seconds_count{'));
      assert.deepEqual(counts.sort(), [
        'delivery_deployment_duration_seconds_count{target="coordinator_pipeline",status="failed"} 0',
        'delivery_deployment_duration_seconds_count{target="coordinator_pipeline",status="success"} 0',
        'delivery_deployment_duration_seconds_count{target="web",status="failed"} 0',
        'delivery_deployment_duration_seconds_count{target="web",status="success"} 0',
      ]);
    } finally {
      await spec.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves experiments under delivery_experiments_ and counts them', async () => {
    assert.equal((await push(app.url, '/api/foo_total/inc', { labels: 'success' })).status, 200);
    assert.equal((await push(app.url, '/api/experiments_foo_total/inc', { labels: 'success' })).status, 200);
    assert.equal((await push(app.url, '/api/bar_seconds/observe', { value: '2' })).status, 200);
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_experiments_foo_total{result="success"}'), 2);
    assert.equal(sample(text, 'delivery_experiments_bar_seconds_count'), 1);
    assert.equal(sample(text, 'delivery_experiments_bar_seconds_bucket{le="10"}'), 1);
    assert.equal(sample(text, 'delivery_experiments_total'), 2);
  });

  it('GET /api describes the catalog without a token', async () => {
    const res = await fetch(`${app.url}/api`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      metrics: Array<Record<string, unknown>>;
      experiments: Array<Record<string, unknown>>;
    };
    const hist = body.metrics.find((m) => m.name === 'deployment_duration_seconds');
    assert.deepEqual(hist, {
      name: 'deployment_duration_seconds',
      metric: 'delivery_deployment_duration_seconds',
      type: 'histogram',
      help: 'Duration of a deployment pipeline',
      labels: ['target', 'status'],
      values: { status: ['success', 'failed'] },
      buckets: [300, 900, 1800, 3600, 7200, 14400, 28800],
      operations: ['observe'],
      reset: 'clear',
      max_series: 10000,
    });
    assert.deepEqual(
      body.experiments.map((e) => e.metric),
      ['delivery_experiments_foo_total', 'delivery_experiments_bar_seconds'],
    );
  });

  it('answers 503 when the store is unavailable, and readiness says so', async () => {
    assert.equal((await fetch(`${app.url}/-/ready`)).status, 200);
    await app.service.store.close();
    const res = await push(app.url, '/api/queue_depth/set', { value: '2', labels: 'p' });
    assert.equal(res.status, 503);
    assert.match(res.body.error ?? '', /store/);
    assert.equal((await fetch(`${app.url}/-/ready`)).status, 503);
    assert.equal((await fetch(`${app.url}/health`)).status, 503);
    assert.equal((await fetch(`${app.url}/-/healthy`)).status, 200);
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_push_requests_total{metric="queue_depth",outcome="unavailable"}'), 1);
  });
});

describe('push API without AUTH_TOKEN', () => {
  it('answers 403 to every push', async () => {
    const app = await startTestApp({});
    try {
      const res = await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' });
      assert.equal(res.status, 403);
      assert.match(res.body.error ?? '', /set AUTH_TOKEN/);
      assert.equal((await fetch(`${app.url}/api/deployments_total`, { method: 'DELETE' })).status, 403);
      assert.equal((await fetch(`${app.url}/api`)).status, 200);
    } finally {
      await app.stop();
    }
  });

  it('accepts either value of a rotating token list', async () => {
    const app = await startTestApp({ AUTH_TOKEN: 'old-token, new-token' });
    try {
      assert.equal(
        (await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, 'old-token')).status,
        200,
      );
      assert.equal(
        (await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, 'new-token')).status,
        200,
      );
      assert.equal(
        (await push(app.url, '/api/deployments_total/inc', { labels: 'x,success' }, 'old-token, new-token'))
          .status,
        401,
      );
    } finally {
      await app.stop();
    }
  });
});
