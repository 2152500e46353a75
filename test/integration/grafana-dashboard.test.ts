import assert from 'node:assert/strict';
import { asGrafanaSends, dashboard, dashboardTargets } from '../helpers/deploy-files.js';
import {
  deploymentHook,
  GITLAB_SECRET,
  jobHook,
  mergeHook,
  pipelineHook,
  postGitlab,
  releaseHook,
} from '../helpers/gitlab.js';
import { type RealPrometheus, startPrometheus } from '../helpers/prometheus.js';
import { startTestApp, type TestApp } from '../helpers/start-app.js';

interface QueryAnswer {
  status: string;
  error?: string;
  data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

async function query(prometheus: RealPrometheus, expr: string): Promise<QueryAnswer> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as QueryAnswer;
}

/** Grafana's `label_values(selector, label)` asked of Prometheus the way Grafana does: its series API. */
async function labelValues(prometheus: RealPrometheus, definition: string): Promise<string[]> {
  const m = /^label_values\((.+), (\w+)\)$/.exec(asGrafanaSends(definition));
  assert.ok(m, `not a label_values query: ${definition}`);
  const [, selector = '', label = ''] = m;
  const res = await fetch(`${prometheus.url}/api/v1/series?match[]=${encodeURIComponent(selector)}`);
  const body = (await res.json()) as { status: string; data: Array<Record<string, string>> };
  assert.equal(body.status, 'success', definition);
  return [...new Set(body.data.map((s) => s[label] ?? ''))].sort();
}

/** Panels fed only by the scrapers (or by scraper errors): no scraper runs in this test. */
const SCRAPER_ONLY =
  /delivery_(pipelines_active|runners|merge_requests_undeployed|scrape_errors_total|scrape_last_success_timestamp_seconds|api_rate_limit_remaining)\b/;

