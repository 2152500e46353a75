import assert from 'node:assert/strict';
import { mulberry32 } from '../helpers/fake-api/server.js';
import { example, postGithub } from '../helpers/github.js';
import { getMetrics, startTestApp } from '../helpers/start-app.js';

/*
 * SPEC section 4: GitHub deliveries become the same metrics "whatever order and however many
 * times they arrive". A realistic set of workflow_run, workflow_job, deployment and
 * deployment_status deliveries (the @octokit/webhooks-examples payloads, ids and times rewritten
 * consistently) is delivered once in order, then in PERMUTATIONS seeded random orders with
 * random redeliveries (the same X-GitHub-Delivery again, or the same body under a new one), each
 * to a fresh service. The event metrics of every order must equal those of the in-order run.
 *
 * Replay a failure with GITHUB_ORDER_SEED=<seed printed in the message>.
 *
 * Left out or held fixed, as the README documents them as order effects:
 * - `delivery_environment_recovery_seconds`: docs/metrics.md "a failure that arrives after the
 *   success that ended its streak ... is still counted, unless that success's recovery was
 *   already observed from a later failure of the same streak (a histogram cannot take an
 *   observation back; the value then starts at the failure that arrived first)".
 * - The repository's first workflow run is always delivered first (a run that finished a day
 *   earlier): README "A GitHub job only names its head branch; one that finishes before its run
 *   is known waits for the run ... once its repository has sent any workflow run", and "A
 *   repository whose hook sends only `workflow_job` never sends runs, so its jobs are counted at
 *   once under their own branch's label": before any run, a job cannot wait for one.
 * - `delivery_deployment_runs_total` and `delivery_deployment_duration_seconds` of a deployment
 *   with two final statuses (8003: `error`, then `success`) follow the one that arrives first:
 *   README "A deployment counts once, at the first final status delivered: one whose later
 *   status arrives first (`success` before the `error` it fixed) is counted, with its duration,
 *   as that later status (a counter cannot take a count back)". Asserted: the in-order metrics
 *   with that deployment moved to the status that arrived first.
 */

const SEED = Number(process.env.GITHUB_ORDER_SEED ?? 20261120);
const PERMUTATIONS = 12;

