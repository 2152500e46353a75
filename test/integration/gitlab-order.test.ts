import assert from 'node:assert/strict';
import { mulberry32 } from '../helpers/fake-api/server.js';
import {
  build,
  deploymentHook,
  GITLAB_SECRET,
  jobHook,
  pipelineHook,
  postGitlab,
} from '../helpers/gitlab.js';
import { getMetrics, startTestApp } from '../helpers/start-app.js';

/*
 * SPEC sections 4 and 5: "exactly once, whatever order and however many times they arrive".
 * A realistic day of three GitLab pipelines (Job, Pipeline and Deployment Hooks, the Pipeline
 * Hooks' `builds` repeating the jobs) is delivered in order, then in seeded random permutations
 * with random redeliveries (with and without `Idempotency-Key`), each to a fresh service. The
 * event metrics of every permutation must equal those of the in-order run, except where the
 * README documents an order effect (see ORDER_EFFECTS below).
 *
 * Replay a failure with the seed it prints: GITLAB_ORDER_SEED=<seed> npx mocha <this file>.
 */

const SEED = Number(process.env.GITLAB_ORDER_SEED ?? 20261120);
const PERMUTATIONS = Number(process.env.GITLAB_ORDER_PERMUTATIONS ?? 12);
/** Share of deliveries sent a second (or third) time. */
const REDELIVERED = 0.3;

/** 2026-11-20T10:00:00Z; scenario times are seconds after it, in quarter seconds (sums stay exact). */
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0) / 1000;
const iso = (s: number) => new Date((T0 + s) * 1000).toISOString();
/** GitLab's `2026-11-20 10:02:30 UTC` form, truncated to the second as GitLab sends it. */
const utc = (s: number) => `${iso(Math.floor(s)).slice(0, 19).replace('T', ' ')} UTC`;
/** The `+0100` form Deployment Hooks use. */
const plus1 = (s: number) =>
  `${iso(Math.floor(s) + 3600)
    .slice(0, 19)
    .replace('T', ' ')} +0100`;

interface Job {
  readonly id: number;
  readonly pipelineId: number;
  readonly name: string;
  readonly stage: string;
  readonly ref: string;
  readonly tag: boolean;
  readonly runner: string;
  readonly allowFailure: boolean;
  readonly createdAt: number;
  status: string;
  pendingAt?: number;
  startedAt?: number;
  finishedAt?: number;
}

interface Pipeline {
  readonly id: number;
  readonly ref: string;
  readonly tag: boolean;
  readonly source: string;
  readonly createdAt: number;
  status: string;
  startedAt?: number;
  /** The latest job of each name (a retry replaces the job it retries). */
  readonly jobs: Job[];
}

interface Delivery {
  readonly name: string;
  readonly body: Record<string, unknown>;
  readonly key: string;
}

const FINAL = new Set(['success', 'failed', 'canceled']);

/** Builds the deliveries GitLab would send, in the order it would send them. */
class Scenario {
  readonly deliveries: Delivery[] = [];
  /** The `duration` of each finish of a pipeline with a status, in finish order: `<id> <status>`. */
  readonly finishes = new Map<string, { readonly pipeline: Pipeline; readonly durations: number[] }>();
  readonly #pipelines = new Map<number, Pipeline>();
  readonly #jobs = new Map<number, Job>();