describe('the Grafana dashboard (k8s/monitoring/grafana-dashboard.json) against a real Prometheus', function () {
  this.timeout(120_000);
  let app: TestApp;
  let prometheus: RealPrometheus | undefined;

  afterEach(async () => {
    await prometheus?.stop();
    await app.stop();
  });

  it('every query runs, and each panel fed by webhooks shows data', async () => {
    app = await startTestApp({ GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET });
    const send = async (body: Record<string, unknown>) => {
      const res = await postGitlab(app.url, body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    };
    const ran = {
      startedAt: '2026-11-20T10:01:00Z',
      finishedAt: '2026-11-20T10:03:00Z',
      duration: 120,
      queued: 60,
    };
    await send(jobHook({ id: 1, status: 'success', runnerType: 'instance_type', ...ran }));
    await send(jobHook({ id: 2, status: 'failed', runnerType: 'instance_type', ...ran }));
    await send(jobHook({ id: 3, status: 'running', runnerType: 'instance_type', startedAt: ran.startedAt }));
    await send(
      pipelineHook({
        id: 5001,
        status: 'failed',
        finishedAt: '2026-11-20 10:10:00 UTC',
        duration: 540,
        queued: 3,
      }),
    );
    await send(deploymentHook({ id: 601, status: 'running', at: '2026-11-20 10:00:00 UTC' }));
    await send(deploymentHook({ id: 601, status: 'failed', at: '2026-11-20 10:05:00 UTC' }));
    await send(deploymentHook({ id: 602, status: 'running', at: '2026-11-20 10:20:00 UTC' }));
    await send(deploymentHook({ id: 602, status: 'success', at: '2026-11-20 10:25:00 UTC' }));
    await send(mergeHook({ id: 301, createdAt: '2026-11-19T10:00:00Z', updatedAt: '2026-11-20T10:00:00Z' }));
    await send(releaseHook({ id: 41 }));

    prometheus = await startPrometheus({ host: '127.0.0.1', port: app.service.port });
    await prometheus.waitFor('sum(delivery_job_runs_total)', (v) => v === 2);
    // Counters that move after Prometheus first saw them, so increase() over the range is > 0.
    await send(jobHook({ id: 4, status: 'failed', runnerType: 'instance_type', ...ran }));
    await send(deploymentHook({ id: 603, status: 'running', at: '2026-11-20 11:00:00 UTC' }));
    await send(deploymentHook({ id: 603, status: 'success', at: '2026-11-20 11:04:00 UTC' }));
    await prometheus.waitFor('sum(delivery_job_runs_total)', (v) => v === 3);
    await prometheus.waitFor('sum(delivery_deployment_runs_total)', (v) => v === 3);
    // A few more scrapes, so every rate window holds two samples or more after the change.
    await new Promise((r) => setTimeout(r, 3000));

    const empty: string[] = [];
    const targets = dashboardTargets();
    assert.ok(targets.length >= 25);
    for (const { panel, expr } of targets) {
      const answer = await query(prometheus, asGrafanaSends(expr));
      assert.equal(answer.status, 'success', `${panel}: ${expr}: ${answer.error}`);
      if ((answer.data?.result.length ?? 0) === 0) empty.push(panel);
      else assert.ok(!SCRAPER_ONLY.test(expr), `${panel} has data without a scraper: ${expr}`);
    }
    // Nothing but the scraper's panels is empty.
    const scraperPanels = [...new Set(targets.filter((t) => SCRAPER_ONLY.test(t.expr)).map((t) => t.panel))];
    assert.deepEqual(empty.sort(), scraperPanels.sort());

    // A few numbers, as Grafana would show them over the last hour.
    const one = async (panel: string) => {
      const target = targets.find((t) => t.panel === panel) ?? assert.fail(panel);
      const answer = await query(prometheus as RealPrometheus, asGrafanaSends(target.expr));
      return Number(answer.data?.result[0]?.value[1]);
    };
    assert.ok((await one('Deployments')) > 0);
    assert.ok((await one('Change failure rate')) >= 0);
    const failing = await query(
      prometheus,
      asGrafanaSends(targets.find((t) => t.panel.startsWith('Failing now'))?.expr ?? ''),
    );
    assert.deepEqual(
      failing.data?.result.map((r) => [r.metric.project, r.metric.pipeline, r.metric.ref]),
      [['acme/payments-api', 'push', 'main']],
    );
    const jobs = await query(
      prometheus,
      asGrafanaSends(targets.find((t) => t.panel === 'Most failed jobs in range')?.expr ?? ''),
    );
    assert.deepEqual(
      jobs.data?.result.map((r) => [r.metric.project, r.metric.exported_job]),
      [['acme/payments-api', 'rspec']],
    );

    // The variables list what the webhooks created.
    const variables = Object.fromEntries(
      dashboard()
        .templating.list.filter((v) => v.type === 'query')
        .map((v) => [v.name, (v.query as { query: string }).query]),
    );
    assert.deepEqual(await labelValues(prometheus, variables.source ?? ''), ['gitlab']);
    assert.deepEqual(await labelValues(prometheus, variables.project ?? ''), ['acme/payments-api']);
    assert.deepEqual(await labelValues(prometheus, variables.environment ?? ''), ['production']);
  });
});

describe('the Grafana dashboard (k8s/monitoring/grafana-dashboard.json), as written', () => {
  it('panels over the whole range ask one instant query; the DORA row and "Failing now" leave out what is not a release', () => {
    const panels = dashboard().panels as Array<{
      title: string;
      type: string;
      targets?: Array<{ expr: string; instant?: boolean }>;
    }>;
    for (const p of panels.filter((x) => x.type === 'stat' || x.type === 'table')) {
      // A range query would compute `increase(...[$__range])` once per step: over 7 days, a
      // thousand evaluations of a week of samples, to show the last one.
      for (const t of p.targets ?? []) assert.equal(t.instant, true, `${p.title}: ${t.expr}`);
    }
    for (const title of ['Deployments', 'Change failure rate', 'Time to restore (median)']) {
      const p = panels.find((x) => x.title === title) ?? assert.fail(title);
      for (const t of p.targets ?? []) assert.match(t.expr, /environment!~"\.\+\/\\\\\*"/, title);
    }
    const failing = panels.find((x) => x.title.startsWith('Failing now')) ?? assert.fail('Failing now');
    assert.match(failing.targets?.[0]?.expr ?? '', /ref!~"merge_request\|branch\|tag"/);
  });
});
