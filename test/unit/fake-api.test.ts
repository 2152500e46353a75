import assert from 'node:assert/strict';
import { FakeGithub } from '../helpers/fake-api/fake-github.js';
import { FakeGitlab } from '../helpers/fake-api/fake-gitlab.js';
import { mulberry32 } from '../helpers/fake-api/server.js';

const TOKEN = 'glpat-secret';
const GH_TOKEN = 'ghp_secret';
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);

function iso(offsetSeconds: number): string {
  return new Date(T0 + offsetSeconds * 1000).toISOString();
}

function gl(fake: FakeGitlab, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${fake.apiUrl}${path}`, { ...init, headers: { 'PRIVATE-TOKEN': TOKEN, ...init.headers } });
}

function gh(fake: FakeGithub, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${fake.apiUrl}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${GH_TOKEN}`, ...init.headers },
  });
}

function links(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (res.headers.get('link') ?? '').split(',')) {
    const m = /<([^>]+)>;\s*rel="([^"]+)"/.exec(part.trim());
    if (m) out[m[2]!] = m[1]!;
  }
  return out;
}

async function ids(res: Response): Promise<number[]> {
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as Array<{ id: number }>).map((x) => x.id);
}

describe('fake GitLab API', () => {
  let fake: FakeGitlab;

  beforeEach(async () => {
    fake = await FakeGitlab.start({ token: TOKEN });
    fake.addProject({ id: 101, path_with_namespace: 'acme/payments-api' });
    fake.addProject({ id: 102, path_with_namespace: 'acme/platform/api' });
    fake.addProject({ id: 103, path_with_namespace: 'acme/platform/tools/cli' });
    fake.addProject({ id: 201, path_with_namespace: 'other/thing' });
  });

  afterEach(async () => {
    await fake.close();
  });

  it('paginates pipelines like GitLab and the X-Next-Page and Link chains reach the end', async () => {
    for (let i = 1; i <= 45; i++) {
      fake.addPipeline(101, {
        id: i,
        ref: 'main',
        status: 'success',
        created_at: iso(i),
        updated_at: iso(i),
      });
    }
    const first = await gl(fake, '/projects/101/pipelines');
    assert.equal(first.headers.get('x-page'), '1');
    assert.equal(first.headers.get('x-per-page'), '20');
    assert.equal(first.headers.get('x-total'), '45');
    assert.equal(first.headers.get('x-total-pages'), '3');
    assert.equal(first.headers.get('x-next-page'), '2');
    assert.equal(first.headers.get('x-prev-page'), '');
    assert.equal(first.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(Object.keys(links(first)), ['next', 'first', 'last']);
    assert.equal(links(first).next, `${fake.url}/api/v4/projects/101/pipelines?id=101&page=2&per_page=20`);
    assert.match(links(first).last!, /page=3&per_page=20$/);
    const page1 = await ids(first);
    assert.deepEqual(
      page1,
      Array.from({ length: 20 }, (_, i) => 45 - i),
    );

    // follow X-Next-Page
    const seen: number[] = [];
    let page = '1';
    while (page !== '') {
      const res = await gl(fake, `/projects/101/pipelines?per_page=20&page=${page}`);
      seen.push(...(await ids(res)));
      page = res.headers.get('x-next-page') ?? '';
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 45 }, (_, i) => 45 - i),
    );

    // follow Link rel="next" (absolute URLs on the fake), with filters kept
    const viaLink: number[] = [];
    let next: string | undefined =
      `${fake.apiUrl}/projects/acme%2Fpayments-api/pipelines?per_page=7&sort=asc`;
    let last: Response | undefined;
    while (next !== undefined) {
      last = await fetch(next, { headers: { 'PRIVATE-TOKEN': TOKEN } });
      viaLink.push(...(await ids(last)));
      next = links(last).next;
    }
    assert.deepEqual(
      viaLink,
      Array.from({ length: 45 }, (_, i) => i + 1),
    );
    assert.equal(last?.headers.get('x-page'), '7');
    assert.equal(last?.headers.get('x-next-page'), '');
    assert.equal(last?.headers.get('x-prev-page'), '6');
    assert.deepEqual(Object.keys(links(last!)), ['prev', 'first', 'last']);
    assert.match(links(last!).prev!, /id=acme%2Fpayments-api&page=6&per_page=7&sort=asc$/);

    // beyond the end: empty, no next/prev; per_page capped at 100; per_page=0 rejected
    const beyond = await gl(fake, '/projects/101/pipelines?page=9');
    assert.deepEqual(await beyond.json(), []);
    assert.equal(beyond.headers.get('x-next-page'), '');
    assert.equal(beyond.headers.get('x-prev-page'), '');
    const big = await gl(fake, '/projects/101/pipelines?per_page=500');
    assert.equal(big.headers.get('x-per-page'), '100');
    assert.equal((await ids(big)).length, 45);
    assert.equal((await gl(fake, '/projects/101/pipelines?per_page=0')).status, 400);
  });

  it('leaves out totals above countLimit, as GitLab does above 10000', async () => {
    const small = await FakeGitlab.start({ countLimit: 5 });
    try {
      small.addProject({ id: 1, path_with_namespace: 'a/b' });
      for (let i = 1; i <= 6; i++) {
        small.addPipeline(1, {
          id: i,
          ref: 'main',
          status: 'success',
          created_at: iso(i),
          updated_at: iso(i),
        });
      }
      const res = await fetch(`${small.apiUrl}/projects/1/pipelines?per_page=2`);
      assert.equal(res.headers.get('x-total'), null);
      assert.equal(res.headers.get('x-total-pages'), null);
      assert.equal(res.headers.get('x-next-page'), '2');
      assert.deepEqual(Object.keys(links(res)), ['next', 'first']);
    } finally {
      await small.close();
    }
  });

  it('filters pipelines by updated_after (inclusive, like GitLab) and orders them', async () => {
    fake.addPipeline(101, { id: 1, ref: 'main', status: 'success', created_at: iso(0), updated_at: iso(50) });
    fake.addPipeline(101, { id: 2, ref: 'main', status: 'failed', created_at: iso(10), updated_at: iso(30) });
    fake.addPipeline(101, { id: 3, ref: 'dev', status: 'running', created_at: iso(20), updated_at: iso(40) });
    fake.addPipeline(101, {
      id: 4,
      ref: 'main',
      status: 'success',
      created_at: iso(30),
      updated_at: iso(10),
    });
    const after = encodeURIComponent(iso(30));
    assert.deepEqual(await ids(await gl(fake, `/projects/101/pipelines?updated_after=${after}`)), [3, 2, 1]);
    assert.deepEqual(
      await ids(
        await gl(fake, `/projects/101/pipelines?updated_after=${after}&order_by=updated_at&sort=asc`),
      ),
      [2, 3, 1],
    );
    assert.deepEqual(
      await ids(await gl(fake, `/projects/101/pipelines?updated_before=${after}&order_by=updated_at`)),
      [2, 4],
    );
    assert.deepEqual(await ids(await gl(fake, '/projects/101/pipelines?status=success&ref=main')), [4, 1]);
    assert.equal((await gl(fake, '/projects/101/pipelines?updated_after=yesterday')).status, 400);
    assert.equal((await gl(fake, '/projects/101/pipelines?order_by=name')).status, 400);

    fake.exclusiveUpdatedBounds = true;
    assert.deepEqual(await ids(await gl(fake, `/projects/101/pipelines?updated_after=${after}`)), [3, 1]);

    fake.updatePipeline(101, 4, { updated_at: iso(99), status: 'failed' });
    assert.deepEqual(await ids(await gl(fake, `/projects/101/pipelines?updated_after=${after}`)), [4, 3, 1]);
  });

  it('lists without durations but shows them on the single pipeline', async () => {
    fake.addPipeline(101, {
      id: 7,
      iid: 3,
      ref: 'main',
      status: 'success',
      name: 'Build',
      created_at: '2026-11-20T10:00:00Z',
      updated_at: '2026-11-20T10:05:00Z',
      started_at: '2026-11-20T10:00:05Z',
      finished_at: '2026-11-20T10:05:00Z',
    });
    const [listed] = (await (await gl(fake, '/projects/101/pipelines')).json()) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(Object.keys(listed!).sort(), [
      'created_at',
      'id',
      'iid',
      'name',
      'project_id',
      'ref',
      'sha',
      'source',
      'status',
      'updated_at',
      'web_url',
    ]);
    assert.equal(listed!.created_at, '2026-11-20T10:00:00.000Z');
    const single = (await (await gl(fake, '/projects/acme%2Fpayments-api/pipelines/7')).json()) as Record<
      string,
      unknown
    >;
    assert.equal(single.duration, 295);
    assert.equal(single.queued_duration, 5);
    assert.equal(single.started_at, '2026-11-20T10:00:05.000Z');
    assert.equal(single.tag, false);
    assert.equal((single.detailed_status as { group: string }).group, 'success');
    assert.equal((await gl(fake, '/projects/101/pipelines/999')).status, 404);
    assert.equal((await gl(fake, '/projects/999/pipelines')).status, 404);
  });

  it('omits retried jobs unless include_retried=true', async () => {
    fake.addPipeline(101, {
      id: 1,
      ref: 'main',
      status: 'success',
      created_at: iso(0),
      updated_at: iso(100),
    });
    const job = { stage: 'test', created_at: iso(0), started_at: iso(2), finished_at: iso(12.5) } as const;
    fake.addJob(101, 1, {
      ...job,
      id: 10,
      name: 'rspec',
      status: 'failed',
      retried: true,
      runner_type: 'instance_type',
    });
    fake.addJob(101, 1, { ...job, id: 11, name: 'rspec', status: 'success', runner_type: 'group_type' });
    fake.addJob(101, 1, { ...job, id: 12, name: 'lint', status: 'success', runner_type: null });
    assert.deepEqual(await ids(await gl(fake, '/projects/101/pipelines/1/jobs')), [12, 11]);
    assert.deepEqual(
      await ids(await gl(fake, '/projects/101/pipelines/1/jobs?include_retried=true')),
      [12, 11, 10],
    );
    assert.deepEqual(
      await ids(await gl(fake, '/projects/101/pipelines/1/jobs?include_retried=true&scope[]=failed')),
      [10],
    );
    assert.equal((await gl(fake, '/projects/101/pipelines/1/jobs?scope[]=bogus')).status, 400);
    const jobs = (await (await gl(fake, '/projects/101/pipelines/1/jobs')).json()) as Array<
      Record<string, unknown>
    >;
    const rspec = jobs.find((j) => j.id === 11)!;
    assert.equal(rspec.duration, 10.5);
    assert.equal(rspec.queued_duration, 2);
    assert.deepEqual(rspec.pipeline, {
      id: 1,
      iid: 1,
      project_id: 101,
      sha: (rspec.pipeline as { sha: string }).sha,
      ref: 'main',
      status: 'success',
      source: 'push',
      created_at: iso(0),
      updated_at: iso(100),
      web_url: `${fake.url}/acme/payments-api/-/pipelines/1`,
      name: null,
    });
    assert.equal((rspec.runner as { runner_type: string }).runner_type, 'group_type');
    assert.equal((rspec.runner as { is_shared: boolean }).is_shared, false);
    assert.equal(jobs.find((j) => j.id === 12)!.runner, null);
  });

  it('lists group projects by numeric id or path, with and without subgroups', async () => {
    const acme = fake.groupId('acme');
    const platform = fake.groupId('acme/platform');
    assert.notEqual(acme, platform);
    const direct = (await (await gl(fake, `/groups/${acme}/projects`)).json()) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(
      direct.map((p) => p.path_with_namespace),
      ['acme/payments-api'],
    );
    assert.equal(direct[0]!.archived, false);
    assert.equal(direct[0]!.default_branch, 'main');
    assert.deepEqual(
      await ids(await gl(fake, '/groups/acme/projects?include_subgroups=true&order_by=id&sort=asc')),
      [101, 102, 103],
    );
    assert.deepEqual(
      await ids(await gl(fake, '/groups/acme%2Fplatform/projects?include_subgroups=true')),
      [103, 102],
    );
    assert.equal((await gl(fake, '/groups/nope/projects')).status, 404);
  });

  it('serves merge requests, environments, deployments and runners', async () => {
    fake.addMergeRequest(101, {
      id: 1,
      iid: 1,
      target_branch: 'main',
      source_branch: 'a',
      state: 'merged',
      created_at: iso(0),
      updated_at: iso(20),
      merged_at: iso(20),
    });
    fake.addMergeRequest(101, {
      id: 2,
      iid: 2,
      target_branch: 'main',
      source_branch: 'b',
      state: 'opened',
      created_at: iso(10),
      updated_at: iso(30),
    });
    assert.deepEqual(await ids(await gl(fake, '/projects/101/merge_requests')), [2, 1]);
    assert.deepEqual(await ids(await gl(fake, '/projects/101/merge_requests?state=merged')), [1]);
    assert.deepEqual(
      await ids(await gl(fake, `/projects/101/merge_requests?updated_after=${encodeURIComponent(iso(25))}`)),
      [2],
    );

    fake.addEnvironment(101, { id: 5, name: 'production', external_url: 'https://pay.example.com' });
    fake.addEnvironment(101, { id: 6, name: 'staging' });
    const envs = (await (await gl(fake, '/projects/101/environments')).json()) as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(
      envs.map((e) => [e.id, e.name, e.tier, e.state]),
      [
        [5, 'production', 'production', 'available'],
        [6, 'staging', 'staging', 'available'],
      ],
    );

    fake.addPipeline(101, { id: 9, ref: 'main', status: 'success', created_at: iso(0), updated_at: iso(0) });
    fake.addJob(101, 9, {
      id: 90,
      name: 'deploy',
      stage: 'deploy',
      status: 'success',
      created_at: iso(0),
    });
    const env = { id: 5, name: 'production' };
    fake.addDeployment(101, {
      id: 1,
      status: 'success',
      created_at: iso(0),
      updated_at: iso(40),
      finished_at: iso(40),
      environment: env,
      deployable_job_id: 90,
    });
    fake.addDeployment(101, {
      id: 2,
      status: 'failed',
      created_at: iso(10),
      updated_at: iso(15),
      environment: env,
    });
    fake.addDeployment(101, {
      id: 3,
      status: 'success',
      created_at: iso(20),
      updated_at: iso(25),
      environment: { id: 6, name: 'staging' },
    });
    assert.deepEqual(await ids(await gl(fake, '/projects/101/deployments')), [1, 2, 3]);
    assert.deepEqual(
      await ids(await gl(fake, '/projects/101/deployments?environment=production&sort=desc')),
      [2, 1],
    );
    // an updated_at filter forces updated_at ordering, as in GitLab's DeploymentsFinder
    assert.deepEqual(
      await ids(await gl(fake, `/projects/101/deployments?updated_after=${encodeURIComponent(iso(15))}`)),
      [2, 3, 1],
    );
    assert.equal(
      (await gl(fake, `/projects/101/deployments?finished_after=${encodeURIComponent(iso(0))}`)).status,
      400,
    );
    const [dep] = (await (
      await gl(fake, '/projects/101/deployments?status=success&environment=production')
    ).json()) as Array<Record<string, unknown>>;
    assert.equal((dep!.deployable as { id: number }).id, 90);
    assert.deepEqual((dep!.environment as { id: number; name: string }).name, 'production');

    fake.addRunner({ id: 1, description: 'shared', runner_type: 'instance_type', status: 'online' });
    fake.addRunner({
      id: 2,
      description: 'acme',
      runner_type: 'group_type',
      status: 'offline',
      groups: ['acme'],
    });
    fake.addRunner({
      id: 3,
      description: 'tools',
      runner_type: 'group_type',
      status: 'online',
      groups: ['acme/platform/tools'],
      paused: true,
    });
    fake.addRunner({
      id: 4,
      description: 'other',
      runner_type: 'group_type',
      status: 'stale',
      groups: ['other'],
    });
    fake.setRunnerJobs(1, 2);
    const all = (await (await gl(fake, '/runners/all')).json()) as Array<Record<string, unknown>>;
    assert.deepEqual(
      all.map((r) => [r.id, r.is_shared, r.online, r.paused, r.active, r.job_execution_status]),
      [
        [1, true, true, false, true, 'active'],
        [2, false, false, false, true, 'idle'],
        [3, false, true, true, false, 'idle'],
        [4, false, false, false, true, 'idle'],
      ],
    );
    assert.deepEqual(await ids(await gl(fake, '/runners/all?type=group_type&status=online')), [3]);
    assert.deepEqual(await ids(await gl(fake, '/runners/all?paused=true')), [3]);
    assert.equal((await gl(fake, '/runners/all?type=bogus')).status, 400);
    // group runners: the group's and its ancestors' plus instance runners
    assert.deepEqual(await ids(await gl(fake, `/groups/${fake.groupId('acme/platform')}/runners`)), [1, 2]);
    assert.deepEqual(
      await ids(await gl(fake, '/groups/acme%2Fplatform%2Ftools/runners?type=group_type')),
      [2, 3],
    );
  });

  it('answers 404 JSON outside its endpoints', async () => {
    for (const path of ['/projects/101', '/version', '/projects/101/jobs']) {
      const res = await gl(fake, path);
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { message: '404 Not Found' });
    }
    const outside = await fetch(`${fake.url}/projects/101/pipelines`, {
      headers: { 'PRIVATE-TOKEN': TOKEN },
    });
    assert.equal(outside.status, 404);
  });

  it('checks the token: PRIVATE-TOKEN or Bearer, else 401', async () => {
    assert.equal((await gl(fake, '/projects/101/pipelines')).status, 200);
    const bearer = await fetch(`${fake.apiUrl}/projects/101/pipelines`, {
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(bearer.status, 200);
    for (const headers of [{}, { 'PRIVATE-TOKEN': 'wrong' }, { Authorization: 'Bearer wrong' }]) {
      const res = await fetch(`${fake.apiUrl}/projects/101/pipelines`, { headers });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { message: '401 Unauthorized' });
    }
    assert.deepEqual(
      fake.requests().map((r) => r.status),
      [200, 200, 401, 401, 401],
    );
  });

  it('sends RateLimit headers and answers 429 when the hourly budget is used up', async () => {
    const limited = await FakeGitlab.start({ hourlyBudget: 3 });
    try {
      limited.addProject({ id: 1, path_with_namespace: 'a/b' });
      const remaining: Array<string | null> = [];
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${limited.apiUrl}/projects/1/pipelines`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('ratelimit-limit'), '3');
        assert.match(res.headers.get('ratelimit-reset') ?? '', /^\d{10}$/);
        assert.equal(res.headers.get('ratelimit-observed'), String(i + 1));
        remaining.push(res.headers.get('ratelimit-remaining'));
      }
      assert.deepEqual(remaining, ['2', '1', '0']);
      const over = await fetch(`${limited.apiUrl}/projects/1/pipelines`);
      assert.equal(over.status, 429);
      assert.equal(over.headers.get('ratelimit-remaining'), '0');
      assert.ok(Number(over.headers.get('retry-after')) > 0);
      limited.resetBudget();
      assert.equal((await fetch(`${limited.apiUrl}/projects/1/pipelines`)).status, 200);
    } finally {
      await limited.close();
    }
  });
});

describe('fake GitHub API', () => {
  let fake: FakeGithub;

  beforeEach(async () => {
    fake = await FakeGithub.start({ token: GH_TOKEN });
    fake.addRepo({ id: 1, owner: 'acme', name: 'api' });
    fake.addRepo({ id: 2, owner: 'acme', name: 'web', default_branch: 'trunk' });
    fake.addRepo({ id: 3, owner: 'other', name: 'x' });
  });

  afterEach(async () => {
    await fake.close();
  });

  function addRuns(n: number): void {
    for (let i = 1; i <= n; i++) {
      fake.addRun('acme/api', {
        id: 1000 + i,
        name: 'CI',
        path: '.github/workflows/ci.yml',
        head_branch: i % 2 === 0 ? 'main' : 'feature',
        event: i % 3 === 0 ? 'pull_request' : 'push',
        status: 'completed',
        conclusion: 'success',
        created_at: iso(i * 60),
        updated_at: iso(i * 60 + 30),
      });
    }
  }

  it('paginates workflow runs newest first and the Link chain reaches the end', async () => {
    addRuns(65);
    const first = await gh(fake, '/repos/acme/api/actions/runs');
    const body = (await first.json()) as {
      total_count: number;
      workflow_runs: Array<Record<string, unknown>>;
    };
    assert.equal(body.total_count, 65);
    assert.equal(body.workflow_runs.length, 30);
    assert.equal(body.workflow_runs[0]!.id, 1065);
    assert.equal(body.workflow_runs[0]!.created_at, '2026-11-20T11:05:00Z');
    assert.deepEqual(body.workflow_runs[0]!.repository, {
      ...(body.workflow_runs[0]!.repository as object),
      id: 1,
      full_name: 'acme/api',
    });
    assert.deepEqual(Object.keys(links(first)), ['next', 'last']);
    assert.equal(links(first).next, `${fake.url}/repos/acme/api/actions/runs?page=2`);
    assert.equal(links(first).last, `${fake.url}/repos/acme/api/actions/runs?page=3`);

    const seen: number[] = [];
    let next: string | undefined = `${fake.apiUrl}/repos/acme/api/actions/runs?per_page=20`;
    let pages = 0;
    let last: Response | undefined;
    while (next !== undefined) {
      last = await fetch(next, { headers: { Authorization: `token ${GH_TOKEN}` } });
      const b = (await last.json()) as { workflow_runs: Array<{ id: number }> };
      seen.push(...b.workflow_runs.map((r) => r.id));
      next = links(last).next;
      pages++;
    }
    assert.equal(pages, 4);
    assert.deepEqual(
      seen,
      Array.from({ length: 65 }, (_, i) => 1065 - i),
    );
    assert.deepEqual(Object.keys(links(last!)), ['prev', 'first']);
    assert.equal(links(last!).prev, `${fake.url}/repos/acme/api/actions/runs?per_page=20&page=3`);

    const one = await gh(fake, '/repos/acme/api/actions/runs?per_page=100');
    assert.equal(one.headers.get('link'), null);
    const capped = (await (await gh(fake, '/repos/acme/api/actions/runs?per_page=1000')).json()) as {
      workflow_runs: unknown[];
    };
    assert.equal(capped.workflow_runs.length, 65);
  });

  it('filters runs by created ranges, branch, event and status', async () => {
    addRuns(10);
    const runIds = async (q: string): Promise<number[]> => {
      const res = await gh(fake, `/repos/acme/api/actions/runs?${q}`);
      assert.equal(res.status, 200);
      return ((await res.json()) as { workflow_runs: Array<{ id: number }> }).workflow_runs.map((r) => r.id);
    };
    const at = (i: number): string => encodeURIComponent(iso(i * 60).replace('.000Z', 'Z'));
    assert.deepEqual(await runIds(`created=${encodeURIComponent('>=')}${at(8)}`), [1010, 1009, 1008]);
    assert.deepEqual(await runIds(`created=${encodeURIComponent('>')}${at(8)}`), [1010, 1009]);
    assert.deepEqual(await runIds(`created=${encodeURIComponent('<=')}${at(2)}`), [1002, 1001]);
    assert.deepEqual(await runIds(`created=${at(3)}..${at(5)}`), [1005, 1004, 1003]);
    assert.deepEqual(
      await runIds('created=2026-11-20'),
      [1010, 1009, 1008, 1007, 1006, 1005, 1004, 1003, 1002, 1001],
    );
    assert.deepEqual(await runIds('created=%3E2026-11-20'), []);
    assert.deepEqual(await runIds('branch=main&event=push'), [1010, 1008, 1004, 1002]);
    fake.updateRun('acme/api', 1010, { status: 'in_progress', conclusion: null });
    assert.deepEqual(await runIds('status=in_progress'), [1010]);
    assert.deepEqual((await runIds('status=success')).length, 9);
    assert.equal((await gh(fake, '/repos/acme/api/actions/runs?created=soon')).status, 422);
  });

  it('answers a filtered runs query with at most searchCap runs (total_count counts all); refuses unfiltered pages past the pagination limit', async () => {
    addRuns(30);
    fake.searchCap = 25;
    fake.runsPaginationLimit = 20;
    const body = async (q: string) =>
      (await (await gh(fake, `/repos/acme/api/actions/runs?${q}`)).json()) as {
        total_count: number;
        workflow_runs: Array<{ id: number }>;
      };
    const first = await body('created=2026-11-20&per_page=20');
    assert.equal(first.total_count, 30);
    assert.equal(first.workflow_runs.length, 20);
    assert.equal((await body('created=2026-11-20&per_page=20&page=2')).workflow_runs.length, 5);
    assert.equal((await body('created=2026-11-20&per_page=20&page=3')).workflow_runs.length, 0);
    assert.equal((await gh(fake, '/repos/acme/api/actions/runs?per_page=20')).status, 200);
    const refused = await gh(fake, '/repos/acme/api/actions/runs?per_page=20&page=2');
    assert.equal(refused.status, 422);
    assert.match(((await refused.json()) as { message: string }).message, /pagination is limited/);
  });

  it('lists jobs of the latest attempt by default and of all attempts with filter=all', async () => {
    fake.addRun('acme/api', {
      id: 77,
      name: 'CI',
      path: '.github/workflows/ci.yml',
      head_branch: 'main',
      run_attempt: 2,
      status: 'completed',
      conclusion: 'success',
      created_at: iso(0),
      updated_at: iso(300),
      run_started_at: iso(200),
    });
    fake.addRunner({ org: 'acme' }, { id: 42, name: 'builder-1', status: 'online', busy: false });
    const base = { name: 'test', status: 'completed', created_at: iso(0) } as const;
    fake.addJob('acme/api', 77, {
      ...base,
      id: 1,
      run_attempt: 1,
      conclusion: 'failure',
      completed_at: iso(60),
    });
    fake.addJob('acme/api', 77, {
      ...base,
      id: 2,
      run_attempt: 2,
      conclusion: 'success',
      started_at: iso(210),
      completed_at: iso(260),
      labels: ['self-hosted'],
      runner_name: 'builder-1',
      runner_group_name: 'Default',
    });
    const latest = (await (await gh(fake, '/repos/acme/api/actions/runs/77/jobs')).json()) as {
      total_count: number;
      jobs: Array<Record<string, unknown>>;
    };
    assert.equal(latest.total_count, 1);
    assert.deepEqual(
      latest.jobs.map((j) => [
        j.id,
        j.run_attempt,
        j.runner_id,
        j.runner_group_id,
        j.started_at,
        j.completed_at,
      ]),
      [[2, 2, 42, 1, '2026-11-20T10:03:30Z', '2026-11-20T10:04:20Z']],
    );
    assert.equal(latest.jobs[0]!.run_id, 77);
    assert.equal(latest.jobs[0]!.workflow_name, 'CI');
    assert.deepEqual(latest.jobs[0]!.steps, []);
    const all = (await (await gh(fake, '/repos/acme/api/actions/runs/77/jobs?filter=all')).json()) as {
      total_count: number;
      jobs: Array<{ id: number; run_attempt: number; runner_id: number | null }>;
    };
    assert.deepEqual(
      all.jobs.map((j) => [j.id, j.run_attempt, j.runner_id]),
      [
        [1, 1, null],
        [2, 2, 42],
      ],
    );
    const attempt1 = (await (await gh(fake, '/repos/acme/api/actions/runs/77/attempts/1/jobs')).json()) as {
      jobs: Array<{ id: number }>;
    };
    assert.deepEqual(
      attempt1.jobs.map((j) => j.id),
      [1],
    );
    assert.equal((await gh(fake, '/repos/acme/api/actions/runs/78/jobs')).status, 404);
  });

  it('lists org repos and org and repo runners', async () => {
    const repos = (await (await gh(fake, '/orgs/acme/repos')).json()) as Array<Record<string, unknown>>;
    assert.deepEqual(
      repos.map((r) => [
        r.id,
        r.full_name,
        (r.owner as { login: string }).login,
        r.default_branch,
        r.archived,
      ]),
      [
        [2, 'acme/web', 'acme', 'trunk', false],
        [1, 'acme/api', 'acme', 'main', false],
      ],
    );
    const paged = await gh(fake, '/orgs/acme/repos?per_page=1&page=2');
    assert.deepEqual(Object.keys(links(paged)), ['prev', 'first']);

    fake.addRunner(
      { org: 'acme' },
      { id: 5, name: 'org-1', status: 'online', busy: true, labels: ['self-hosted', 'Linux', 'gpu'] },
    );
    fake.addRunner(
      { repo: 'acme/api' },
      { id: 6, name: 'repo-1', status: 'offline', busy: false, os: 'windows' },
    );
    const org = (await (await gh(fake, '/orgs/acme/actions/runners')).json()) as {
      total_count: number;
      runners: Array<{ id: number; busy: boolean; labels: Array<{ name: string; type: string }> }>;
    };
    assert.equal(org.total_count, 1);
    assert.equal(org.runners[0]!.busy, true);
    assert.deepEqual(
      org.runners[0]!.labels.map((l) => [l.name, l.type]),
      [
        ['self-hosted', 'read-only'],
        ['Linux', 'read-only'],
        ['gpu', 'custom'],
      ],
    );
    const repo = (await (await gh(fake, '/repos/acme/api/actions/runners')).json()) as {
      runners: Array<{ id: number; os: string; status: string }>;
    };
    assert.deepEqual(repo.runners, [{ ...repo.runners[0]!, id: 6, os: 'windows', status: 'offline' }]);
    const missing = await gh(fake, '/orgs/nobody/repos');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { message: string }).message, 'Not Found');
    assert.equal((await gh(fake, '/repos/acme/api/actions/workflows')).status, 404);
  });

  it('checks the token (token or Bearer) and sends x-ratelimit headers', async () => {
    const ok = await fetch(`${fake.apiUrl}/orgs/acme/repos`, {
      headers: { Authorization: `token ${GH_TOKEN}` },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-ratelimit-limit'), '5000');
    assert.equal(ok.headers.get('x-ratelimit-remaining'), '4999');
    assert.equal(ok.headers.get('x-ratelimit-used'), '1');
    assert.equal(ok.headers.get('x-ratelimit-resource'), 'core');
    assert.match(ok.headers.get('x-ratelimit-reset') ?? '', /^\d{10}$/);
    const wrong = await fetch(`${fake.apiUrl}/orgs/acme/repos`, { headers: { Authorization: 'token nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { message: string }).message, 'Bad credentials');
    const missing = await fetch(`${fake.apiUrl}/orgs/acme/repos`);
    assert.equal(missing.status, 401);
    assert.ok(missing.headers.get('x-ratelimit-limit'));
  });

  it('answers 403 with x-ratelimit-remaining: 0 when the hourly budget is used up', async () => {
    fake.setBudgetUsed(4998);
    assert.equal((await gh(fake, '/orgs/acme/repos')).status, 200);
    const lastOne = await gh(fake, '/orgs/acme/repos');
    assert.equal(lastOne.status, 200);
    assert.equal(lastOne.headers.get('x-ratelimit-remaining'), '0');
    const over = await gh(fake, '/orgs/acme/repos');
    assert.equal(over.status, 403);
    assert.equal(over.headers.get('x-ratelimit-remaining'), '0');
    assert.match(((await over.json()) as { message: string }).message, /API rate limit exceeded/);
  });

  it('answers 304 to a matching If-None-Match without using the budget', async () => {
    const first = await gh(fake, '/orgs/acme/repos');
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await gh(fake, '/orgs/acme/repos', { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('x-ratelimit-used'), '1');
  });

  it('works under a GHES prefix, with absolute Link URLs under it', async () => {
    const ghes = await FakeGithub.start({ prefix: '/api/v3', repositoryIdLinks: true });
    try {
      assert.equal(ghes.apiUrl, `${ghes.url}/api/v3`);
      ghes.addRepo({ id: 9, owner: 'corp', name: 'svc' });
      for (let i = 1; i <= 3; i++) {
        ghes.addRun('corp/svc', {
          id: i,
          name: 'CI',
          path: '.github/workflows/ci.yml',
          head_branch: 'main',
          status: 'completed',
          conclusion: 'success',
          created_at: iso(i),
          updated_at: iso(i),
        });
      }
      const res = await fetch(`${ghes.apiUrl}/repos/corp/svc/actions/runs?per_page=2`);
      assert.equal(res.status, 200);
      const next = links(res).next!;
      assert.equal(next, `${ghes.url}/api/v3/repositories/9/actions/runs?per_page=2&page=2`);
      const page2 = (await (await fetch(next)).json()) as {
        workflow_runs: Array<{ id: number; url: string }>;
      };
      assert.deepEqual(
        page2.workflow_runs.map((r) => r.id),
        [1],
      );
      assert.equal(page2.workflow_runs[0]!.url, `${ghes.url}/api/v3/repos/corp/svc/actions/runs/1`);
      assert.equal((await fetch(`${ghes.url}/repos/corp/svc/actions/runs`)).status, 404);
    } finally {
      await ghes.close();
    }
  });
});

describe('fake API machinery', () => {
  let fake: FakeGitlab;

  beforeEach(async () => {
    fake = await FakeGitlab.start({ token: TOKEN });
    fake.addProject({ id: 1, path_with_namespace: 'a/b' });
  });

  afterEach(async () => {
    await fake.close();
  });

  it('answers 429 with Retry-After past limitPerSecond and maxPerSecond counts every request', async () => {
    fake.limitPerSecond = 3;
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () => gl(fake, '/projects/1/pipelines').then((r) => r.status)),
    );
    assert.deepEqual(statuses.sort(), [200, 200, 200, 429, 429]);
    const rejected = await gl(fake, '/projects/1/pipelines');
    assert.equal(rejected.status, 429);
    assert.equal(rejected.headers.get('retry-after'), '1');
    assert.equal(rejected.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.ok(((await rejected.json()) as { message: string }).message);
    assert.equal(fake.requestCount({ status: 429 }), 3);
    assert.equal(fake.maxPerSecond(), 6);
    assert.equal(
      fake.maxPerSecond((r) => r.status === 200),
      3,
    );
  });

  it('computes maxPerSecond over a sliding window and limits with the same window', async () => {
    let now = 1_000_000;
    const clocked = await FakeGitlab.start({ now: () => now, limitPerSecond: 2 });
    try {
      clocked.addProject({ id: 1, path_with_namespace: 'a/b' });
      const hit = async (at: number): Promise<number> => {
        now = at;
        return (await fetch(`${clocked.apiUrl}/projects/1/pipelines`)).status;
      };
      // arrivals: 0, 600, 1100 (600 and 1100 share a window), 1599 (third in [600, 1600) -> 429), 2200
      assert.equal(await hit(1_000_000), 200);
      assert.equal(await hit(1_000_600), 200);
      assert.equal(await hit(1_001_100), 200);
      assert.equal(await hit(1_001_599), 429);
      assert.equal(await hit(1_002_200), 200);
      assert.deepEqual(
        clocked.requests().map((r) => r.at - 1_000_000),
        [0, 600, 1100, 1599, 2200],
      );
      assert.equal(clocked.maxPerSecond(), 3);
      assert.equal(clocked.maxPerSecond({ status: 200 }), 2);
      clocked.resetLog();
      assert.equal(clocked.maxPerSecond(), 0);
      assert.equal(clocked.requestCount(), 0);
    } finally {
      await clocked.close();
    }
  });

  it('logs method, path, query, status and headers', async () => {
    await gl(fake, '/projects/a%2Fb/pipelines?per_page=5&status=success');
    const [r] = fake.requests();
    assert.equal(r!.method, 'GET');
    assert.equal(r!.path, '/api/v4/projects/a%2Fb/pipelines');
    assert.equal(r!.query.get('per_page'), '5');
    assert.equal(r!.status, 200);
    assert.equal(r!.headers['private-token'], TOKEN);
    assert.equal(r!.fault, null);
    assert.equal(fake.requestCount({ path: /pipelines$/ }), 1);
  });

  it('injects 500, malformed and 401 faults for the next n requests', async () => {
    fake.failNext(2, '500');
    fake.failNext(1, 'malformed');
    fake.failNext(1, '401');
    const a = await gl(fake, '/projects/1/pipelines');
    assert.equal(a.status, 500);
    assert.equal(a.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.ok(((await a.json()) as { message: string }).message);
    assert.equal((await gl(fake, '/projects/1/pipelines')).status, 500);
    const m = await gl(fake, '/projects/1/pipelines');
    assert.equal(m.status, 200);
    assert.equal(m.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(await m.clone().text(), '{"truncated": ');
    await assert.rejects(m.json(), SyntaxError);
    const u = await gl(fake, '/projects/1/pipelines');
    assert.equal(u.status, 401);
    assert.deepEqual(await u.json(), { message: '401 Unauthorized' });
    assert.equal((await gl(fake, '/projects/1/pipelines')).status, 200);
    assert.deepEqual(
      fake.requests().map((r) => r.fault),
      ['500', '500', 'malformed', '401', null],
    );
  });

  it('injects faults only into matching requests', async () => {
    fake.addPipeline(1, { id: 1, ref: 'main', status: 'success', created_at: iso(0), updated_at: iso(0) });
    fake.failNext(1, '500', { path: /\/jobs$/ });
    assert.equal((await gl(fake, '/projects/1/pipelines')).status, 200);
    assert.equal((await gl(fake, '/projects/1/pipelines/1/jobs')).status, 500);
    assert.equal((await gl(fake, '/projects/1/pipelines/1/jobs')).status, 200);
  });

  it('leaves a timed-out request hanging until the client aborts and close() ends it', async () => {
    fake.failNext(1, 'timeout');
    const started = Date.now();
    await assert.rejects(
      gl(fake, '/projects/1/pipelines', { signal: AbortSignal.timeout(300) }),
      (err: Error) => err.name === 'TimeoutError',
    );
    assert.ok(Date.now() - started >= 250);
    assert.equal(fake.requests()[0]!.status, 0);
    assert.equal(fake.requests()[0]!.fault, 'timeout');
    assert.equal((await gl(fake, '/projects/1/pipelines')).status, 200);

    fake.failNext(1, 'timeout');
    const hanging = gl(fake, '/projects/1/pipelines');
    await new Promise((r) => setTimeout(r, 50));
    await fake.close();
    await assert.rejects(hanging);
  });

  it('fails randomly but reproducibly with a seed', async () => {
    const run = async (): Promise<number[]> => {
      const f = await FakeGitlab.start();
      try {
        f.addProject({ id: 1, path_with_namespace: 'a/b' });
        f.failRandomly({ rate: 0.5, kinds: ['500', '401'], seed: 42 });
        const out: number[] = [];
        for (let i = 0; i < 20; i++) out.push((await fetch(`${f.apiUrl}/projects/1/pipelines`)).status);
        return out;
      } finally {
        await f.close();
      }
    };
    const first = await run();
    assert.deepEqual(await run(), first);
    assert.ok(first.includes(200) && first.includes(500) && first.includes(401), String(first));
    const rnd = mulberry32(7);
    const values = Array.from({ length: 100 }, rnd);
    assert.ok(values.every((v) => v >= 0 && v < 1));
    assert.deepEqual(Array.from({ length: 100 }, mulberry32(7)), values);
  });

  it('goes down (connection refused) and comes back on the same port', async () => {
    assert.equal((await gl(fake, '/projects/1/pipelines')).status, 200);
    const url = fake.apiUrl;
    await fake.setDown(true);
    assert.equal(fake.isDown, true);
    await assert.rejects(gl(fake, '/projects/1/pipelines'), TypeError);
    await fake.setDown(false);
    assert.equal(fake.apiUrl, url);
    assert.equal((await gl(fake, '/projects/1/pipelines')).status, 200);
    assert.equal(fake.requestCount(), 2);
  });
});