  #push(name: string, body: Record<string, unknown>): void {
    this.deliveries.push({ name, body, key: `delivery-${this.deliveries.length}` });
  }

  pipeline(id: number, at: number, o: { ref?: string; tag?: boolean; source?: string } = {}): void {
    this.#pipelines.set(id, {
      id,
      ref: o.ref ?? 'main',
      tag: o.tag ?? false,
      source: o.source ?? 'push',
      createdAt: at,
      status: 'created',
      jobs: [],
    });
    this.pipelineStatus(id, 'created', at);
  }

  pipelineStatus(id: number, status: string, at: number): void {
    const p = this.#pipelines.get(id) as Pipeline;
    p.status = status;
    if (status === 'running' && p.startedAt === undefined) p.startedAt = at;
    const final = FINAL.has(status);
    const duration = final && p.startedAt !== undefined ? this.#ran(p, at) : null;
    if (duration !== null) {
      const finishes = this.finishes.get(`${id} ${status}`) ?? { pipeline: p, durations: [] };
      finishes.durations.push(duration);
      this.finishes.set(`${id} ${status}`, finishes);
    }
    this.#push(
      `pipeline ${id} ${status}@${at}`,
      pipelineHook({
        id,
        status,
        ref: p.ref,
        tag: p.tag,
        source: p.source,
        mergeRequest: p.source === 'merge_request_event',
        createdAt: utc(p.createdAt),
        finishedAt: final ? utc(at) : null,
        duration,
        queued: p.startedAt === undefined ? null : p.startedAt - p.createdAt,
        builds: p.jobs.map((j) => this.#build(j, at)),
      }),
    );
  }

  /**
   * GitLab's pipeline `duration`: the time any of its jobs ran (the union of their running
   * periods), so a manual job played an hour later adds its own run time, not the hour.
   */
  #ran(p: Pipeline, at: number): number {
    const periods = [...this.#jobs.values()]
      .filter((j) => j.pipelineId === p.id && j.startedAt !== undefined)
      .map((j) => [j.startedAt as number, j.finishedAt ?? at] as const)
      .sort((a, b) => a[0] - b[0]);
    let total = 0;
    let end = -Infinity;
    for (const [from, to] of periods) {
      if (to > end) total += to - Math.max(from, end);
      end = Math.max(end, to);
    }
    return total;
  }

  job(
    id: number,
    pipelineId: number,
    name: string,
    stage: string,
    at: number,
    o: { runner?: string; allowFailure?: boolean; retries?: number } = {},
  ): void {
    const p = this.#pipelines.get(pipelineId) as Pipeline;
    const job: Job = {
      id,
      pipelineId,
      name,
      stage,
      ref: p.ref,
      tag: p.tag,
      runner: o.runner ?? 'instance_type',
      allowFailure: o.allowFailure ?? false,
      createdAt: at,
      status: 'created',
    };
    this.#jobs.set(id, job);
    const same = p.jobs.findIndex((j) => j.name === name);
    if (same >= 0) p.jobs[same] = job;
    else p.jobs.push(job);
    this.jobStatus(id, 'created', at);
  }

  jobStatus(id: number, status: string, at: number): void {
    const j = this.#jobs.get(id) as Job;
    j.status = status;
    if (status === 'pending') j.pendingAt = at;
    if (status === 'running') j.startedAt = at;
    if (FINAL.has(status)) j.finishedAt = at;
    const t = this.#times(j, at);
    this.#push(
      `job ${id} ${status}@${at}`,
      jobHook({
        id,
        status,
        name: j.name,
        stage: j.stage,
        pipelineId: j.pipelineId,
        ref: j.ref,
        tag: j.tag,
        createdAt: iso(j.createdAt),
        startedAt: j.startedAt === undefined ? null : iso(j.startedAt),
        finishedAt: j.finishedAt === undefined ? null : iso(j.finishedAt),
        duration: t.duration,
        queued: t.queued,
        runnerType: j.startedAt === undefined ? null : j.runner,
        allowFailure: j.allowFailure,
      }),
    );
  }

  deployment(id: number, status: string, at: number, environment: string): void {
    this.#push(
      `deployment ${id} ${status}@${at}`,
      deploymentHook({ id, status, at: plus1(at), environment }),
    );
  }

  /**
   * GitLab's running figures: `duration` grows while the job runs, `queued_duration` while it
   * waits (so a job canceled while pending still has one).
   */
  #times(j: Job, at: number): { duration: number | null; queued: number | null } {
    return {
      duration: j.startedAt === undefined ? null : (j.finishedAt ?? at) - j.startedAt,
      queued: j.pendingAt === undefined ? null : (j.startedAt ?? j.finishedAt ?? at) - j.pendingAt,
    };
  }

  #build(j: Job, at: number): Record<string, unknown> {
    const t = this.#times(j, at);
    return {
      ...build({
        id: j.id,
        status: j.status,
        name: j.name,
        stage: j.stage,
        startedAt: j.startedAt === undefined ? null : utc(j.startedAt),
        finishedAt: j.finishedAt === undefined ? null : utc(j.finishedAt),
        duration: t.duration,
        queued: t.queued,
        runnerType: j.startedAt === undefined ? null : j.runner,
      }),
      created_at: utc(j.createdAt),
      allow_failure: j.allowFailure,
    };
  }
}

