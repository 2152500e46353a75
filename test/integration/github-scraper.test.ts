import assert from 'node:assert/strict';
import { eventMetrics } from '../helpers/event-metrics.js';
import { FakeGithub } from '../helpers/fake-api/fake-github.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { mulberry32 } from '../helpers/fake-api/server.js';
import { GITHUB_SECRET, postGithub } from '../helpers/github.js';
import { simulateGithub } from '../helpers/github-simulation.js';
import { getMetrics, sample, startTestApp, type TestApp } from '../helpers/start-app.js';

const API_TOKEN = 'github-read-token';
const MAX_RPS = 4;

describe('GitHub scraper against a fake GitHub API (SPEC section 8)', function () {
  this.timeout(60_000);
  let fake: FakeGithub;
  const apps: TestApp[] = [];
  const sim = simulateGithub(Date.now() / 1000);

  beforeEach(async () => {
    fake = await FakeGithub.start({ token: API_TOKEN, limitPerSecond: MAX_RPS, prefix: '/api/v3' });
    sim.apply(fake);
    fake.addRunner({ org: 'acme-gh' }, { id: 1, name: 'r1', status: 'online', busy: true });
    fake.addRunner({ org: 'acme-gh' }, { id: 2, name: 'r2', status: 'online', busy: false });
    fake.addRunner({ org: 'acme-gh' }, { id: 3, name: 'r3', status: 'offline', busy: false });
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    await fake.close();
  });

  async function start(extra: Record<string, string> = {}): Promise<TestApp> {
    const app = await startTestApp({
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      // GitHub Enterprise Server style: the API under /api/v3.
      GITHUB_API_URL: fake.apiUrl,
      GITHUB_TOKEN: API_TOKEN,
      GITHUB_ORGS: 'acme-gh',
      API_MAX_RPS: String(MAX_RPS),
      SCRAPE_SCHEDULE: '0 0 1 1 *',
      ...extra,
    });
    apps.push(app);
    return app;
  }

  async function deliver(app: TestApp, keep: (i: number) => boolean): Promise<void> {
    for (const [i, hook] of sim.hooks.entries()) {
      if (!keep(i)) continue;
      const res = await postGithub(app.url, hook.event, hook.body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  }

  it('repairs dropped webhooks: the numbers equal a run where every webhook arrived, nothing twice', async () => {
    const full = await start();
    await deliver(full, () => true);
    assert.equal(fake.requestCount(), 0, 'the webhook path makes no API call');
    const expected = eventMetrics(await getMetrics(full.url));
    assert.ok(
      expected.some((l) => l.includes('pipeline=".github/workflows/deploy.yml"')),
      'an empty run name falls back to the path',
    );

    const random = mulberry32(7);
    const partial = await start();
    await deliver(partial, (i) => !(sim.hooks[i]?.repairable === true && random() < 0.5));
    assert.notDeepEqual(eventMetrics(await getMetrics(partial.url)), expected);
    await partial.service.scrapers.runOnce();
    assert.deepEqual(eventMetrics(await getMetrics(partial.url)), expected);
    await partial.service.scrapers.runOnce();
    assert.deepEqual(eventMetrics(await getMetrics(partial.url)), expected);
    assert.ok(fake.maxPerSecond() <= MAX_RPS, `the fake saw ${fake.maxPerSecond()} requests in one second`);

    const text = await getMetrics(partial.url);
    assert.equal(sample(text, 'delivery_runners{source="github",scope="org",status="busy"}'), 1);
    assert.equal(sample(text, 'delivery_runners{source="github",scope="org",status="online"}'), 1);
    assert.equal(sample(text, 'delivery_runners{source="github",scope="org",status="offline"}'), 1);
  });

  it('a run with nothing new costs one request per repository, plus the runner list, and no budget', async () => {
    const app = await start();
    await app.service.scrapers.runOnce();
    const before = await getMetrics(app.url);
    fake.resetLog();
    const used = fake.rateLimitState().used;
    await app.service.scrapers.runOnce();
    assert.deepEqual(
      fake
        .requests()
        .map((r) => r.path)
        .sort(),
      ['/api/v3/orgs/acme-gh/actions/runners', '/api/v3/repos/acme-gh/web/actions/runs'],
    );
    // Both carry the ETag of their last answer: unchanged, GitHub answers 304, which is free.
    assert.equal(fake.requestCount({ status: 304 }), 2);
    assert.equal(fake.rateLimitState().used, used);
    assert.deepEqual(eventMetrics(await getMetrics(app.url)), eventMetrics(before));
    const runners = 'delivery_runners{source="github",scope="org",status="busy"}';
    assert.equal(sample(await getMetrics(app.url), runners), 1);
  });

  it('counts runs in progress, and follows them until they finish', async () => {
    const now = Date.now();
    fake.addRun('acme-gh/web', {
      id: 3100,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      head_branch: 'main',
      status: 'in_progress',
      created_at: now - 60_000,
      updated_at: now - 30_000,
    });
    fake.addRun('acme-gh/web', {
      id: 3101,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      head_branch: 'main',
      status: 'queued',
      created_at: now - 50_000,
      updated_at: now - 50_000,
    });
    const app = await start();
    await app.service.scrapers.runOnce();
    const active = 'delivery_pipelines_active{source="github",project="acme-gh/web",state="running"}';
    const pending = 'delivery_pipelines_active{source="github",project="acme-gh/web",state="pending"}';
    assert.equal(sample(await getMetrics(app.url), active), 1);
    assert.equal(sample(await getMetrics(app.url), pending), 1);
    fake.updateRun('acme-gh/web', 3100, {
      status: 'completed',
      conclusion: 'success',
      updated_at: Date.now(),
    });
    // Completed without an outcome: GitHub gave up on it.
    fake.updateRun('acme-gh/web', 3101, { status: 'completed', conclusion: 'stale', updated_at: Date.now() });
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    assert.equal(sample(text, active), 0);
    assert.equal(sample(text, pending), 0);
    assert.equal(
      sample(
        text,
        'delivery_pipeline_runs_total{source="github",project="acme-gh/web",pipeline="CI",ref="main",status="success"}',
      ),
      3,
    );
  });

  it('repairs a re-run of an older run: same id and place in the list, a new attempt', async () => {
    const created = Date.now() - 2 * 3600_000;
    const run = {
      id: 3200,
      name: 'Rerun CI',
      path: '.github/workflows/rerun.yml',
      head_branch: 'main',
      created_at: created,
    } as const;
    fake.addRepo({ id: 7700, owner: 'acme-gh', name: 'rerun', default_branch: 'main' });
    // A newer run: what the first scrape has seen reaches past the one re-run later.
    fake.addRun('acme-gh/rerun', {
      ...run,
      id: 3201,
      name: 'Other CI',
      path: '.github/workflows/other.yml',
      status: 'completed',
      conclusion: 'success',
      created_at: created + 3600_000,
      updated_at: created + 3660_000,
    });
    fake.addRun('acme-gh/rerun', {
      ...run,
      status: 'completed',
      conclusion: 'failure',
      updated_at: created + 60_000,
    });
    fake.addJob('acme-gh/rerun', 3200, {
      id: 3300,
      name: 'test',
      status: 'completed',
      conclusion: 'failure',
      created_at: created,
      completed_at: created + 60_000,
    });
    const app = await start();
    await app.service.scrapers.runOnce();
    // Re-run an hour later, when newer runs were seen: no webhook tells the service.
    const rerunAt = Date.now();
    fake.updateRun('acme-gh/rerun', 3200, {
      run_attempt: 2,
      conclusion: 'success',
      run_started_at: rerunAt - 60_000,
      updated_at: rerunAt,
    });
    fake.addJob('acme-gh/rerun', 3200, {
      id: 3301,
      run_attempt: 2,
      name: 'test',
      status: 'completed',
      conclusion: 'success',
      created_at: rerunAt - 60_000,
      completed_at: rerunAt,
    });
    await app.service.scrapers.runOnce();
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    const runs = (status: string) =>
      sample(
        text,
        `delivery_pipeline_runs_total{source="github",project="acme-gh/rerun",pipeline="Rerun CI",ref="main",status="${status}"}`,
      );
    assert.equal(runs('failed'), 1);
    assert.equal(runs('success'), 1);
  });

  // GitHub lets a run be re-run up to 30 days after it ran: the same id, a new attempt, new
  // job ids. Its jobs, listed with `filter=all`, are those of every attempt, attempt 1's too,
  // whose 14-day job state is gone by then: they were counted, and must not count again.
  for (const { rerunDay, lasts } of [
    { rerunDay: 20, lasts: 600 },
    // Re-run on its last day, and waits hours for a runner: it finishes past 30 days.
    { rerunDay: 29.9, lasts: 6 * 3600 },
  ]) {
    it(`a run re-run ${rerunDay} days later (finished ${lasts / 60} min after): its first attempt's jobs are not counted again`, async () => {
      const clock = new FakeClock(Date.UTC(2026, 10, 1, 12, 0));
      const own = await FakeGithub.start({ token: API_TOKEN });
      try {
        own.addRepo({ id: 7900, owner: 'acme-gh', name: 'old', default_branch: 'main' });
        const t0 = clock.now();
        const run = {
          id: 4200,
          name: 'CI',
          path: '.github/workflows/ci.yml',
          head_branch: 'main',
          created_at: t0 - 3_600_000,
          run_started_at: t0 - 3_590_000,
        } as const;
        own.addRun('acme-gh/old', {
          ...run,
          status: 'completed',
          conclusion: 'failure',
          updated_at: t0 - 1_800_000,
        });
        const job = (
          id: number,
          attempt: number,
          conclusion: 'success' | 'failure',
          created: number,
          done: number,
        ) =>
          own.addJob('acme-gh/old', 4200, {
            id,
            run_attempt: attempt,
            name: id % 2 === 0 ? 'build' : 'test',
            status: 'completed',
            conclusion,
            created_at: created,
            started_at: created + 10_000,
            completed_at: done,
            runner_name: 'GitHub Actions 1',
            runner_group_name: 'GitHub Actions',
          });
        job(4300, 1, 'success', t0 - 3_600_000, t0 - 2_400_000);
        job(4301, 1, 'failure', t0 - 2_400_000, t0 - 1_800_000);
        const app = await startTestApp(
          {
            GITHUB_API_URL: own.apiUrl,
            GITHUB_TOKEN: API_TOKEN,
            GITHUB_REPOS: 'acme-gh/old',
            API_MAX_RPS: '50',
            SCRAPE_SCHEDULE: '0 0 1 1 *',
          },
          { clock },
        );
        apps.push(app);
        await app.service.scrapers.runOnce();
        const P = 'source="github",project="acme-gh/old"';
        const counts = async () => {
          const text = await getMetrics(app.url);
          const jobs = (name: string, status: string) =>
            sample(
              text,
              `delivery_job_runs_total{${P},ref="main",stage="CI",job="${name}",status="${status}"}`,
            );
          return {
            failedRun: sample(
              text,
              `delivery_pipeline_runs_total{${P},pipeline="CI",ref="main",status="failed"}`,
            ),
            successRun: sample(
              text,
              `delivery_pipeline_runs_total{${P},pipeline="CI",ref="main",status="success"}`,
            ),
            build: jobs('build', 'success'),
            testFailed: jobs('test', 'failed'),
            testSuccess: jobs('test', 'success'),
            jobDurations: sample(
              text,
              `delivery_job_duration_seconds_count{${P},ref="main",stage="CI",job="build",status="success"}`,
            ),
            jobQueued: sample(text, `delivery_job_queued_seconds_count{${P},runner_type="github-hosted"}`),
          };
        };
        assert.deepEqual(await counts(), {
          failedRun: 1,
          successRun: undefined,
          build: 1,
          testFailed: 1,
          testSuccess: undefined,
          jobDurations: 1,
          jobQueued: 2,
        });

        // Its failed job is re-run weeks later (attempt 1's job state is gone since day 14).
        clock.advance(rerunDay * 86_400);
        const started = clock.now();
        clock.advance(lasts);
        const t1 = clock.now();
        own.updateRun('acme-gh/old', 4200, {
          run_attempt: 2,
          conclusion: 'success',
          run_started_at: started,
          updated_at: t1,
        });
        job(4303, 2, 'success', started, t1);
        clock.advance(60);
        await app.service.scrapers.runOnce();
        assert.deepEqual(await counts(), {
          failedRun: 1,
          successRun: 1,
          build: 1,
          testFailed: 1,
          testSuccess: 1,
          jobDurations: 1,
          jobQueued: 3,
        });
      } finally {
        await own.close();
      }
    });
  }

  it('a backfill shorter than the outage leaves the checkpoint where it was: the next run repairs the outage', async () => {
    fake.addRepo({ id: 7800, owner: 'acme-gh', name: 'outage', default_branch: 'main' });
    const run = (id: number, created: number) => ({
      id,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      head_branch: 'main',
      status: 'completed' as const,
      conclusion: 'success' as const,
      created_at: created,
      updated_at: created + 60_000,
    });
    fake.addRun('acme-gh/outage', run(3400, Date.now() - 8 * 3600_000));
    const app = await start();
    await app.service.scrapers.runOnce();
    // While the service was down: a run 5 hours ago. Then a backfill of the last hour only.
    fake.addRun('acme-gh/outage', run(3401, Date.now() - 5 * 3600_000));
    await app.service.scrapers.runOnce({ lookbackSeconds: 3600 });
    await app.service.scrapers.runOnce();
    assert.equal(
      sample(
        await getMetrics(app.url),
        'delivery_pipeline_runs_total{source="github",project="acme-gh/outage",pipeline="CI",ref="main",status="success"}',
      ),
      2,
    );
  });

  describe('after an outage of a busy repository: more runs since the checkpoint than 100 pages', () => {
    const OUTAGE_RUNS = 2_400;
    /** Runs a page: the fake serves 10 (as a proxy or an older GitHub Enterprise Server may), so the
     * scraper's 100 unfiltered pages hold 1,000 runs and the outage needs the windows (cut in parts). */
    const PAGE = 10;
    const series = (status: string): string =>
      `delivery_pipeline_runs_total{source="github",project="acme-gh/monorepo",pipeline="CI",ref="main",status="${status}"}`;
    const jobsOf = (r: { path: string }): boolean =>
      /\/acme-gh\/monorepo\/actions\/runs\/\d+\/jobs$/.test(r.path);
    const listsOf = (r: { path: string }): boolean => /\/acme-gh\/monorepo\/actions\/runs$/.test(r.path);
    const run = (id: number, createdMs: number, status: 'completed' | 'in_progress' = 'completed') => ({
      id,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      head_branch: 'main',
      status,
      conclusion:
        status === 'completed' ? (id % 7 === 0 ? ('failure' as const) : ('success' as const)) : null,
      created_at: createdMs,
      updated_at: createdMs + 60_000,
    });
    let now: number;

    beforeEach(async () => {
      // No per-second limit and a large hourly budget: the outage's runs each need their jobs read.
      await fake.close();
      fake = await FakeGithub.start({
        token: API_TOKEN,
        prefix: '/api/v3',
        hourlyBudget: 1_000_000,
        maxPerPage: PAGE,
      });
      fake.addRepo({ id: 7900, owner: 'acme-gh', name: 'monorepo', default_branch: 'main' });
      now = Math.floor(Date.now() / 1000) * 1000;
      // Before the outage: a run still in progress, and a newer finished one (the checkpoint).
      fake.addRun('acme-gh/monorepo', run(10, now - 20 * 3600_000, 'in_progress'));
      fake.addRun('acme-gh/monorepo', run(11, now - 19.9 * 3600_000));
    });

    /** The outage: OUTAGE_RUNS finished runs in bursts of 1 to 4 a second (one of 250 in one second), and the run in progress finishes. */
    function outage(): void {
      const random = mulberry32(11);
      let at = now - 19 * 3600_000;
      let inSecond = 0;
      for (let i = 0; i < OUTAGE_RUNS; i++) {
        const id = 100_000 + i;
        fake.addRun('acme-gh/monorepo', run(id, at));
        if (id % 100 === 0) {
          fake.addJob('acme-gh/monorepo', id, {
            id: id * 10,
            name: 'build',
            status: 'completed',
            conclusion: 'success',
            created_at: at,
            completed_at: at + 30_000,
          });
        }
        const burst = i >= 1000 && i < 1250 ? 250 : 1 + Math.floor(random() * 4);
        if (++inSecond >= burst) {
          inSecond = 0;
          at += 5000;
        }
      }
      fake.updateRun('acme-gh/monorepo', 10, { status: 'completed', conclusion: 'success', updated_at: now });
    }

    const expected = (ids: number[]) => ({
      success: ids.filter((id) => id % 7 !== 0).length,
      failed: ids.filter((id) => id % 7 === 0).length,
    });
    const allIds = (): number[] => [10, 11, ...Array.from({ length: OUTAGE_RUNS }, (_, i) => 100_000 + i)];

    it('repairs every finished run since the checkpoint, each counted once', async function () {
      this.timeout(300_000);
      const app = await start({ API_MAX_RPS: '5000' });
      await app.service.scrapers.runOnce();
      outage();
      fake.resetLog();
      await app.service.scrapers.runOnce();
      const text = await getMetrics(app.url);
      const want = expected(allIds());
      assert.deepEqual(
        { success: sample(text, series('success')), failed: sample(text, series('failed')) },
        want,
      );
      assert.equal(
        sample(
          text,
          'delivery_job_runs_total{source="github",project="acme-gh/monorepo",ref="main",stage="CI",job="build",status="success"}',
        ),
        OUTAGE_RUNS / 100,
      );
      // Each run's jobs read once: the outage's and the run that was in progress.
      assert.equal(fake.requestCount(jobsOf), OUTAGE_RUNS + 1);
      const lists = fake.requestCount(listsOf);
      assert.ok(lists <= OUTAGE_RUNS / PAGE + 40, `${lists} requests for the runs lists`);
      assert.equal(
        sample(text, 'delivery_pipelines_active{source="github",project="acme-gh/monorepo",state="running"}'),
        0,
      );

      // Nothing new: the same numbers, no jobs read again, and a quiet run is one request again.
      await app.service.scrapers.runOnce();
      fake.resetLog();
      await app.service.scrapers.runOnce();
      const again = await getMetrics(app.url);
      assert.deepEqual(
        { success: sample(again, series('success')), failed: sample(again, series('failed')) },
        want,
      );
      assert.equal(fake.requestCount(jobsOf), 0);
      assert.equal(fake.requestCount(listsOf), 1);
    });

    it('a run cut short while reading by creation time keeps the checkpoint: the next one finishes, nothing twice', async function () {
      this.timeout(300_000);
      const app = await start({ API_MAX_RPS: '5000' });
      await app.service.scrapers.runOnce();
      outage();
      fake.resetLog();
      // The 8th query by creation time fails: the repository's run ends there.
      let windows = 0;
      fake.failNext(1, '500', (r) => listsOf(r) && r.query.has('created') && ++windows === 8);
      await app.service.scrapers.runOnce();
      const cut = await getMetrics(app.url);
      const read = (sample(cut, series('success')) ?? 0) + (sample(cut, series('failed')) ?? 0);
      assert.ok(read > 100 * PAGE && read < OUTAGE_RUNS + 2, `${read} runs counted before the failure`);
      await app.service.scrapers.runOnce();
      const text = await getMetrics(app.url);
      assert.deepEqual(
        { success: sample(text, series('success')), failed: sample(text, series('failed')) },
        expected(allIds()),
      );
      // Runs counted before the failure were not read again.
      assert.equal(fake.requestCount(jobsOf), OUTAGE_RUNS + 1);
    });
  });

  it('runs in progress that lie deeper than the pages are looked up by a few requests, not one a creation second every run', async () => {
    // 5 runs a page (as a proxy may serve): the scraper's 100 pages hold 500 runs.
    await fake.close();
    fake = await FakeGithub.start({
      token: API_TOKEN,
      prefix: '/api/v3',
      hourlyBudget: 1_000_000,
      maxPerPage: 5,
    });
    fake.addRepo({ id: 7901, owner: 'acme-gh', name: 'queue', default_branch: 'main' });
    const now = Math.floor(Date.now() / 1000) * 1000;
    const run = (id: number, createdMs: number, status: 'completed' | 'queued') => ({
      id,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      head_branch: 'main',
      status,
      conclusion: status === 'completed' ? ('success' as const) : null,
      created_at: createdMs,
      updated_at: createdMs,
    });
    // A self-hosted runner is down: 40 runs wait in the queue, one every 10 s.
    for (let i = 0; i < 40; i++)
      fake.addRun('acme-gh/queue', run(1000 + i, now - 3 * 3600_000 + i * 10_000, 'queued'));
    const app = await start({ API_MAX_RPS: '5000' });
    await app.service.scrapers.runOnce();
    // Then 510 runs on hosted runners push them deeper than the pages.
    for (let i = 0; i < 510; i++)
      fake.addRun('acme-gh/queue', run(5000 + i, now - 3600_000 + i * 1000, 'completed'));
    await app.service.scrapers.runOnce();
    const lookups = (r: { path: string; query: URLSearchParams }): boolean =>
      /\/acme-gh\/queue\/actions\/runs$/.test(r.path) && r.query.has('created');
    // Nothing new: the queued runs are looked up again, at a cost like reading them (40 runs, 5 a page).
    fake.resetLog();
    await app.service.scrapers.runOnce();
    assert.ok(fake.requestCount(lookups) <= 12, `${fake.requestCount(lookups)} look-ups`);
    const active = 'delivery_pipelines_active{source="github",project="acme-gh/queue",state="pending"}';
    assert.equal(sample(await getMetrics(app.url), active), 40);
    // They all start and finish: each counted once.
    for (let i = 0; i < 40; i++)
      fake.updateRun('acme-gh/queue', 1000 + i, { status: 'completed', conclusion: 'success' });
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    assert.equal(sample(text, active), 0);
    assert.equal(
      sample(
        text,
        'delivery_pipeline_runs_total{source="github",project="acme-gh/queue",pipeline="CI",ref="main",status="success"}',
      ),
      550,
    );
  });

  it('follows the runs list’s Link header when pages hold fewer runs than asked for', async () => {
    await fake.close();
    fake = await FakeGithub.start({ token: API_TOKEN, prefix: '/api/v3', maxPerPage: 1 });
    sim.apply(fake);
    const app = await start({ API_MAX_RPS: '50' });
    await deliver(app, (i) => sim.hooks[i]?.repairable === false);
    await app.service.scrapers.runOnce();
    const full = await start();
    await deliver(full, () => true);
    assert.deepEqual(eventMetrics(await getMetrics(app.url)), eventMetrics(await getMetrics(full.url)));
  });

  it('leaves out an org repository whose runs it may not read (403, 404: Actions off) without failing the run', async () => {
    const app = await start();
    fake.failNext(1, '403', { path: /\/actions\/runs$/ });
    fake.failNext(1, '403', { path: /\/orgs\/acme-gh\/actions\/runners$/ });
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_scrape_errors_total{scraper="github",kind="auth"}'), undefined);
    assert.ok((sample(text, 'delivery_scrape_last_success_timestamp_seconds{scraper="github"}') ?? 0) > 0);
    // The only runner list was not readable: no runner gauges rather than zeros.
    assert.doesNotMatch(text, /^delivery_runners\{source="github"/m);
  });

  it('a runner list answered with something not a list ({}) is bad_payload, and keeps the last counts', async () => {
    const app = await start();
    await app.service.scrapers.runOnce();
    const offline = 'delivery_runners{source="github",scope="org",status="offline"}';
    assert.equal(sample(await getMetrics(app.url), offline), 1);
    fake.failNext(1, 'empty', { path: /\/orgs\/acme-gh\/actions\/runners$/ });
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    assert.equal(sample(text, offline), 1, 'no phantom runner');
    assert.equal(sample(text, 'delivery_runners{source="github",scope="org",status="busy"}'), 1);
    assert.equal(sample(text, 'delivery_scrape_errors_total{scraper="github",kind="bad_payload"}'), 1);
  });

  it('an org’s repository list answered without its repositories ({}) is bad_payload', async () => {
    const app = await start();
    fake.failNext(1, 'empty', { path: /\/orgs\/acme-gh\/repos$/ });
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    assert.equal(sample(text, 'delivery_scrape_errors_total{scraper="github",kind="bad_payload"}'), 1);
    assert.equal(sample(text, 'delivery_scrape_errors_total{scraper="github",kind="other"}'), undefined);
  });

  it('survives a bad day: 401, 500, malformed JSON, API down; the next run recovers', async () => {
    const app = await start();
    await deliver(app, (i) => sim.hooks[i]?.repairable === false);
    fake.failNext(1, '401');
    await app.service.scrapers.runOnce();
    fake.failNext(1, '500', { path: /\/runs\/3001\/jobs$/ });
    fake.failNext(1, 'malformed', { path: /\/runs\/3002\/jobs$/ });
    await app.service.scrapers.runOnce();
    await fake.setDown(true);
    await app.service.scrapers.runOnce();
    assert.equal((await fetch(`${app.url}/-/healthy`)).status, 200);
    await fake.setDown(false);
    await app.service.scrapers.runOnce();
    const text = await getMetrics(app.url);
    for (const kind of ['auth', 'upstream_5xx', 'bad_payload', 'network']) {
      assert.ok(
        (sample(text, `delivery_scrape_errors_total{scraper="github",kind="${kind}"}`) ?? 0) > 0,
        kind,
      );
    }
    const full = await start();
    await deliver(full, () => true);
    assert.deepEqual(eventMetrics(text), eventMetrics(await getMetrics(full.url)));
  });
});
