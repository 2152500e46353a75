import assert from 'node:assert/strict';
import { eventMetrics } from '../helpers/event-metrics.js';
import { FakeGithub } from '../helpers/fake-api/fake-github.js';
import { FakeGitlab } from '../helpers/fake-api/fake-gitlab.js';
import { type FakeHttpServer, type FaultKind, mulberry32 } from '../helpers/fake-api/server.js';
import { GITHUB_SECRET, postGithub } from '../helpers/github.js';
import { simulateGithub } from '../helpers/github-simulation.js';
import { GITLAB_SECRET, postGitlab } from '../helpers/gitlab.js';
import { simulateGitlab } from '../helpers/gitlab-simulation.js';
import { getMetrics, startTestApp, type TestApp } from '../helpers/start-app.js';

/**
 * Seeded fault-injection soak (SPEC section 8): a seeded share of the simulation's webhooks is
 * dropped, the rest delivered, then the scraper runs several times while the fake API answers
 * a seeded share of requests with faults, then a few runs without. The event series must end
 * equal to a service that got every webhook, and the error counters must show the faults.
 */
const SEEDS = process.env.SOAK_SEED === undefined ? [20261203, 20261204] : [Number(process.env.SOAK_SEED)];
let SEED = 0;
const MAX_RPS = 20;
const FAULTY_RUNS = 6;
const CLEAN_RUNS = 2;
const TIMEOUT_MS = 300;
const KINDS: readonly FaultKind[] = [
  '429',
  'ratelimit',
  '500',
  '502',
  '503',
  'cut',
  'empty',
  'malformed',
  'timeout',
];

function errorCounts(text: string, scraper: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(
    `^delivery_scrape_errors_total\\{scraper="${scraper}",kind="([a-z_0-9]+)"\\} (\\d+)`,
    'gm',
  );
  for (const m of text.matchAll(re)) out[m[1]!] = Number(m[2]);
  return out;
}

function faultsSeen(fake: FakeHttpServer): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of fake.requests()) if (r.fault !== null) out[r.fault] = (out[r.fault] ?? 0) + 1;
  return out;
}

describe('scrapers under seeded random API faults (SPEC section 8 soak)', function () {
  this.timeout(60_000);
  const apps: TestApp[] = [];
  let fakes: FakeHttpServer[] = [];
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.error(`soak seed: SOAK_SEED=${SEED}`);
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    await Promise.all(fakes.map((f) => (f as FakeGitlab).close()));
    fakes = [];
  });

  async function soak(
    source: string,
    fake: FakeHttpServer,
    env: Record<string, string>,
    hooks: ReadonlyArray<{ repairable: boolean }>,
    post: (app: TestApp, i: number) => Promise<{ status: number; body: unknown }>,
  ): Promise<void> {
    const start = async () => {
      const app = await startTestApp(
        { ...env, API_MAX_RPS: String(MAX_RPS), SCRAPE_SCHEDULE: '0 0 1 1 *' },
        { requestTimeoutMs: TIMEOUT_MS },
      );
      apps.push(app);
      return app;
    };
    const deliver = async (app: TestApp, keep: (i: number) => boolean) => {
      let sent = 0;
      for (let i = 0; i < hooks.length; i++) {
        if (!keep(i)) continue;
        const res = await post(app, i);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        sent++;
      }
      return sent;
    };
    const began = Date.now();
    const full = await start();
    await deliver(full, () => true);
    const expected = eventMetrics(await getMetrics(full.url));
    assert.ok(expected.length > 0);

    const random = mulberry32(SEED);
    const partial = await start();
    const sent = await deliver(partial, (i) => !(hooks[i]?.repairable === true && random() < 0.5));
    assert.ok(sent < hooks.length, 'some hooks dropped');
    assert.notDeepEqual(eventMetrics(await getMetrics(partial.url)), expected);

    fake.failRandomly({ rate: 0.4, kinds: KINDS, seed: SEED });
    for (let i = 0; i < FAULTY_RUNS; i++) await partial.service.scrapers.runOnce();
    fake.clearFaults();
    const seen = faultsSeen(fake);
    for (let i = 0; i < CLEAN_RUNS; i++) await partial.service.scrapers.runOnce();
    const text = await getMetrics(partial.url);
    const errors = errorCounts(text, source);
    const context = `seed ${SEED}; faults answered ${JSON.stringify(seen)}; errors counted ${JSON.stringify(errors)}`;
    assert.deepEqual(eventMetrics(text), expected, context);
    // Once more: nothing counted twice.
    await partial.service.scrapers.runOnce();
    assert.deepEqual(eventMetrics(await getMetrics(partial.url)), expected, context);
    // The faults were seen: every kind the fake answered that cannot be tried again shows up.
    const total = Object.values(errors).reduce((a, b) => a + b, 0);
    assert.ok(total > 0, context);
    if ((seen['500'] ?? 0) > 0) assert.ok((errors.upstream_5xx ?? 0) > 0, context);
    if ((seen.timeout ?? 0) > 0) assert.ok((errors.timeout ?? 0) > 0, context);
    if ((seen.empty ?? 0) + (seen.malformed ?? 0) > 0) assert.ok((errors.bad_payload ?? 0) > 0, context);
    assert.ok(fake.maxPerSecond({ fault: null }) <= MAX_RPS, context);
    console.log(`    ${source} soak: ${Date.now() - began} ms, ${context}`);
  }

  it('GitLab: dropped webhooks, faulty runs, then clean runs equal every webhook arriving', async () => {
    for (SEED of SEEDS) await gitlabSoak();
  });

  async function gitlabSoak(): Promise<void> {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    const sim = simulateGitlab(Date.now() / 1000);
    const fake = await FakeGitlab.start({ token: 'gl-token', limitPerSecond: MAX_RPS });
    fakes.push(fake);
    sim.apply(fake);
    fake.addRunner({
      id: 1,
      description: 'shared',
      runner_type: 'group_type',
      status: 'online',
      groups: ['acme'],
    });
    await soak(
      'gitlab',
      fake,
      {
        GITLAB_WEBHOOK_TOKEN_ACME: GITLAB_SECRET,
        GITLAB_URL: fake.url,
        GITLAB_TOKEN: 'gl-token',
        GITLAB_GROUPS: 'acme',
      },
      sim.hooks,
      (app, i) => postGitlab(app.url, sim.hooks[i]!.body),
    );
  }

  it('GitHub: dropped webhooks, faulty runs, then clean runs equal every webhook arriving', async () => {
    for (SEED of SEEDS) await githubSoak();
  });

  async function githubSoak(): Promise<void> {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
    const sim = simulateGithub(Date.now() / 1000);
    const fake = await FakeGithub.start({ token: 'gh-token', limitPerSecond: MAX_RPS, prefix: '/api/v3' });
    fakes.push(fake);
    sim.apply(fake);
    fake.addRunner({ org: 'acme-gh' }, { id: 1, name: 'r1', status: 'online', busy: true });
    await soak(
      'github',
      fake,
      {
        GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
        GITHUB_API_URL: fake.apiUrl,
        GITHUB_TOKEN: 'gh-token',
        GITHUB_ORGS: 'acme-gh',
      },
      sim.hooks,
      (app, i) => postGithub(app.url, sim.hooks[i]!.event, sim.hooks[i]!.body),
    );
  }
});