function scenario(): Scenario {
  const s = new Scenario();

  // 6001 on main: rspec fails (lint fails too, allow_failure), deploy-staging is skipped and the
  // pipeline fails; rspec is retried (a new job id), the pipeline runs again and succeeds, and
  // deploy-staging deploys to staging.
  s.pipeline(6001, 0);
  s.job(7001, 6001, 'compile', 'build', 0);
  s.job(7002, 6001, 'rspec', 'test', 0, { runner: 'project_type' });
  s.job(7003, 6001, 'lint', 'test', 0, { allowFailure: true });
  s.job(7004, 6001, 'deploy-staging', 'deploy', 0, { runner: 'project_type' });
  s.pipelineStatus(6001, 'pending', 1);
  s.jobStatus(7001, 'pending', 1);
  s.jobStatus(7001, 'running', 4.25);
  s.pipelineStatus(6001, 'running', 4.25);
  s.jobStatus(7001, 'success', 64.5);
  s.jobStatus(7002, 'pending', 65);
  s.jobStatus(7003, 'pending', 65);
  s.jobStatus(7002, 'running', 70);
  s.jobStatus(7003, 'running', 71.5);
  s.jobStatus(7003, 'failed', 90.75);
  s.jobStatus(7002, 'failed', 130);
  s.jobStatus(7004, 'skipped', 130.5);
  s.pipelineStatus(6001, 'failed', 130.5);
  s.job(7010, 6001, 'rspec', 'test', 400, { runner: 'project_type' });
  s.jobStatus(7010, 'pending', 400.25);
  s.pipelineStatus(6001, 'running', 400.25);
  s.jobStatus(7004, 'created', 400.25);
  s.jobStatus(7010, 'running', 403);
  s.jobStatus(7010, 'success', 460.5);
  s.jobStatus(7004, 'pending', 461);
  s.jobStatus(7004, 'running', 465.75);
  s.deployment(801, 'running', 466, 'staging');
  s.deployment(801, 'success', 520, 'staging');
  s.jobStatus(7004, 'success', 521.25);
  s.pipelineStatus(6001, 'success', 521.25);

  // 6002 on main with a manual deploy-production job (allow_failure): the pipeline succeeds
  // with it waiting; it is played, fails to deploy, is retried and deploys.
  s.pipeline(6002, 1000);
  s.job(7021, 6002, 'compile', 'build', 1000);
  s.job(7022, 6002, 'deploy-production', 'deploy', 1000, { runner: 'project_type', allowFailure: true });
  s.pipelineStatus(6002, 'pending', 1000.5);
  s.jobStatus(7021, 'pending', 1000.5);
  s.jobStatus(7021, 'running', 1002);
  s.pipelineStatus(6002, 'running', 1002);
  s.jobStatus(7021, 'success', 1061.5);
  s.jobStatus(7022, 'manual', 1062);
  s.pipelineStatus(6002, 'success', 1062);

  // 6003, a merge request pipeline for feature/login, canceled by a newer push: rspec is
  // canceled while running, lint while still pending.
  s.pipeline(6003, 1500, { ref: 'feature/login', source: 'merge_request_event' });
  s.job(7031, 6003, 'rspec', 'test', 1500, { runner: 'group_type' });
  s.job(7032, 6003, 'lint', 'test', 1500);
  s.pipelineStatus(6003, 'pending', 1500.5);
  s.jobStatus(7031, 'pending', 1500.5);
  s.jobStatus(7032, 'pending', 1500.5);
  s.jobStatus(7031, 'running', 1503);
  s.pipelineStatus(6003, 'running', 1503);
  s.jobStatus(7032, 'canceled', 1530);
  s.jobStatus(7031, 'canceling', 1530);
  s.jobStatus(7031, 'canceled', 1531.5);
  s.pipelineStatus(6003, 'canceled', 1531.5);

  // 6002's manual job played: its deployment fails; retried, it deploys.
  s.jobStatus(7022, 'pending', 2000);
  s.pipelineStatus(6002, 'running', 2000);
  s.jobStatus(7022, 'running', 2003.5);
  s.deployment(802, 'running', 2004, 'production');
  s.deployment(802, 'failed', 2040, 'production');
  s.jobStatus(7022, 'failed', 2041.25);
  s.pipelineStatus(6002, 'success', 2041.25);
  s.job(7023, 6002, 'deploy-production', 'deploy', 3000, { runner: 'project_type', allowFailure: true });
  s.jobStatus(7023, 'pending', 3000);
  s.pipelineStatus(6002, 'running', 3000);
  s.jobStatus(7023, 'running', 3001.25);
  s.deployment(803, 'running', 3002, 'production');
  s.deployment(803, 'success', 3060, 'production');
  s.jobStatus(7023, 'success', 3061);
  s.pipelineStatus(6002, 'success', 3061);

  // 6004, a tag pipeline that packages a release, and 6005 on an untracked branch that
  // deploys a review app (canceled once, then deployed) while 6004 runs.
  s.pipeline(6004, 4000, { ref: 'v1.4.0', tag: true });
  s.job(7041, 6004, 'package', 'build', 4000);
  s.pipeline(6005, 4000.25, { ref: 'fix/typo' });
  s.job(7051, 6005, 'review', 'deploy', 4000.25, { runner: 'group_type' });
  s.pipelineStatus(6004, 'pending', 4000.5);
  s.jobStatus(7041, 'pending', 4000.5);
  s.pipelineStatus(6005, 'pending', 4000.75);
  s.jobStatus(7051, 'pending', 4000.75);
  s.jobStatus(7041, 'running', 4010);
  s.pipelineStatus(6004, 'running', 4010);
  s.jobStatus(7051, 'running', 4012.5);
  s.pipelineStatus(6005, 'running', 4012.5);
  s.deployment(804, 'running', 4013, 'review/fix-typo');
  s.deployment(804, 'canceled', 4020, 'review/fix-typo');
  s.deployment(805, 'running', 4021, 'review/fix-typo');
  s.deployment(805, 'success', 4050, 'review/fix-typo');
  s.jobStatus(7051, 'success', 4051.75);
  s.pipelineStatus(6005, 'success', 4051.75);
  s.jobStatus(7041, 'success', 4100);
  s.pipelineStatus(6004, 'success', 4100);
  return s;
}