type Payload = Record<string, unknown>;
interface Delivery {
  readonly event: string;
  readonly body: Payload;
  readonly name: string;
  /** A deployment's final status: which deployment, its `status` label and its duration. */
  readonly final?: { readonly id: number; readonly env: string; readonly status: string; readonly s: number };
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

const runBase = example(
  'workflow_run',
  (e) => (e.workflow_run as { conclusion: string }).conclusion === 'success',
);
const jobBase = example('workflow_job', (e) => e.action === 'completed');
const REPO = {
  ...(runBase.repository as Payload),
  id: 4711,
  name: 'shop',
  full_name: 'octo-org/shop',
  default_branch: 'main',
};

type Conclusion = 'success' | 'failure' | 'cancelled' | 'skipped';
interface Job {
  id: number;
  name: string;
  conclusion: Conclusion;
  created: number;
  /** Unset: no runner ever took it (cancelled while queued, or skipped). */
  started?: number;
  completed: number;
  /** No `created_at` and no `workflow_name` (GitHub Enterprise Server before 3.6). */
  legacy?: boolean;
  /** `workflow_name` when it is not the run's name. */
  workflowName?: string;
}
interface Attempt {
  conclusion: Conclusion;
  started: number;
  updated: number;
  jobs: Job[];
}
interface Run {
  id: number;
  name: string;
  path: string;
  event: string;
  branch: string;
  created: number;
  attempts: Attempt[];
}

function runDeliveries(r: Run): Delivery[] {
  const out: Delivery[] = [];
  r.attempts.forEach((a, i) => {
    const attempt = i + 1;
    const run = (action: string, status: string, conclusion: string | null, updated: number): Delivery => ({
      event: 'workflow_run',
      name: `run ${r.id}#${attempt} ${action}`,
      body: {
        ...runBase,
        action,
        repository: REPO,
        workflow_run: {
          ...(runBase.workflow_run as Payload),
          id: r.id,
          name: r.name,
          path: r.path,
          event: r.event,
          head_branch: r.branch,
          run_attempt: attempt,
          status,
          conclusion,
          created_at: iso(r.created),
          run_started_at: iso(a.started),
          updated_at: iso(updated),
        },
      },
    });
    out.push(run('requested', 'queued', null, a.started));
    if (a.conclusion !== 'skipped') out.push(run('in_progress', 'in_progress', null, a.started + 1));
    out.push(run('completed', 'completed', a.conclusion, a.updated));
    for (const j of a.jobs) {
      const job = (action: string): Delivery => {
        const ran = action !== 'queued' && j.started !== undefined;
        const body: Payload = {
          ...(jobBase.workflow_job as Payload),
          id: j.id,
          run_id: r.id,
          run_attempt: attempt,
          name: j.name,
          workflow_name: j.workflowName ?? r.name,
          head_branch: r.branch,
          status: action,
          conclusion: action === 'completed' ? j.conclusion : null,
          created_at: iso(j.created),
          // GitHub fills started_at in for a queued job too: when it was created.
          started_at: iso(action === 'queued' || j.started === undefined ? j.created : j.started),
          completed_at: action === 'completed' ? iso(j.completed) : null,
          labels: ['ubuntu-latest'],
          runner_id: ran ? 7 : null,
          runner_name: ran ? 'GitHub Actions 7' : null,
          runner_group_id: ran ? 2 : null,
          runner_group_name: ran ? 'GitHub Actions' : null,
        };
        if (j.legacy === true) {
          delete body.created_at;
          delete body.workflow_name;
        }
        return {
          event: 'workflow_job',
          name: `job ${j.id} ${action}`,
          body: { ...jobBase, action, repository: REPO, workflow_job: body },
        };
      };
      // A skipped job is only ever sent completed.
      if (j.conclusion !== 'skipped') out.push(job('queued'));
      if (j.started !== undefined) out.push(job('in_progress'));
      out.push(job('completed'));
    }
  });
  return out;
}

interface Deployment {
  id: number;
  environment: string;
  created: number;
  /** [state, time] of each deployment_status. */
  statuses: Array<[string, number]>;
}

const FINAL: Record<string, string> = { success: 'success', failure: 'failed', error: 'failed' };

function deploymentDeliveries(d: Deployment): Delivery[] {
  const base = example(
    'deployment',
    (e) => (e.deployment as { environment: string }).environment === 'production',
  );
  const deployment = {
    ...(base.deployment as Payload),
    id: d.id,
    environment: d.environment,
    original_environment: d.environment,
    created_at: iso(d.created),
    updated_at: iso(d.created),
  };
  const statusBase = example('deployment_status');
  return [
    {
      event: 'deployment',
      name: `deployment ${d.id} created`,
      body: { ...base, repository: REPO, deployment },
    },
    ...d.statuses.map(([state, at], i): Delivery => ({
      event: 'deployment_status',
      name: `deployment ${d.id} ${state}@${at - d.created}`,
      ...(FINAL[state] === undefined
        ? {}
        : { final: { id: d.id, env: d.environment, status: FINAL[state], s: at - d.created } }),
      body: {
        ...statusBase,
        repository: REPO,
        deployment,
        deployment_status: {
          ...(statusBase.deployment_status as Payload),
          id: d.id * 10 + i,
          state,
          environment: d.environment,
          created_at: iso(at),
          updated_at: iso(at),
        },
      },
    })),
  ];
}

function scenario(t: number): { first: Delivery[]; rest: Delivery[] } {
  const job = (
    id: number,
    name: string,
    conclusion: Conclusion,
    created: number,
    wait: number | undefined,
    run: number,
    more: Partial<Job> = {},
  ): Job => ({
    id,
    name,
    conclusion,
    created,
    ...(wait === undefined ? {} : { started: created + wait }),
    completed: created + (wait ?? 0) + run,
    ...more,
  });
  const ci = { name: 'CI', path: '.github/workflows/ci.yml' };
  // A run a day earlier: the repository is one that sends runs (see the header).
  const earlier: Run = {
    id: 6000,
    ...ci,
    event: 'push',
    branch: 'main',
    created: t - 86_400,
    attempts: [{ conclusion: 'success', started: t - 86_390, updated: t - 86_000, jobs: [] }],
  };
  const runs: Run[] = [
    {
      id: 6001,
      ...ci,
      event: 'push',
      branch: 'main',
      created: t,
      attempts: [
        {
          conclusion: 'failure',
          started: t + 5,
          updated: t + 400,
          jobs: [
            job(7001, 'build', 'success', t + 5, 12, 100),
            job(7002, 'test', 'failure', t + 120, 20, 250),
            job(7003, 'lint', 'skipped', t + 5, undefined, 0),
            job(7004, 'deploy', 'cancelled', t + 390, undefined, 5),
          ],
        },
      ],
    },
    {
      id: 6002,
      ...ci,
      event: 'pull_request',
      branch: 'feature/x',
      created: t + 1000,
      attempts: [
        {
          conclusion: 'cancelled',
          started: t + 1003,
          updated: t + 1300,
          jobs: [
            job(7011, 'lint', 'failure', t + 1003, 8, 40),
            job(7012, 'test 1/2', 'success', t + 1003, 9, 200),
            job(7013, 'test 2/2', 'cancelled', t + 1003, 11, 280),
          ],
        },
      ],
    },
    {
      // A workflow without a name: its path is the `pipeline` label, and its jobs' stage.
      id: 6003,
      name: '',
      path: '.github/workflows/deploy.yml',
      event: 'push',
      branch: 'main',
      created: t + 2000,
      attempts: [
        {
          conclusion: 'success',
          started: t + 2002,
          updated: t + 2200,
          jobs: [
            job(7021, 'package', 'success', t + 2002, 4, 60, { workflowName: '' }),
            job(7022, 'publish', 'success', t + 2070, 30, 90, { legacy: true }),
          ],
        },
      ],
    },
    {
      // Re-run: attempt 1 fails, attempt 2 (new job ids, the same created_at) succeeds.
      id: 6004,
      ...ci,
      event: 'push',
      branch: 'main',
      created: t + 3000,
      attempts: [
        {
          conclusion: 'failure',
          started: t + 3004,
          updated: t + 3300,
          jobs: [
            job(7031, 'test', 'failure', t + 3004, 6, 150),
            job(7033, 'build', 'success', t + 3004, 7, 90, { legacy: true }),
          ],
        },
        {
          conclusion: 'success',
          started: t + 4000,
          updated: t + 4300,
          jobs: [
            job(7032, 'test', 'success', t + 4000, 5, 160),
            job(7034, 'build', 'success', t + 4000, 3, 95, { legacy: true }),
          ],
        },
      ],
    },
    {
      // Finishes in the same second as 6004's attempt 2: the higher run id is the latest.
      id: 6005,
      ...ci,
      event: 'push',
      branch: 'main',
      created: t + 3900,
      attempts: [
        {
          conclusion: 'cancelled',
          started: t + 3950,
          updated: t + 4300,
          jobs: [job(7041, 'test', 'cancelled', t + 3950, 20, 300, { legacy: true })],
        },
      ],
    },
    {
      id: 6006,
      name: 'Docs',
      path: '.github/workflows/docs.yml',
      event: 'push',
      branch: 'main',
      created: t + 4400,
      attempts: [{ conclusion: 'skipped', started: t + 4401, updated: t + 4402, jobs: [] }],
    },
  ];
  const deployments: Deployment[] = [
    {
      id: 8001,
      environment: 'production',
      created: t + 500,
      statuses: [
        ['queued', t + 501],
        ['in_progress', t + 510],
        ['success', t + 600],
        ['inactive', t + 1600],
      ],
    },
    {
      id: 8002,
      environment: 'production',
      created: t + 1500,
      statuses: [
        ['in_progress', t + 1510],
        ['failure', t + 1700],
      ],
    },
    {
      // Fails, and is marked successful later: a failure and its recovery.
      id: 8003,
      environment: 'production',
      created: t + 2500,
      statuses: [
        ['in_progress', t + 2510],
        ['error', t + 2600],
        ['success', t + 2900],
      ],
    },
    {
      id: 8004,
      environment: 'staging',
      created: t + 2500,
      statuses: [
        ['queued', t + 2501],
        ['success', t + 2700],
      ],
    },
    {
      // Finishes in the same second as 8004: the higher id is the latest.
      id: 8005,
      environment: 'staging',
      created: t + 2600,
      statuses: [['error', t + 2700]],
    },
    {
      id: 8006,
      environment: 'review/feature-a',
      created: t + 1100,
      statuses: [
        ['in_progress', t + 1101],
        ['success', t + 1200],
      ],
    },
    {
      id: 8007,
      environment: 'review/feature-b',
      created: t + 1150,
      statuses: [
        ['in_progress', t + 1151],
        ['failure', t + 1250],
      ],
    },
  ];
  return {
    first: runDeliveries(earlier),
    // 8003 is counted at the final status delivered first: `error` in order (see the header).
    rest: [...runs.flatMap(runDeliveries), ...deployments.flatMap(deploymentDeliveries)],
  };
}

/** The event metrics this test compares: series name with labels -> value. */
const COMPARED = [
  'delivery_job_runs_total',
  'delivery_job_duration_seconds',
  'delivery_job_queued_seconds',
  'delivery_jobs_active',
  'delivery_pipeline_runs_total',
  'delivery_pipeline_duration_seconds',
  'delivery_pipeline_queued_seconds',
  'delivery_pipeline_up',
  'delivery_pipeline_last_run_timestamp_seconds',
  'delivery_pipeline_last_run_duration_seconds',
  'delivery_deployment_runs_total',
  'delivery_deployment_duration_seconds',
  'delivery_environment_up',
  'delivery_environment_last_deployment_timestamp_seconds',
];

function eventMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    const name = series.replace(/\{.*$/, '');
    const family = name.replace(/_(count|sum|bucket)$/, '');
    // Histograms: only _count and _sum (their buckets follow from the same observations).
    if (!COMPARED.includes(family) || name.endsWith('_bucket')) continue;
    out.set(series, Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/**
 * The in-order metrics as this order must give them: a deployment counts once, at the final
 * status that arrives first (see the header), with that status's duration.
 */
function countedAsArrived(
  expected: ReadonlyMap<string, number>,
  inOrder: readonly Delivery[],
  sent: readonly Delivery[],
): Map<string, number> {
  const firstFinals = (list: readonly Delivery[]) => {
    const m = new Map<number, NonNullable<Delivery['final']>>();
    for (const d of list) if (d.final !== undefined && !m.has(d.final.id)) m.set(d.final.id, d.final);
    return m;
  };
  const out = new Map(expected);
  const add = (key: string, delta: number) => out.set(key, (out.get(key) ?? 0) + delta);
  const arrived = firstFinals(sent);
  for (const [id, was] of firstFinals(inOrder)) {
    const is = arrived.get(id) as NonNullable<Delivery['final']>;
    if (is.status === was.status) continue;
    const env = was.env.replace(/\/.*$/, '/*');
    for (const [f, sign] of [
      [was, -1],
      [is, 1],
    ] as const) {
      const L = `{source="github",project="octo-org/shop",environment="${env}",status="${f.status}"}`;
      add(`delivery_deployment_runs_total${L}`, sign);
      add(`delivery_deployment_duration_seconds_count${L}`, sign);
      add(`delivery_deployment_duration_seconds_sum${L}`, sign * f.s);
      if (out.get(`delivery_deployment_runs_total${L}`) === 0)
        for (const k of ['runs_total', 'duration_seconds_count', 'duration_seconds_sum'])
          out.delete(`delivery_deployment_${k}${L}`);
    }
  }
  return out;
}

function diff(expected: Map<string, number>, actual: Map<string, number>): string[] {
  const lines: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    if (expected.get(key) !== actual.get(key))
      lines.push(`${key}: in order ${expected.get(key)}, here ${actual.get(key)}`);
  }
  return lines.sort();
}

interface Sent extends Delivery {
  readonly key: string;
  /** A redelivery: the same key again, or the same body under a new key. */
  readonly again?: 'same key' | 'new key';
}

async function deliver(sent: readonly Sent[]): Promise<{ metrics: Map<string, number>; answers: string[] }> {
  const app = await startTestApp({ GITHUB_WEBHOOK_SECRET: 'github-default-secret' });
  try {
    const answers: string[] = [];
    for (const d of sent) {
      const res = await postGithub(app.url, d.event, d.body, { delivery: d.key });
      assert.equal(res.status, 200, `${d.name}: ${res.status} ${JSON.stringify(res.body)}`);
      answers.push(`${d.name}${d.again ? ` (again, ${d.again})` : ''}: ${res.body.outcome}`);
    }
    return { metrics: eventMetrics(await getMetrics(app.url)), answers };
  } finally {
    await app.stop();
  }
}

describe('GitHub deliveries in any order, any number of times (SPEC section 4)', function () {
  this.timeout(60_000);
  const t = Math.floor(Date.now() / 1000) - 6 * 3600;
  const { first, rest } = scenario(t);
  const keyed = (d: Delivery, i: number): Sent => ({ ...d, key: `order-${i}` });
  const inOrder = [...first, ...rest].map(keyed);
  let expected: Map<string, number>;

  before(async () => {
    const { metrics, answers } = await deliver(inOrder);
    expected = metrics;
    for (const answer of answers) assert.match(answer, /: processed$/);
  });

  it('count the in-order deliveries as the README says', () => {
    const v = (series: string) => expected.get(series);
    const P = 'source="github",project="octo-org/shop"';
    const J = (ref: string, stage: string, job: string, status: string) =>
      `${P},ref="${ref}",stage="${stage}",job="${job}",status="${status}"`;
    assert.equal(v(`delivery_job_runs_total{${J('main', 'CI', 'build', 'success')}}`), 3);
    assert.equal(v(`delivery_job_runs_total{${J('main', 'CI', 'test', 'failure')}}`), undefined);
    assert.equal(v(`delivery_job_runs_total{${J('main', 'CI', 'test', 'failed')}}`), 2);
    assert.equal(v(`delivery_job_runs_total{${J('main', 'CI', 'test', 'canceled')}}`), 1);
    assert.equal(v(`delivery_job_runs_total{${J('main', 'CI', 'deploy', 'canceled')}}`), 1);
    assert.equal(v(`delivery_job_runs_total{${J('merge_request', 'CI', 'test', 'success')}}`), 1);
    assert.equal(v(`delivery_job_runs_total{${J('merge_request', 'CI', 'test', 'canceled')}}`), 1);
    const deploy = '.github/workflows/deploy.yml';
    assert.equal(v(`delivery_job_runs_total{${J('main', deploy, 'package', 'success')}}`), 1);
    assert.equal(v(`delivery_job_runs_total{${J('main', deploy, 'publish', 'success')}}`), 1);
    assert.equal(v(`delivery_job_duration_seconds_sum{${J('main', deploy, 'publish', 'success')}}`), 90);
    assert.equal(v(`delivery_job_runs_total{${J('main', 'CI', 'lint', 'skipped')}}`), undefined);
    // Every job that a runner took has a queue time, the legacy ones too.
    const Q = `${P},runner_type="github-hosted"`;
    assert.equal(v(`delivery_job_queued_seconds_count{${Q}}`), 12);
    assert.equal(
      v(`delivery_job_queued_seconds_sum{${Q}}`),
      12 + 20 + 8 + 9 + 11 + 4 + 30 + 6 + 7 + 5 + 3 + 20,
    );
    assert.equal(v(`delivery_jobs_active{${Q},state="running"}`), 0);
    assert.equal(v(`delivery_jobs_active{${P},runner_type="unknown",state="pending"}`), 0);
    const CI = `${P},pipeline="CI",ref="main"`;
    assert.equal(v(`delivery_pipeline_runs_total{${CI},status="failed"}`), 2);
    assert.equal(v(`delivery_pipeline_runs_total{${CI},status="success"}`), 2);
    assert.equal(v(`delivery_pipeline_runs_total{${CI},status="canceled"}`), 1);
    // 6000, 6001, 6004 (its first attempt) and 6005.
    assert.equal(v(`delivery_pipeline_queued_seconds_count{${CI}}`), 4);
    assert.equal(v(`delivery_pipeline_queued_seconds_sum{${CI}}`), 10 + 5 + 4 + 50);
    assert.equal(v(`delivery_pipeline_up{${CI}}`), 0);
    assert.equal(v(`delivery_pipeline_last_run_timestamp_seconds{${CI}}`), t + 4300);
    assert.equal(v(`delivery_pipeline_last_run_duration_seconds{${CI}}`), 350);
    assert.equal(v(`delivery_pipeline_up{${P},pipeline="${deploy}",ref="main"}`), 1);
    assert.equal(v(`delivery_pipeline_runs_total{${P},pipeline="Docs",ref="main",status="skipped"}`), 1);
    assert.equal(v(`delivery_pipeline_up{${P},pipeline="Docs",ref="main"}`), undefined);
    const E = (env: string) => `${P},environment="${env}"`;
    assert.equal(v(`delivery_deployment_runs_total{${E('production')},status="success"}`), 1);
    assert.equal(v(`delivery_deployment_runs_total{${E('production')},status="failed"}`), 2);
    assert.equal(v(`delivery_environment_up{${E('production')}}`), 1);
    assert.equal(v(`delivery_environment_last_deployment_timestamp_seconds{${E('production')}}`), t + 2900);
    assert.equal(v(`delivery_environment_up{${E('staging')}}`), 0);
    assert.equal(v(`delivery_environment_up{${E('review/*')}}`), 0);
  });

  for (let p = 0; p < PERMUTATIONS; p++) {
    it(`give the same metrics in random order ${p + 1} of ${PERMUTATIONS}, with redeliveries`, async () => {
      const rnd = mulberry32(SEED + p);
      const order = rest.map((d, i) => keyed(d, i + first.length));
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [order[i], order[j]] = [order[j] as Sent, order[i] as Sent];
      }
      // About one in five deliveries comes again, at a random later place.
      const sent: Sent[] = [...inOrder.slice(0, first.length), ...order];
      for (const d of order) {
        if (rnd() >= 0.2) continue;
        const again: Sent =
          rnd() < 0.5 ? { ...d, again: 'same key' } : { ...d, key: `${d.key}-again`, again: 'new key' };
        const from = sent.indexOf(d) + 1;
        sent.splice(from + Math.floor(rnd() * (sent.length - from + 1)), 0, again);
      }
      const { metrics, answers } = await deliver(sent);
      const replay = `GITHUB_ORDER_SEED=${SEED}: permutation ${p + 1} (seed ${SEED + p})`;
      const redelivered = answers.filter((a) => a.includes('(again') && !a.endsWith(': duplicate'));
      assert.deepEqual(redelivered, [], `${replay}: a redelivery changed something\n${answers.join('\n')}`);
      const differences = diff(countedAsArrived(expected, inOrder, sent), metrics);
      assert.deepEqual(
        differences,
        [],
        `${replay}: metrics differ from the in-order run\n${differences.join('\n')}\norder:\n${answers.join('\n')}`,
      );
    });
  }
});
