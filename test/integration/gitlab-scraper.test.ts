import assert from 'node:assert/strict';
import { eventMetrics } from '../helpers/event-metrics.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeGitlab } from '../helpers/fake-api/fake-gitlab.js';
import { mulberry32 } from '../helpers/fake-api/server.js';
import { deploymentHook, GITLAB_SECRET, pipelineHook, postGitlab } from '../helpers/gitlab.js';
import { simulateGitlab } from '../helpers/gitlab-simulation.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';

const API_TOKEN = 'gitlab-read-api-token';
const MAX_RPS = 4;

describe('GitLab scraper against a fake GitLab API (SPEC section 8)', function () {
  this.timeout(60_000);
  let fake: FakeGitlab;
  const apps: TestApp[] = [];
  const sim = simulateGitlab(Date.now() / 1000);

  beforeEach(async () => {
    fake = await FakeGitlab.start({ token: API_TOKEN, limitPerSecond: MAX_RPS });
    sim.apply(fake);
    fake.addRunner({
      id: 1,
      description: 'shared',
      runner_type: 'group_type',
      status: 'online',
      groups: ['acme'],
    });
    fake.addRunner({
      id: 2,
      description: 'old',
      runner_type: 'group_type',
      status: 'offline',
      groups: ['acme'],
    });
    fake.addRunner({
      id: 3,
      description: 'paused',
      runner_type: 'group_type',
      status: 'online',
      paused: true,
      groups: ['acme'],
    });
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    await fake.close();
  });

  async function start(extra: Record<string, string> = {}): Promise<TestApp> {
    const app = await startTestApp({
      GITLAB_WEBHOOK_TOKEN_ACME: GITLAB_SECRET,
      GITLAB_URL: fake.url,
      GITLAB_TOKEN: API_TOKEN,
      GITLAB_GROUPS: 'acme',
      API_MAX_RPS: String(MAX_RPS),
      // Runs are started by the test, not by the clock.
      SCRAPE_SCHEDULE: '0 0 1 1 *',
      ...extra,
    });
    apps.push(app);
    return app;
  }

  async function deliver(app: TestApp, keep: (i: number) => boolean): Promise<number> {
    let sent = 0;
    for (const [i, hook] of sim.hooks.entries()) {
      if (!keep(i)) continue;
      const res = await postGitlab(app.url, hook.body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      sent++;
    }
    return sent;
  }

  it('repairs dropped webhooks: the numbers equal a run where every webhook arrived, nothing twice', async () => {
    const full = await start();
    await deliver(full, () => true);
    assert.equal(fake.requestCount(), 0, 'the webhook path makes no API call');
    const expected = eventMetrics(await getMetrics(full.url));
    assert.ok(
      expected.some((l) => l.startsWith('delivery_deployment_runs_total{')),
      'the scenario deploys',
    );
    assert.ok(
      expected.some((l) => l.startsWith('delivery_merge_requests_merged_total{')),
      'the scenario merges',
    );

    const random = mulberry32(42);
    const partial = await start();
    const sent = await deliver(partial, (i) => !(sim.hooks[i]?.repairable === true && random() < 0.45));
    assert.ok(
      sent < sim.hooks.length * 0.8,
      `only ${sim.hooks.length - sent} of ${sim.hooks.length} hooks dropped`,
    );
    assert.notDeepEqual(eventMetrics(await getMetrics(partial.url)), expected);

    await partial.service.scrapers.runOnce();
    assert.deepEqual(eventMetrics(await getMetrics(partial.url)), expected);
    // Again: nothing counted twice.
    await partial.service.scrapers.runOnce();
    assert.deepEqual(eventMetrics(await getMetrics(partial.url)), expected);
    assert.ok(fake.maxPerSecond() <= MAX_RPS, `the fake saw ${fake.maxPerSecond()} requests in one second`);
    assert.equal(fake.requestCount({ status: 429 }), 0);
    // The service that saw every hook finds nothing to repair.
    await new Promise((r) => setTimeout(r, 1000));
    await full.service.scrapers.runOnce();
    assert.deepEqual(eventMetrics(await getMetrics(full.url)), expected);
    const text = await getMetrics(partial.url);
    assert.equal(sample(text, 'delivery_runners{source="gitlab",scope="group",status="online"}'), 1);
    assert.equal(sample(text, 'delivery_runners{source="gitlab",scope="group",status="offline"}'), 1);
    assert.equal(sample(text, 'delivery_runners{source="gitlab",scope="group",status="paused"}'), 1);
    assert.ok((sample(text, 'delivery_scrape_last_success_timestamp_seconds{scraper="gitlab"}') ?? 0) > 0);
  });

  it('runs on SCRAPE_SCHEDULE by itself, one run at a time', async () => {
    const app = await start({ SCRAPE_SCHEDULE: '* * * * * *' });
    const deadline = Date.now() + 10_000;
    while (
      sample(await getMetrics(app.url), 'delivery_scrape_duration_seconds_count{scraper="gitlab"}') ===
      undefined
    ) {
      assert.ok(Date.now() < deadline, 'no scraper run within 10 s of a once-a-second schedule');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(
      eventMetrics(await getMetrics(app.url)).some((l) => l.startsWith('delivery_pipeline_runs_total{')),
    );
    // Overlapping ticks join the run going on: each project's pipelines were listed once per run.
    const lists = fake.requestCount({ path: '/api/v4/projects/101/pipelines' });
    const runs =
      sample(await getMetrics(app.url), 'delivery_scrape_duration_seconds_count{scraper="gitlab"}') ?? 0;
    assert.ok(lists <= runs + 1, `${lists} pipeline lists for ${runs} finished runs`);
  });

  it('a run with nothing new costs one request per project, plus the runner list', async () => {
    const app = await start();
    await app.service.scrapers.runOnce();
    fake.resetLog();
    await app.service.scrapers.runOnce();
    const paths = fake
      .requests()
      .map((r) => r.path)
      .sort();
    assert.deepEqual(paths, ['/api/v4/groups/acme/runners', '/api/v4/projects/101/pipelines']);
  });

  it('misses no pipeline when one is updated while the list is read page by page', async () => {
    fake.limitPerSecond = 200;
    const now = Date.now();
    const ids = Array.from({ length: 150 }, (_, i) => 20_000 + i);
    for (const [i, id] of ids.entries()) {
      const updated = now - 3600_000 + i * 10_000;
      fake.addPipeline(101, {
        id,
        ref: 'main',
        status: i === 4 ? 'running' : 'success',
        created_at: updated - 120_000,
        started_at: updated - 100_000,
        updated_at: updated,
        finished_at: i === 4 ? null : updated,
      });
    }
    // Pipeline 20004 finishes right after the first page is served: it moves to the end of the
    // list, and with page numbers the pipeline that moved up onto page 1 was never read.
    let moved = false;
    fake.afterReply = (r) => {
      if (moved || r.path !== '/api/v4/projects/101/pipelines') return;
      moved = true;
      fake.updatePipeline(101, 20_004, {
        status: 'success',
        updated_at: Date.now(),
        finished_at: Date.now(),
      });
    };
    const app = await start({ API_MAX_RPS: '100' });
    await app.service.scrapers.runOnce();
    await app.service.scrapers.runOnce();
    assert.ok(moved);
    const unread = ids.filter(
      (id) => fake.requestCount({ path: `/api/v4/projects/101/pipelines/${id}` }) === 0,
    );
    assert.deepEqual(unread, []);
  });

  it('reads every pipeline when more than a page of them were updated in the same millisecond', async () => {
    fake.limitPerSecond = 200;
    const updated = Date.now() - 3600_000;
    const ids = Array.from({ length: 150 }, (_, i) => 30_000 + i);
    for (const id of ids) {
      fake.addPipeline(101, {
        id,
        ref: 'main',
        status: 'success',
        created_at: updated - 120_000,
        started_at: updated - 100_000,
        updated_at: updated,
        finished_at: updated,
      });
    }
    const app = await start({ API_MAX_RPS: '100' });
    await app.service.scrapers.runOnce();
    const unread = ids.filter(
      (id) => fake.requestCount({ path: `/api/v4/projects/101/pipelines/${id}` }) === 0,
    );
    assert.deepEqual(unread, []);
  });

  it('pages by X-Next-Page when no Link header comes (a proxy dropped it): every job of a pipeline read', async () => {
    fake.limitPerSecond = 200;
    fake.noLinkHeader = true;
    const now = Date.now();
    fake.addPipeline(101, {
      id: 40_000,
      ref: 'main',
      status: 'success',
      created_at: now - 600_000,
      started_at: now - 590_000,
      updated_at: now - 60_000,
      finished_at: now - 60_000,
    });
    // More jobs than one page (100) holds.
    for (let i = 0; i < 130; i++) {
      fake.addJob(101, 40_000, {
        id: 400_000 + i,
        name: `shard ${i}`,
        stage: 'test',
        status: 'success',
        created_at: now - 600_000,
        started_at: now - 500_000,
        finished_at: now - 100_000,
        runner_type: 'instance_type',
      });
    }
    const app = await start({ API_MAX_RPS: '100' });
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    const jobs = text
      .split('\n')
      .filter((l) => l.startsWith('delivery_job_runs_total{') && l.includes('stage="test",job="shard '))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.equal(jobs, 130);
  });

  it('a backfill shorter than the outage leaves the checkpoint where it was: the next run repairs the outage', async () => {
    const pipeline = (id: number, updated: number) => ({
      id,
      ref: 'main',
      status: 'success' as const,
      created_at: updated - 120_000,
      started_at: updated - 100_000,
      updated_at: updated,
      finished_at: updated,
    });
    // A project of its own: the simulation's pipelines are recent.
    fake.addProject({ id: 140, path_with_namespace: 'acme/outage', default_branch: 'main' });
    fake.addPipeline(140, pipeline(40_000, Date.now() - 8 * 3600_000));
    const app = await start({ SCRAPE_LOOKBACK: '12h' });
    await app.service.scrapers.runOnce();
    // While the service was down: a pipeline 5 hours ago. Then a backfill of the last hour only.
    fake.addPipeline(140, pipeline(40_001, Date.now() - 5 * 3600_000));
    await app.service.scrapers.runOnce({ lookbackSeconds: 3600 });
    await app.service.scrapers.runOnce();
    assert.equal(fake.requestCount({ path: '/api/v4/projects/140/pipelines/40000' }), 1);
    assert.equal(fake.requestCount({ path: '/api/v4/projects/140/pipelines/40001' }), 1);
  });

  it('labels a project given by id with its path, under a relative URL root and on quiet runs', async () => {
    const rooted = await FakeGitlab.start({ token: API_TOKEN, root: '/gitlab' });
    try {
      sim.apply(rooted);
      const now = Date.now();
      rooted.addPipeline(101, {
        id: 9200,
        ref: 'main',
        status: 'running',
        created_at: now - 60_000,
        updated_at: now - 30_000,
        started_at: now - 50_000,
      });
      const app = await startTestApp({
        GITLAB_WEBHOOK_TOKEN_ACME: GITLAB_SECRET,
        GITLAB_URL: `${rooted.url}/gitlab`,
        GITLAB_TOKEN: API_TOKEN,
        GITLAB_PROJECTS: '101',
        API_MAX_RPS: '50',
        SCRAPE_SCHEDULE: '0 0 1 1 *',
      });
      apps.push(app);
      await app.service.scrapers.runOnce();
      // Nothing new: no pipeline to learn the path from, yet the same labels.
      await app.service.scrapers.runOnce();
      const text = await getMetrics(app.url);
      assert.equal(
        sample(
          text,
          'delivery_pipelines_active{source="gitlab",project="acme/payments-api",state="running"}',
        ),
        1,
      );
      assert.doesNotMatch(text, /project="(gitlab\/[^"]*|)"/);
    } finally {
      await rooted.close();
    }
  });

  it('counts what is pending or running now', async () => {
    const now = Date.now();
    fake.addPipeline(101, {
      id: 9100,
      ref: 'main',
      status: 'running',
      created_at: now - 60_000,
      updated_at: now - 30_000,
      started_at: now - 50_000,
    });
    fake.addPipeline(101, {
      id: 9101,
      ref: 'main',
      status: 'pending',
      created_at: now - 20_000,
      updated_at: now - 20_000,
    });
    fake.addPipeline(101, {
      id: 9102,
      ref: 'main',
      status: 'created',
      created_at: now - 10_000,
      updated_at: now - 10_000,
    });
    const app = await start();
    await app.service.scrapers.runOnce();
    let text = await getMetrics(app.url);
    assert.equal(
      sample(text, 'delivery_pipelines_active{source="gitlab",project="acme/payments-api",state="running"}'),
      1,
    );
    assert.equal(
      sample(text, 'delivery_pipelines_active{source="gitlab",project="acme/payments-api",state="pending"}'),
      2,
    );
    fake.updatePipeline(101, 9100, {
      status: 'success',
      updated_at: Date.now(),
      finished_at: Date.now(),
      duration: 55,
      queued_duration: 10,
    });
    // Blocked on a manual job: waiting for a person, not for a runner.
    fake.updatePipeline(101, 9101, { status: 'manual', updated_at: Date.now() });
    await app.service.scrapers.runOnce();
    text = await getMetrics(app.url);
    assert.equal(
      sample(text, 'delivery_pipelines_active{source="gitlab",project="acme/payments-api",state="running"}'),
      0,
    );
    assert.equal(
      sample(text, 'delivery_pipelines_active{source="gitlab",project="acme/payments-api",state="pending"}'),
      1,
    );
    assert.equal(
      sample(
        text,
        'delivery_pipeline_runs_total{source="gitlab",project="acme/payments-api",pipeline="push",ref="main",status="success"}',
      ),
      3,
    );
  });

  it('repairs the finished jobs of a pipeline blocked on a manual job, which may stay blocked for good', async () => {
    const now = Date.now();
    fake.addPipeline(101, {
      id: 9300,
      ref: 'main',
      status: 'manual',
      created_at: now - 300_000,
      updated_at: now,
    });
    fake.addJob(101, 9300, {
      id: 93001,
      name: 'gated-build',
      stage: 'gated',
      status: 'success',
      created_at: now - 300_000,
      started_at: now - 295_000,
      finished_at: now - 100_000,
      runner_type: 'instance_type',
    });
    fake.addJob(101, 9300, {
      id: 93002,
      name: 'gated-deploy',
      stage: 'gated',
      status: 'manual',
      created_at: now - 300_000,
    });
    const app = await start();
    await app.service.scrapers.runOnce();
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    const P = 'source="gitlab",project="acme/payments-api"';
    const gated = (job: string, status: string) =>
      sample(text, `delivery_job_runs_total{${P},ref="main",stage="gated",job="${job}",status="${status}"}`);
    assert.equal(gated('gated-build', 'success'), 1);
    assert.equal(
      sample(
        text,
        `delivery_job_duration_seconds_sum{${P},ref="main",stage="gated",job="gated-build",status="success"}`,
      ),
      195,
    );
    assert.doesNotMatch(text, /^delivery_job_runs_total\{[^}]*job="gated-deploy"/m, 'the manual job waits');
  });

  it('counts release pressure: merges into the default branch after the latest successful deployment', async () => {
    const now = Date.now();
    fake.addMergeRequest(101, {
      id: 801,
      iid: 81,
      target_branch: 'main',
      source_branch: 'a',
      state: 'merged',
      created_at: now - 7_200_000,
      updated_at: now - 60_000,
      merged_at: now - 60_000,
    });
    fake.addMergeRequest(101, {
      id: 802,
      iid: 82,
      target_branch: 'release',
      source_branch: 'b',
      state: 'merged',
      created_at: now - 7_200_000,
      updated_at: now - 60_000,
      merged_at: now - 60_000,
    });
    const app = await start();
    await app.service.scrapers.runOnce();
    assert.equal(
      sample(
        await getMetrics(app.url),
        'delivery_merge_requests_undeployed{source="gitlab",project="acme/payments-api",environment="production"}',
      ),
      1,
    );
  });

  it('counts release pressure of a project given by id, whose default branch is unknown, by TRACKED_REFS', async () => {
    const now = Date.now();
    for (const [id, target] of [
      [803, 'main'],
      [804, 'release'],
    ] as const) {
      fake.addMergeRequest(101, {
        id,
        iid: id - 720,
        target_branch: target,
        source_branch: `s${id}`,
        state: 'merged',
        created_at: now - 7_200_000,
        updated_at: now - 60_000,
        merged_at: now - 60_000,
      });
    }
    const app = await start({ GITLAB_GROUPS: '', GITLAB_PROJECTS: '101' });
    await app.service.scrapers.runOnce();
    assert.equal(
      sample(
        await getMetrics(app.url),
        'delivery_merge_requests_undeployed{source="gitlab",project="acme/payments-api",environment="production"}',
      ),
      1,
    );
  });

  it('does not count again the deployments of a project given by path before a pipeline told its id', async () => {
    const own = await FakeGitlab.start({ token: API_TOKEN });
    try {
      own.addProject({ id: 101, path_with_namespace: 'acme/payments-api', default_branch: 'main' });
      const now = Date.now();
      own.addEnvironment(101, { id: 960, name: 'production', state: 'available' });
      own.addDeployment(101, {
        id: 9600,
        status: 'success',
        created_at: now - 3_600_000,
        updated_at: now - 3_000_000,
        finished_at: now - 3_000_000,
        environment: { id: 960, name: 'production' },
      });
      const app = await startTestApp({
        GITLAB_WEBHOOK_TOKEN_ACME: GITLAB_SECRET,
        GITLAB_URL: own.url,
        GITLAB_TOKEN: API_TOKEN,
        GITLAB_PROJECTS: 'acme/payments-api',
        API_MAX_RPS: '50',
        SCRAPE_SCHEDULE: '0 0 1 1 *',
      });
      apps.push(app);
      const at = new Date(now - 3_000_000).toISOString();
      const res = await postGitlab(app.url, deploymentHook({ id: 9600, status: 'success', at }));
      assert.equal(res.status, 200);
      await app.service.scrapers.runOnce();
      assert.equal(
        sample(
          await getMetrics(app.url),
          'delivery_deployment_runs_total{source="gitlab",project="acme/payments-api",environment="production",status="success"}',
        ),
        1,
      );
    } finally {
      await own.close();
    }
  });

  it('counts release pressure since a deployment older than SCRAPE_LOOKBACK; repairs only the lookback', async () => {
    const own = await FakeGitlab.start({ token: API_TOKEN });
    try {
      own.addGroup('acme');
      own.addProject({ id: 101, path_with_namespace: 'acme/payments-api', default_branch: 'main' });
      const now = Date.now();
      const day = 24 * 3600_000;
      own.addEnvironment(101, { id: 950, name: 'canary', state: 'available' });
      own.addDeployment(101, {
        id: 9500,
        status: 'success',
        created_at: now - 3 * day - 600_000,
        updated_at: now - 3 * day,
        finished_at: now - 3 * day,
        environment: { id: 950, name: 'canary' },
      });
      // Merged 4 days ago (deployed since), 2 days ago and an hour ago (both waiting).
      for (const [i, ago] of [4 * day, 2 * day, 3600_000].entries()) {
        own.addMergeRequest(101, {
          id: 850 + i,
          iid: 85 + i,
          target_branch: 'main',
          source_branch: `c${i}`,
          state: 'merged',
          created_at: now - ago - 600_000,
          updated_at: now - ago,
          merged_at: now - ago,
        });
      }
      const app = await startTestApp({
        GITLAB_URL: own.url,
        GITLAB_TOKEN: API_TOKEN,
        GITLAB_GROUPS: 'acme',
        API_MAX_RPS: '50',
        SCRAPE_SCHEDULE: '0 0 1 1 *',
      });
      apps.push(app);
      await app.service.scrapers.runOnce();
      const text = await getMetrics(app.url);
      const P = 'source="gitlab",project="acme/payments-api"';
      assert.equal(sample(text, `delivery_merge_requests_undeployed{${P},environment="canary"}`), 2);
      // Repair looks back SCRAPE_LOOKBACK (24 h): only the last merge is counted as one.
      assert.equal(sample(text, `delivery_merge_requests_merged_total{${P},ref="main"}`), 1);
    } finally {
      await own.close();
    }
  });

  describe('a pipeline that changes between the list and its reading', () => {
    const P = 'source="gitlab",project="acme/payments-api"';
    const runs = (text: string, status: string) =>
      sample(text, `delivery_pipeline_runs_total{${P},pipeline="push",ref="main",status="${status}"}`);
    const jobRuns = (text: string, status: string) =>
      sample(text, `delivery_job_runs_total{${P},ref="main",stage="test",job="rspec",status="${status}"}`);
    let own: FakeGitlab;
    beforeEach(async () => {
      own = await FakeGitlab.start({ token: API_TOKEN });
      own.addProject({ id: 101, path_with_namespace: 'acme/payments-api', default_branch: 'main' });
    });
    afterEach(() => own.close());

    const startOwn = async () => {
      const app = await startTestApp({
        GITLAB_URL: own.url,
        GITLAB_TOKEN: API_TOKEN,
        GITLAB_WEBHOOK_TOKEN_ACME: GITLAB_SECRET,
        GITLAB_PROJECTS: 'acme/payments-api',
        API_MAX_RPS: '50',
        SCRAPE_SCHEDULE: '0 0 1 1 *',
      });
      apps.push(app);
      return app;
    };

    for (const hooked of [false, true])
      it(`a failed pipeline retried after the list was read counts its failure once, then its success${hooked ? ' (its failure came by webhook too)' : ''}`, async () => {
        const now = Date.now();
        own.addPipeline(101, {
          id: 41_000,
          ref: 'main',
          status: 'failed',
          created_at: now - 600_000,
          started_at: now - 590_000,
          finished_at: now - 300_000,
          updated_at: now - 300_000,
        });
        own.addJob(101, 41_000, {
          id: 410_001,
          name: 'rspec',
          stage: 'test',
          status: 'failed',
          created_at: now - 600_000,
          started_at: now - 590_000,
          finished_at: now - 300_000,
        });
        // Retried right after the list showed it failed: the detail and jobs say running.
        let retried = false;
        own.afterReply = (r) => {
          if (retried || !/^\/api\/v4\/projects\/[^/]+\/pipelines$/.test(r.path)) return;
          retried = true;
          own.updateJob(101, 410_001, { retried: true });
          own.addJob(101, 41_000, {
            id: 410_002,
            name: 'rspec',
            stage: 'test',
            status: 'pending',
            created_at: Date.now(),
          });
          own.updatePipeline(101, 41_000, { status: 'running', updated_at: Date.now(), finished_at: null });
        };
        const app = await startOwn();
        if (hooked) {
          const failedAt = new Date(now - 300_000).toISOString();
          const hook = pipelineHook({ id: 41_000, status: 'failed', finishedAt: failedAt, duration: 290 });
          assert.equal((await postGitlab(app.url, hook)).status, 200);
        }
        await app.service.scrapers.runOnce();
        assert.ok(retried, 'the pipeline was retried between the list and the detail');
        let text = await getMetrics(app.url);
        assert.equal(jobRuns(text, 'failed'), 1);
        assert.equal(runs(text, 'failed'), 1, 'the failure the list showed is counted, once');
        assert.equal(sample(text, `delivery_pipeline_up{${P},pipeline="push",ref="main"}`), 0);

        // The retry succeeds: the pipeline is listed again (its updated_at moved) and counts once.
        const done = Date.now();
        own.updateJob(101, 410_002, { status: 'success', started_at: done - 2000, finished_at: done });
        own.updatePipeline(101, 41_000, { status: 'success', updated_at: done, finished_at: done });
        await app.service.scrapers.runOnce();
        await app.service.scrapers.runOnce();
        text = await getMetrics(app.url);
        assert.equal(runs(text, 'failed'), 1);
        assert.equal(runs(text, 'success'), 1);
        assert.equal(jobRuns(text, 'failed'), 1);
        assert.equal(jobRuns(text, 'success'), 1);
        assert.equal(sample(text, `delivery_pipeline_up{${P},pipeline="push",ref="main"}`), 1);
      });
  });

  it('a pipeline updated weeks after it finished (a manual job played) counts only what is new', async () => {
    const day = 86_400_000;
    const clock = new FakeClock(Date.UTC(2026, 10, 1, 12, 0));
    const own = await FakeGitlab.start({ token: API_TOKEN });
    try {
      own.addProject({ id: 101, path_with_namespace: 'acme/payments-api', default_branch: 'main' });
      const t0 = clock.now();
      // Finished: its deploy gate (a manual job allowed to fail) leaves it successful.
      own.addPipeline(101, {
        id: 42_000,
        ref: 'main',
        status: 'success',
        created_at: t0 - 3_600_000,
        started_at: t0 - 3_590_000,
        finished_at: t0 - 1_800_000,
        updated_at: t0 - 1_800_000,
      });
      own.addJob(101, 42_000, {
        id: 420_001,
        name: 'build',
        stage: 'build',
        status: 'success',
        created_at: t0 - 3_600_000,
        started_at: t0 - 3_590_000,
        finished_at: t0 - 1_800_000,
      });
      own.addJob(101, 42_000, {
        id: 420_002,
        name: 'deploy',
        stage: 'deploy',
        status: 'manual',
        allow_failure: true,
        created_at: t0 - 3_600_000,
      });
      const app = await startTestApp(
        {
          GITLAB_URL: own.url,
          GITLAB_TOKEN: API_TOKEN,
          GITLAB_PROJECTS: 'acme/payments-api',
          API_MAX_RPS: '50',
          SCRAPE_SCHEDULE: '0 0 1 1 *',
        },
        { clock },
      );
      apps.push(app);
      await app.service.scrapers.runOnce();
      const P = 'source="gitlab",project="acme/payments-api"';
      const counts = async () => {
        const text = await getMetrics(app.url);
        return {
          pipeline: sample(
            text,
            `delivery_pipeline_runs_total{${P},pipeline="push",ref="main",status="success"}`,
          ),
          queued: sample(text, `delivery_pipeline_queued_seconds_count{${P},pipeline="push",ref="main"}`),
          build: sample(
            text,
            `delivery_job_runs_total{${P},ref="main",stage="build",job="build",status="success"}`,
          ),
          deploy: sample(
            text,
            `delivery_job_runs_total{${P},ref="main",stage="deploy",job="deploy",status="success"}`,
          ),
          last: sample(text, `delivery_pipeline_last_run_timestamp_seconds{${P},pipeline="push",ref="main"}`),
          jobQueued: sample(text, `delivery_job_queued_seconds_count{${P},runner_type="unknown"}`),
        };
      };
      assert.deepEqual(await counts(), {
        pipeline: 1,
        queued: 1,
        build: 1,
        deploy: undefined,
        last: (t0 - 1_800_000) / 1000,
        jobQueued: 1,
      });

      // Three weeks later, past the lifecycle state's 14 days, the deploy is played.
      clock.advance(21 * 86_400);
      const t1 = clock.now();
      own.updateJob(101, 420_002, { status: 'success', started_at: t1 - 120_000, finished_at: t1 - 60_000 });
      own.updatePipeline(101, 42_000, {
        status: 'success',
        updated_at: t1 - 60_000,
        finished_at: t1 - 60_000,
      });
      await app.service.scrapers.runOnce();
      assert.ok(t1 - t0 > 14 * day);
      assert.deepEqual(await counts(), {
        pipeline: 1,
        queued: 1,
        build: 1,
        deploy: 1,
        last: (t1 - 60_000) / 1000,
        jobQueued: 2,
      });
    } finally {
      await own.close();
    }
  });

  describe('a bad day at the API', () => {
    const errors = async (app: TestApp, kind: string) =>
      sample(await getMetrics(app.url), `delivery_scrape_errors_total{scraper="gitlab",kind="${kind}"}`) ?? 0;

    it('API down: the service keeps serving, errors are counted, the next run recovers', async () => {
      const app = await start();
      await fake.setDown(true);
      await app.service.scrapers.runOnce();
      assert.equal((await fetch(`${app.url}/-/healthy`)).status, 200);
      assert.ok((await errors(app, 'network')) > 0);
      await fake.setDown(false);
      await app.service.scrapers.runOnce();
      assert.ok(
        eventMetrics(await getMetrics(app.url)).some((l) => l.startsWith('delivery_pipeline_runs_total{')),
      );
    });

    it('401: counted as auth, nothing recorded', async () => {
      const app = await start({ GITLAB_TOKEN: 'wrong-token' });
      await app.service.scrapers.runOnce();
      assert.ok((await errors(app, 'auth')) > 0);
      assert.equal(eventMetrics(await getMetrics(app.url)).length, 0);
    });

    it('500, malformed JSON and timeouts: counted by kind, and the next run recovers', async () => {
      const app = await start();
      // This service gets only what the API cannot show afterwards; the scraper brings the rest.
      await deliver(app, (i) => sim.hooks[i]?.repairable === false);
      const full = await start();
      await deliver(full, () => true);
      fake.failNext(1, '500', { path: /\/pipelines\/9001$/ });
      fake.failNext(1, 'malformed', { path: /\/pipelines\/9002\/jobs$/ });
      fake.failNext(1, 'timeout', { path: /\/pipelines\/9003$/ });
      await app.service.scrapers.runOnce();
      assert.equal(await errors(app, 'upstream_5xx'), 1);
      assert.equal(await errors(app, 'bad_payload'), 1);
      assert.equal(await errors(app, 'timeout'), 1);
      await app.service.scrapers.runOnce();
      assert.deepEqual(eventMetrics(await getMetrics(app.url)), eventMetrics(await getMetrics(full.url)));
    });

    it('a pipeline answered {} is an error and read again; a reset connection is tried again', async () => {
      const app = await start();
      await deliver(app, (i) => sim.hooks[i]?.repairable === false);
      const full = await start();
      await deliver(full, () => true);
      fake.failNext(1, 'empty', { path: /\/pipelines\/9001$/ });
      fake.failNext(1, 'reset', { path: /\/pipelines\/9002\/jobs$/ });
      await app.service.scrapers.runOnce();
      assert.equal(await errors(app, 'bad_payload'), 1);
      assert.equal(await errors(app, 'network'), 0, 'the reset request was tried again');
      // Nothing of 9001 (main) was counted under a ref it does not have.
      assert.doesNotMatch(
        await getMetrics(app.url),
        /^delivery_job_runs_total\{[^}]*ref="branch"[^}]*job="(build|deploy)"/m,
      );
      await app.service.scrapers.runOnce();
      assert.deepEqual(eventMetrics(await getMetrics(app.url)), eventMetrics(await getMetrics(full.url)));
    });

    it('a token that may not list runners (403): no runner gauges, no error, the run succeeds', async () => {
      const app = await start();
      fake.failNext(1, '403', { path: /\/runners/ });
      await app.service.scrapers.runOnce();
      const text = await getMetrics(app.url);
      assert.equal(await errors(app, 'auth'), 0);
      assert.doesNotMatch(text, /^delivery_runners\{/m);
      assert.ok((sample(text, 'delivery_scrape_last_success_timestamp_seconds{scraper="gitlab"}') ?? 0) > 0);
      // Readable again: counted. Any other failure of that list is an error, and keeps the last
      // counts rather than showing runners gone.
      await app.service.scrapers.runOnce();
      const online = 'delivery_runners{source="gitlab",scope="group",status="online"}';
      assert.equal(sample(await getMetrics(app.url), online), 1);
      fake.failNext(1, '500', { path: /\/runners/ });
      await app.service.scrapers.runOnce();
      assert.equal(await errors(app, 'upstream_5xx'), 1);
      assert.equal(sample(await getMetrics(app.url), online), 1);
    });

    it('a list answered with something not a list ({}) is bad_payload, and keeps the last runner counts', async () => {
      const app = await start();
      await app.service.scrapers.runOnce();
      const online = 'delivery_runners{source="gitlab",scope="group",status="online"}';
      const paused = 'delivery_runners{source="gitlab",scope="group",status="paused"}';
      assert.equal(sample(await getMetrics(app.url), online), 1);
      fake.failNext(1, 'empty', { path: /\/runners$/ });
      fake.failNext(1, 'empty', { path: /\/environments$/ });
      await app.service.scrapers.runOnce({ lookbackSeconds: 3600 });
      const text = await getMetrics(app.url);
      assert.equal(sample(text, online), 1, 'a runner did not go away');
      assert.equal(sample(text, paused), 1);
      assert.equal(await errors(app, 'bad_payload'), 2);
      assert.equal(await errors(app, 'other'), 0);
    });

    it('429 past the limit: waits as Retry-After says and stays within API_MAX_RPS', async () => {
      await fake.close();
      fake = await FakeGitlab.start({ token: API_TOKEN, limitPerSecond: 2 });
      sim.apply(fake);
      const app = await start();
      await app.service.scrapers.runOnce();
      const rateLimited = await errors(app, 'rate_limited');
      const answered429 = fake.requestCount({ status: 429 });
      assert.ok(answered429 > 0, 'the fake answered 429');
      // Every 429 was tried again after the pause, so the run still completes the work.
      assert.ok(
        eventMetrics(await getMetrics(app.url)).some((l) => l.startsWith('delivery_pipeline_runs_total{')),
      );
      assert.ok(rateLimited <= answered429);
    });
  });
});