/** The series compared: counters, histograms' `_count` and `_sum`, and the gauges. */
const COMPARED =
  /^(delivery_(job_runs_total|pipeline_runs_total|deployment_runs_total|jobs_active|pipeline_up|pipeline_last_run_timestamp_seconds|pipeline_last_run_duration_seconds|environment_up|environment_last_deployment_timestamp_seconds)|delivery_(job_duration_seconds|job_queued_seconds|pipeline_duration_seconds|pipeline_queued_seconds|deployment_duration_seconds|environment_recovery_seconds)_(count|sum))\{/;

function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!COMPARED.test(line)) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

interface OrderEffect {
  readonly series: string;
  /** Whether the permuted run's value is one the README allows, given the in-order value. */
  allows(inOrder: number | undefined, permuted: number | undefined): boolean;
}

/**
 * README, "Dedupe": a GitLab pipeline "that succeeds again when a manual job (a deploy gate) is
 * played later is not a second successful run, though its later finish moves the last-run
 * gauges (`delivery_pipeline_up` follows the latest finish). Such a run's
 * `delivery_pipeline_duration_seconds` is the `duration` of whichever of its hooks with that
 * status arrives first: in order the first finish's, but if the later finish arrives before the
 * earlier one, the later's (a histogram cannot take an observation back; the count and the
 * last-run gauges do not depend on the order)". So the `_sum` of such a status may hold any of
 * its finishes' durations instead of the first's; its `_count` and everything else must match.
 */
function orderEffects(s: Scenario): OrderEffect[] {
  const effects: OrderEffect[] = [];
  for (const [key, { pipeline, durations }] of s.finishes) {
    if (durations.length < 2) continue;
    const status = key.split(' ')[1] as string;
    assert.ok(pipeline.ref === 'main' && pipeline.source === 'push', 'the labels below assume main, push');
    const series = `delivery_pipeline_duration_seconds_sum{source="gitlab",project="acme/payments-api",pipeline="push",ref="main",status="${status}"}`;
    assert.ok(!effects.some((e) => e.series === series), 'one pipeline finishing twice per status only');
    const first = durations[0] as number;
    effects.push({
      series,
      allows: (inOrder, permuted) =>
        inOrder !== undefined &&
        permuted !== undefined &&
        durations.some((d) => inOrder - first + d === permuted),
    });
  }
  return effects;
}

function differences(
  expected: Map<string, number>,
  actual: Map<string, number>,
  effects: readonly OrderEffect[],
): string[] {
  const out: string[] = [];
  for (const name of new Set([...expected.keys(), ...actual.keys()])) {
    const [want, got] = [expected.get(name), actual.get(name)];
    const effect = effects.find((e) => e.series === name);
    if (effect !== undefined ? !effect.allows(want, got) : want !== got)
      out.push(`${name}: in order ${want}, permuted ${got}`);
  }
  return out.sort();
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

interface Send {
  readonly delivery: Delivery;
  readonly keyed: boolean;
}

/** Sends the deliveries to a fresh service, one at a time; returns its compared series. */
async function run(sends: readonly Send[]): Promise<Map<string, number>> {
  const app = await startTestApp({
    GITLAB_WEBHOOK_TOKEN_ACME_PAYMENTS_API: GITLAB_SECRET,
    LOG_LEVEL: 'warn',
  });
  try {
    for (const { delivery, keyed } of sends) {
      const res = await postGitlab(app.url, delivery.body, keyed ? { key: delivery.key } : {});
      assert.ok(
        res.status === 200 && (res.body.outcome === 'processed' || res.body.outcome === 'duplicate'),
        `${delivery.name}: ${res.status} ${JSON.stringify(res.body)}`,
      );
    }
    return series(await getMetrics(app.url));
  } finally {
    await app.stop();
  }
}

describe('GitLab hooks in any order, any number of times (SPEC sections 4 and 5)', function () {
  this.timeout(120_000);

  it(`give the metrics of the in-order run (seed ${SEED}, ${PERMUTATIONS} permutations)`, async () => {
    const s = scenario();
    const deliveries = s.deliveries;
    const effects = orderEffects(s);
    assert.equal(effects.length, 1, 'the scenario plays a deploy gate after its pipeline succeeded');
    const inOrder = await run(deliveries.map((delivery) => ({ delivery, keyed: true })));
    // The scenario reaches every family compared.
    for (const family of [
      'delivery_job_runs_total',
      'delivery_job_duration_seconds_sum',
      'delivery_job_queued_seconds_sum',
      'delivery_jobs_active',
      'delivery_pipeline_runs_total',
      'delivery_pipeline_duration_seconds_sum',
      'delivery_pipeline_queued_seconds_sum',
      'delivery_pipeline_up',
      'delivery_pipeline_last_run_timestamp_seconds',
      'delivery_pipeline_last_run_duration_seconds',
      'delivery_deployment_runs_total',
      'delivery_deployment_duration_seconds_sum',
      'delivery_environment_up',
      'delivery_environment_last_deployment_timestamp_seconds',
      'delivery_environment_recovery_seconds_sum',
    ]) {
      assert.ok(
        [...inOrder.keys()].some((k) => k.startsWith(`${family}{`)),
        `the in-order run has no ${family}`,
      );
    }

    const random = mulberry32(SEED);
    const failures: string[] = [];
    for (let n = 0; n < PERMUTATIONS; n++) {
      const copies = [...deliveries];
      for (const d of deliveries) {
        if (random() < REDELIVERED) copies.push(d);
        if (random() < REDELIVERED / 3) copies.push(d);
      }
      const sends = shuffle(copies, random).map((delivery) => ({ delivery, keyed: random() < 0.5 }));
      const diff = differences(inOrder, await run(sends), effects);
      if (diff.length > 0) {
        failures.push(
          `permutation ${n}: ${diff.length} series differ from the in-order run:\n    ${diff.join('\n    ')}\n` +
            `  order sent: ${sends.map((s) => `${s.delivery.name}${s.keyed ? ' (keyed)' : ''}`).join(', ')}`,
        );
      }
    }
    assert.deepEqual(failures, [], `seed ${SEED} (GITLAB_ORDER_SEED to replay):\n${failures.join('\n')}`);
  });
});
