/**
 * One full GitLab reconciliation cycle over 1,000 projects (issue: "1,000 projects in the fake,
 * one full reconciliation cycle: requests made, wall time, peak RSS").
 *
 * The fake GitLab API (test/helpers/fake-api) runs inside this process; the built service runs
 * as its own process, scraping the group `bench` on a schedule that fires every 5 s (one run at
 * a time). Two runs are measured: the first, for which everything in the last 24 h is new, and
 * the second, which finds nothing new. For each: the requests the fake saw, by endpoint, against
 * the scraper's cost model; wall time (the service's own histogram and the fake's clock); peak
 * RSS (VmHWM from /proc); the busiest second the fake saw; 429s and scrape errors. After the
 * first run the service's metrics are checked against the scenario.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import {
  FakeGitlab,
  type GitlabJobInput,
  type GitlabRunnerInput,
} from '../test/helpers/fake-api/fake-gitlab.js';
import {
  type FakeServerOptions,
  type Handler,
  type LoggedRequest,
  mulberry32,
} from '../test/helpers/fake-api/server.js';
import type { Bench, BenchContext, BenchOutcome } from './lib/bench.js';
import { type DeliveryMetrics, snapshotBuild, startDeliveryMetrics } from './lib/delivery-metrics.js';
import { samplesOf, send } from './lib/http.js';
import { type CpuSnapshot, cpuSnapshot, cpuTimes, describeExit, otherCpuSeconds } from './lib/process.js';
import { formatMs, formatPercent, formatTable } from './lib/table.js';

const PROJECTS = 1000;
const GROUP = 'bench';
const FINISHED_PER_PROJECT = 3;
const JOBS_PER_PIPELINE = 4;
/** One running pipeline per this many projects. */
const RUNNING_EVERY = 10;
/** The service's request budget (API_MAX_RPS), and the fake's per-second limit: excess shows as 429s. */
const API_MAX_RPS = 200;
/**
 * The fake's hourly budget. Its default (5,000) is half of what a first run needs (about
 * 10,000 requests): it would stop the run halfway with a 429 naming the end of the hour.
 */
const HOURLY_BUDGET = 1_000_000;
const SCHEDULE = '*/5 * * * * *';
const LOOKBACK = '24h';
/** Page size the scraper asks for (per_page), for the cost model. */
const PER_PAGE = 100;
const FIRST_RUN_TIMEOUT_MS = 240_000;
const SECOND_RUN_TIMEOUT_MS = 60_000;
const RSS_SAMPLE_MS = 100;
/** /metrics renders after run 2, to see whether each one leaves the service bigger. */
const EXTRA_RENDERS = 5;
/**
 * The spacing src/scrapers/limiter.ts gives request starts at API_MAX_RPS (Bottleneck minTime:
 * 5% and 5 ms of margin), copied here for the report's floor column: 11 ms at 200 req/s.
 */
const LIMITER_MIN_TIME_MS = Math.ceil((1000 / API_MAX_RPS) * 1.05) + 5;
const SEED = 20_261_122;
const TOKEN = `bench-${randomUUID()}`;
/** Cores' worth of CPU used by processes other than the service and this one. */
const OTHER_LOAD_WARNING = 0.15;

const RUNNERS_ROUTE = '/groups/:id/runners';

const KINDS = [
  'group projects',
  'pipelines list',
  'pipeline detail',
  'pipeline jobs',
  'deployments',
  'environments',
  'merge requests',
  'runners',
  'other',
] as const;
type Kind = (typeof KINDS)[number];
type KindCounts = Record<Kind, number>;

const zeroCounts = (): KindCounts => Object.fromEntries(KINDS.map((k) => [k, 0])) as KindCounts;
const total = (c: KindCounts): number => KINDS.reduce((sum, k) => sum + c[k], 0);

function kindOf(path: string): Kind {
  const p = path.replace(/^\/api\/v4/, '');
  if (/^\/groups\/[^/]+\/projects$/.test(p)) return 'group projects';
  if (/^\/groups\/[^/]+\/runners$/.test(p)) return 'runners';
  if (/^\/projects\/[^/]+\/pipelines$/.test(p)) return 'pipelines list';
  if (/^\/projects\/[^/]+\/pipelines\/[^/]+$/.test(p)) return 'pipeline detail';
  if (/^\/projects\/[^/]+\/pipelines\/[^/]+\/jobs$/.test(p)) return 'pipeline jobs';
  if (/^\/projects\/[^/]+\/deployments$/.test(p)) return 'deployments';
  if (/^\/projects\/[^/]+\/environments$/.test(p)) return 'environments';
  if (/^\/projects\/[^/]+\/merge_requests$/.test(p)) return 'merge requests';
  return 'other';
}

// ---- the scenario ----

const RUNNERS: readonly GitlabRunnerInput[] = [
  {
    id: 1,
    description: 'shared-1',
    runner_type: 'instance_type',
    status: 'online',
  },
  {
    id: 2,
    description: 'shared-2',
    runner_type: 'instance_type',
    status: 'online',
  },
  {
    id: 3,
    description: 'bench-docker',
    runner_type: 'group_type',
    status: 'online',
    groups: [GROUP],
  },
  {
    id: 4,
    description: 'bench-docker-old',
    runner_type: 'group_type',
    status: 'offline',
    groups: [GROUP],
  },
  {
    id: 5,
    description: 'bench-arm',
    runner_type: 'group_type',
    status: 'online',
    paused: true,
    groups: [GROUP],
  },
  // A project runner: not in GET /groups/:id/runners, but jobs ran on it.
  {
    id: 6,
    description: 'deploy-box',
    runner_type: 'project_type',
    status: 'online',
  },
];

/** What the scenario implies: the cost model's requests and the metrics the first run must yield. */
interface Expected {
  readonly projects: number;
  readonly finishedPipelines: number;
  readonly runningPipelines: number;
  readonly jobsInFinished: number;
  readonly pipelinesByStatus: Record<string, number>;
  readonly jobsByStatus: Record<string, number>;
  /** Jobs of finished pipelines by runner type (`delivery_job_queued_seconds_count`). */
  readonly jobsByRunnerType: Record<string, number>;
  /** `delivery_runners` by `scope/status`. */
  readonly runners: Record<string, number>;
  readonly firstRun: KindCounts;
  readonly secondRun: KindCounts;
}

const RUNNER_TYPE_LABEL: Record<string, string> = {
  instance_type: 'instance',
  group_type: 'group',
  project_type: 'project',
};

/**
 * 1,000 projects bench/p0001..p1000, each with 3 finished pipelines created 1-23 h ago (two on
 * main, one merge request pipeline), 4 jobs each (build, test, lint with allow_failure, notify
 * in .post) with per-stage queue times and durations; test fails in ~15% of pipelines (the
 * pipeline fails), lint in ~10% (it does not). One project in ten also has a running pipeline.
 */
function seedScenario(fake: FakeGitlab, nowMs: number): Expected {
  const random = mulberry32(SEED);
  const between = (lo: number, hi: number) => lo + random() * (hi - lo);
  const seconds = (lo: number, hi: number) => Math.round(between(lo, hi) * 1000);
  const pipelinesByStatus: Record<string, number> = {};
  const jobsByStatus: Record<string, number> = {};
  const jobsByRunnerType: Record<string, number> = {};
  const bump = (m: Record<string, number>, k: string) => {
    m[k] = (m[k] ?? 0) + 1;
  };
  const runnerType = (id: number) => RUNNERS.find((r) => r.id === id)?.runner_type ?? 'instance_type';
  let finishedPipelines = 0;
  let runningPipelines = 0;
  let jobsInFinished = 0;

  for (const r of RUNNERS) fake.addRunner(r);
  for (let i = 1; i <= PROJECTS; i++) {
    const projectId = 10_000 + i;
    fake.addProject({
      id: projectId,
      path_with_namespace: `${GROUP}/p${String(i).padStart(4, '0')}`,
      default_branch: 'main',
    });
    for (let k = 0; k < FINISHED_PER_PROJECT; k++) {
      const pipelineId = 1_000_000 + i * 10 + k;
      const mr = k === FINISHED_PER_PROJECT - 1;
      const created = nowMs - Math.round(between(1, 23) * 3_600_000);
      const buildStart = created + seconds(2, 90);
      const buildEnd = buildStart + seconds(60, 300);
      const testStart = buildEnd + seconds(1, 30);
      const testEnd = testStart + seconds(120, 900);
      const lintStart = buildEnd + seconds(1, 30);
      const lintEnd = lintStart + seconds(20, 90);
      const notifyStart = Math.max(testEnd, lintEnd) + seconds(1, 10);
      const notifyEnd = notifyStart + seconds(5, 20);
      const testFailed = random() < 0.15;
      const lintFailed = random() < 0.1;
      const status = testFailed ? 'failed' : 'success';
      fake.addPipeline(projectId, {
        id: pipelineId,
        iid: k + 1,
        ref: mr ? `refs/merge-requests/${i}/head` : 'main',
        source: mr ? 'merge_request_event' : 'push',
        status,
        created_at: created,
        started_at: buildStart,
        finished_at: notifyEnd,
        updated_at: notifyEnd + 1000,
      });
      finishedPipelines++;
      bump(pipelinesByStatus, status);
      const buildRunner = i % 5 === 0 ? 6 : i % 7 === 0 ? 4 : 3;
      const jobs: GitlabJobInput[] = [
        {
          id: pipelineId * 10,
          name: 'build',
          stage: 'build',
          status: 'success',
          created_at: created,
          started_at: buildStart,
          finished_at: buildEnd,
          queued_duration: (buildStart - created) / 1000,
          runner_id: buildRunner,
        },
        {
          id: pipelineId * 10 + 1,
          name: 'test',
          stage: 'test',
          status: testFailed ? 'failed' : 'success',
          created_at: created,
          started_at: testStart,
          finished_at: testEnd,
          queued_duration: (testStart - buildEnd) / 1000,
          runner_id: random() < 0.5 ? 1 : 2,
        },
        {
          id: pipelineId * 10 + 2,
          name: 'lint',
          stage: 'test',
          status: lintFailed ? 'failed' : 'success',
          allow_failure: true,
          created_at: created,
          started_at: lintStart,
          finished_at: lintEnd,
          queued_duration: (lintStart - buildEnd) / 1000,
          runner_id: 2,
        },
        {
          id: pipelineId * 10 + 3,
          name: 'notify',
          stage: '.post',
          status: 'success',
          created_at: created,
          started_at: notifyStart,
          finished_at: notifyEnd,
          queued_duration: (notifyStart - Math.max(testEnd, lintEnd)) / 1000,
          runner_id: 3,
        },
      ];
      if (jobs.length !== JOBS_PER_PIPELINE) throw new Error('scenario: wrong number of jobs');
      for (const job of jobs) {
        fake.addJob(projectId, pipelineId, job);
        jobsInFinished++;
        bump(jobsByStatus, job.status);
        bump(jobsByRunnerType, RUNNER_TYPE_LABEL[runnerType(job.runner_id ?? 0)] ?? 'unknown');
      }
    }
    if (i % RUNNING_EVERY === 0) {
      const pipelineId = 1_000_000 + i * 10 + FINISHED_PER_PROJECT;
      const created = nowMs - 6 * 60_000;
      fake.addPipeline(projectId, {
        id: pipelineId,
        iid: FINISHED_PER_PROJECT + 1,
        ref: 'main',
        status: 'running',
        created_at: created,
        started_at: created + 20_000,
        updated_at: nowMs - 60_000,
      });
      fake.addJob(projectId, pipelineId, {
        id: pipelineId * 10,
        name: 'build',
        stage: 'build',
        status: 'success',
        created_at: created,
        started_at: created + 20_000,
        finished_at: created + 200_000,
        runner_id: 3,
      });
      fake.addJob(projectId, pipelineId, {
        id: pipelineId * 10 + 1,
        name: 'test',
        stage: 'test',
        status: 'running',
        created_at: created,
        started_at: created + 210_000,
        runner_id: 1,
      });
      runningPipelines++;
    }
  }

  const runners: Record<string, number> = {};
  for (const scope of ['instance', 'group', 'project'])
    for (const status of ['online', 'offline', 'paused']) runners[`${scope}/${status}`] = 0;
  for (const r of RUNNERS) {
    const listed =
      r.runner_type === 'instance_type' || (r.runner_type === 'group_type' && r.groups?.includes(GROUP));
    if (!listed) continue;
    const status = r.paused === true ? 'paused' : r.status === 'online' ? 'online' : 'offline';
    bump(runners, `${RUNNER_TYPE_LABEL[r.runner_type]}/${status}`);
  }

  // The cost model (see GitlabScraper): discovery pages, one pipelines page per project (at
  // most 4 pipelines each), detail and jobs (one page) per finished pipeline, deployments,
  // environments and merged merge requests per project with activity (all of them), runners.
  const firstRun = zeroCounts();
  firstRun['group projects'] = Math.ceil(PROJECTS / PER_PAGE);
  firstRun['pipelines list'] = PROJECTS;
  firstRun['pipeline detail'] = finishedPipelines;
  firstRun['pipeline jobs'] = finishedPipelines;
  firstRun.deployments = PROJECTS;
  firstRun.environments = PROJECTS;
  firstRun['merge requests'] = PROJECTS;
  firstRun.runners = 1;
  // Nothing new: one pipelines page per project (discovery is cached for an hour) and runners.
  const secondRun = zeroCounts();
  secondRun['pipelines list'] = PROJECTS;
  secondRun.runners = 1;
  return {
    projects: PROJECTS,
    finishedPipelines,
    runningPipelines,
    jobsInFinished,
    pipelinesByStatus,
    jobsByStatus,
    jobsByRunnerType,
    runners,
    firstRun,
    secondRun,
  };
}

// ---- watching the run from the fake's side ----

/** One run as the fake sees it: from its first request to the answer to the runner list. */
interface CycleMark {
  readonly startMs: number;
  endMs?: number;
  routed: number;
  readonly serviceCpuStart: number | undefined;
  serviceCpuEnd?: number | undefined;
  readonly ownCpuStart: number | undefined;
  ownCpuEnd?: number | undefined;
  /** /proc/<pid>/status of the service right after the run's last answer. */
  memoryAtEnd?: Memory | undefined;
}

/**
 * FakeGitlab calling back after each routed request (429s of its per-second limit are answered
 * before routing and not seen here; the request log has them). The runner list is the last
 * request of a run, so its answer marks the run's end without scraping /metrics.
 */
class ObservedGitlab extends FakeGitlab {
  onAnswered: ((route: string, arrivedMs: number) => void) | undefined;

  protected override route(method: string, pattern: string, handler: Handler): void {
    super.route(method, pattern, (ctx) => {
      const arrived = performance.now();
      try {
        return handler(ctx);
      } finally {
        this.onAnswered?.(pattern, arrived);
      }
    });
  }
}

interface Memory {
  readonly rssKb: number;
  readonly hwmKb: number;
}

/** The service's memory at one point of the bench, with the /metrics render just before it, if any. */
interface MemoryPoint {
  readonly point: string;
  readonly rssKb: number | undefined;
  readonly hwmKb: number | undefined;
  readonly render?: {
    readonly ms: number;
    readonly bytes: number;
    readonly lines: number;
    /** The service's JS heap in use and external memory as that render began (prom-client). */
    readonly heapUsedBytes: number | undefined;
    readonly externalBytes: number | undefined;
    /** Major (mark-compact) collections so far: heap that survives them is live, not garbage. */
    readonly majorGcs: number | undefined;
  };
}

function readMemory(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    const rssKb = kb('VmRSS');
    const hwmKb = kb('VmHWM');
    return Number.isFinite(rssKb) && Number.isFinite(hwmKb) ? { rssKb, hwmKb } : undefined;
  } catch {
    return undefined;
  }
}

class Tracker {
  readonly cycles: CycleMark[] = [];
  readonly #pid: number;

  constructor(pid: number) {
    this.#pid = pid;
  }

  answered(route: string, arrivedMs: number): void {
    let current = this.cycles.at(-1);
    if (current === undefined || current.endMs !== undefined) {
      current = {
        startMs: arrivedMs,
        routed: 0,
        serviceCpuStart: cpuTimes(this.#pid)?.own,
        ownCpuStart: cpuTimes('self')?.own,
      };
      this.cycles.push(current);
    }
    current.routed++;
    if (route === RUNNERS_ROUTE) {
      current.endMs = performance.now();
      current.serviceCpuEnd = cpuTimes(this.#pid)?.own;
      current.ownCpuEnd = cpuTimes('self')?.own;
      current.memoryAtEnd = readMemory(this.#pid);
    }
  }
}

/** VmRSS and VmHWM of `pid` every RSS_SAMPLE_MS. */
function sampleMemory(pid: number): {
  samples: Array<Memory & { t: number }>;
  stop(): void;
} {
  const samples: Array<Memory & { t: number }> = [];
  const take = () => {
    const m = readMemory(pid);
    if (m !== undefined) samples.push({ t: performance.now(), ...m });
  };
  take();
  const timer = setInterval(take, RSS_SAMPLE_MS);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
    },
  };
}

// ---- the service's metrics ----

interface ServiceMetrics {
  readonly runs: number;
  readonly durationSumS: number;
  readonly apiRequests: Record<string, number>;
  readonly scrapeErrors: Record<string, number>;
  readonly pipelineRuns: number;
  readonly pipelineRunsByStatus: Record<string, number>;
  readonly jobRuns: number;
  readonly jobRunsByStatus: Record<string, number>;
  readonly jobsQueuedByRunnerType: Record<string, number>;
  readonly pipelinesActive: Record<string, number>;
  readonly runners: Record<string, number>;
  readonly residentBytes: number | undefined;
  /** prom-client's nodejs_heap_size_used_bytes, collected as the render began. */
  readonly heapUsedBytes: number | undefined;
  readonly externalBytes: number | undefined;
  /** prom-client's nodejs_gc_duration_seconds_count{kind="major"}. */
  readonly majorGcs: number | undefined;
  /** The exposition itself: its size and how long the GET took. */
  readonly expositionBytes: number;
  readonly expositionLines: number;
  readonly renderMs: number;
}

const labelOf = (labels: string, name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(labels)?.[1] ?? '';

function sumBy(exposition: string, metric: string, key: (labels: string) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [labels, value] of samplesOf(exposition, metric)) {
    const k = key(labels);
    out[k] = (out[k] ?? 0) + value;
  }
  return out;
}

const sumOf = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

async function readServiceMetrics(url: string): Promise<ServiceMetrics> {
  const started = performance.now();
  const text = await send(`${url}/metrics`, { method: 'GET' });
  const renderMs = performance.now() - started;
  // delivery_api_* carry `api`, delivery_scrape_* `scraper` (SPEC section 5).
  const gitlab = (labels: string) =>
    labelOf(labels, 'api') === 'gitlab' || labelOf(labels, 'scraper') === 'gitlab';
  const only = (metric: string) => {
    for (const [labels, value] of samplesOf(text, metric)) if (gitlab(labels)) return value;
    return 0;
  };
  const byLabel = (metric: string, label: string) => sumBy(text, metric, (l) => labelOf(l, label));
  const pipelineRunsByStatus = byLabel('delivery_pipeline_runs_total', 'status');
  const jobRunsByStatus = byLabel('delivery_job_runs_total', 'status');
  const apiRequests: Record<string, number> = {};
  for (const [labels, value] of samplesOf(text, 'delivery_api_requests_total'))
    if (gitlab(labels)) apiRequests[labelOf(labels, 'code')] = value;
  const scrapeErrors: Record<string, number> = {};
  for (const [labels, value] of samplesOf(text, 'delivery_scrape_errors_total'))
    if (gitlab(labels) && value > 0) scrapeErrors[labelOf(labels, 'kind')] = value;
  const runners: Record<string, number> = {};
  for (const [labels, value] of samplesOf(text, 'delivery_runners'))
    if (labelOf(labels, 'source') === 'gitlab')
      runners[`${labelOf(labels, 'scope')}/${labelOf(labels, 'status')}`] = value;
  const resident = samplesOf(text, 'process_resident_memory_bytes').get('');
  return {
    runs: only('delivery_scrape_duration_seconds_count'),
    durationSumS: only('delivery_scrape_duration_seconds_sum'),
    apiRequests,
    scrapeErrors,
    pipelineRuns: sumOf(pipelineRunsByStatus),
    pipelineRunsByStatus,
    jobRuns: sumOf(jobRunsByStatus),
    jobRunsByStatus,
    jobsQueuedByRunnerType: byLabel('delivery_job_queued_seconds_count', 'runner_type'),
    pipelinesActive: byLabel('delivery_pipelines_active', 'state'),
    runners,
    residentBytes: resident,
    heapUsedBytes: samplesOf(text, 'nodejs_heap_size_used_bytes').get(''),
    externalBytes: samplesOf(text, 'nodejs_external_memory_bytes').get(''),
    majorGcs: samplesOf(text, 'nodejs_gc_duration_seconds_count').get('{kind="major"}'),
    expositionBytes: Buffer.byteLength(text),
    expositionLines: text.split('\n').length,
    renderMs,
  };
}

// ---- one run's numbers ----

interface CycleResult {
  readonly cycle: 1 | 2;
  readonly completed: boolean;
  readonly requests: number;
  readonly expectedRequests: number;
  readonly byKind: KindCounts;
  readonly expectedByKind: KindCounts;
  /** Answers other than 200, by status. */
  readonly nonOk: Record<string, number>;
  readonly tooMany: number;
  readonly maxPerSecond: number;
  /** The service's own count of the run's requests (delivery_api_requests_total, by code). */
  readonly serviceCounted?: Record<string, number>;
  readonly scrapeErrors?: Record<string, number>;
  /** delivery_scrape_duration_seconds: this run's share of _sum. */
  readonly serviceWallS?: number;
  /** The fake's clock: first request's arrival to the answer to the runner list. */
  readonly fakeWallS?: number;
  /** requests / API_MAX_RPS: what the budget alone would allow. */
  readonly budgetBoundS: number;
  /** requests x the limiter's spacing (LIMITER_MIN_TIME_MS): what the limiter as built allows. */
  readonly limiterFloorS: number;
  readonly achievedRps?: number;
  /** Between consecutive request arrivals at the fake, ms. */
  readonly gapMs?: { p50: number; p90: number; p99: number; max: number };
  /** Per endpoint kind: the time from each of its requests to the next request (what follows it). */
  readonly gapAfterMs?: Record<string, { count: number; totalS: number; meanMs: number }>;
  readonly serviceCpuS?: number;
  readonly harnessCpuS?: number;
  readonly memoryAtEnd?: Memory;
  /** The largest VmRSS sampled between the run's first request and its last answer. */
  readonly maxSampledRssKb?: number;
  readonly metrics?: Omit<ServiceMetrics, 'apiRequests' | 'scrapeErrors'>;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Splits the fake's log into runs: each ends with its (answered) runner list request. */
function splitRuns(log: readonly LoggedRequest[]): LoggedRequest[][] {
  const runs: LoggedRequest[][] = [[]];
  for (const r of log) {
    runs.at(-1)?.push(r);
    if (kindOf(r.path) === 'runners' && r.status !== 429) runs.push([]);
  }
  return runs.filter((r) => r.length > 0);
}

function subtractCounts(after: Record<string, number>, before: Record<string, number> | undefined) {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before?.[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

function analyseCycle(
  cycle: 1 | 2,
  requests: readonly LoggedRequest[],
  expectedByKind: KindCounts,
  fake: FakeGitlab,
  mark: CycleMark | undefined,
  metrics: ServiceMetrics | undefined,
  previous: ServiceMetrics | undefined,
  samples: ReadonlyArray<Memory & { t: number }>,
): CycleResult {
  const byKind = zeroCounts();
  const nonOk: Record<string, number> = {};
  for (const r of requests) {
    byKind[kindOf(r.path)]++;
    if (r.status !== 200) nonOk[String(r.status)] = (nonOk[String(r.status)] ?? 0) + 1;
  }
  const first = requests[0]?.at ?? 0;
  const last = requests.at(-1)?.at ?? 0;
  const maxPerSecond = requests.length === 0 ? 0 : fake.maxPerSecond((r) => r.at >= first && r.at <= last);
  const gaps: number[] = [];
  const gapAfter: Record<string, { count: number; totalS: number; meanMs: number }> = {};
  for (let i = 0; i + 1 < requests.length; i++) {
    const gap = (requests[i + 1]?.at ?? 0) - (requests[i]?.at ?? 0);
    gaps.push(gap);
    const kind = kindOf(requests[i]?.path ?? '');
    const entry = gapAfter[kind] ?? { count: 0, totalS: 0, meanMs: 0 };
    entry.count++;
    entry.totalS += gap / 1000;
    gapAfter[kind] = entry;
  }
  for (const entry of Object.values(gapAfter)) entry.meanMs = (entry.totalS * 1000) / entry.count;
  gaps.sort((a, b) => a - b);
  const completed = mark?.endMs !== undefined && metrics !== undefined && metrics.runs >= cycle;
  const fakeWallS = mark?.endMs === undefined ? undefined : (mark.endMs - mark.startMs) / 1000;
  const serviceWallS = completed ? metrics.durationSumS - (previous?.durationSumS ?? 0) : undefined;
  const cpu = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : b - a;
  const serviceCpuS = cpu(mark?.serviceCpuStart, mark?.serviceCpuEnd);
  const harnessCpuS = cpu(mark?.ownCpuStart, mark?.ownCpuEnd);
  const during = samples.filter((x) => mark !== undefined && x.t >= mark.startMs && x.t <= (mark.endMs ?? 0));
  const maxSampledRssKb = during.length === 0 ? undefined : Math.max(...during.map((x) => x.rssKb));
  const { apiRequests, scrapeErrors, ...rest } = metrics ?? {
    apiRequests: undefined,
    scrapeErrors: undefined,
  };
  return {
    cycle,
    completed,
    requests: requests.length,
    expectedRequests: total(expectedByKind),
    byKind,
    expectedByKind,
    nonOk,
    tooMany: nonOk['429'] ?? 0,
    maxPerSecond,
    ...(apiRequests === undefined
      ? {}
      : { serviceCounted: subtractCounts(apiRequests, previous?.apiRequests) }),
    ...(scrapeErrors === undefined
      ? {}
      : { scrapeErrors: subtractCounts(scrapeErrors, previous?.scrapeErrors) }),
    ...(serviceWallS === undefined ? {} : { serviceWallS }),
    ...(fakeWallS === undefined ? {} : { fakeWallS, achievedRps: requests.length / fakeWallS }),
    budgetBoundS: requests.length / API_MAX_RPS,
    limiterFloorS: (requests.length * LIMITER_MIN_TIME_MS) / 1000,
    ...(gaps.length === 0
      ? {}
      : {
          gapMs: {
            p50: percentile(gaps, 50),
            p90: percentile(gaps, 90),
            p99: percentile(gaps, 99),
            max: gaps.at(-1) ?? 0,
          },
          gapAfterMs: gapAfter,
        }),
    ...(serviceCpuS === undefined ? {} : { serviceCpuS }),
    ...(harnessCpuS === undefined ? {} : { harnessCpuS }),
    ...(mark?.memoryAtEnd === undefined ? {} : { memoryAtEnd: mark.memoryAtEnd }),
    ...(maxSampledRssKb === undefined ? {} : { maxSampledRssKb }),
    ...(metrics === undefined
      ? {}
      : {
          metrics: rest as Omit<ServiceMetrics, 'apiRequests' | 'scrapeErrors'>,
        }),
  };
}

// ---- checks of the first run's metrics ----

interface Check {
  readonly name: string;
  readonly expected: string;
  readonly got: string;
  readonly ok: boolean;
}

const show = (m: Record<string, number>) =>
  Object.keys(m).length === 0
    ? '-'
    : Object.entries(m)
        .filter(([, v]) => v !== 0)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-';

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

function metricChecks(expected: Expected, m: ServiceMetrics, after2: ServiceMetrics | undefined): Check[] {
  const checks: Check[] = [];
  const add = (name: string, want: Record<string, number>, got: Record<string, number>) =>
    checks.push({
      name,
      expected: show(want),
      got: show(got),
      ok: sameCounts(want, got),
    });
  const addTotal = (name: string, want: number, got: number) =>
    checks.push({
      name,
      expected: String(want),
      got: String(got),
      ok: want === got,
    });
  addTotal('delivery_pipeline_runs_total, sum', expected.finishedPipelines, m.pipelineRuns);
  add('delivery_pipeline_runs_total by status', expected.pipelinesByStatus, m.pipelineRunsByStatus);
  addTotal('delivery_job_runs_total, sum', expected.jobsInFinished, m.jobRuns);
  add('delivery_job_runs_total by status', expected.jobsByStatus, m.jobRunsByStatus);
  add(
    'delivery_job_queued_seconds_count by runner_type',
    expected.jobsByRunnerType,
    m.jobsQueuedByRunnerType,
  );
  add('delivery_pipelines_active by state', { running: expected.runningPipelines }, m.pipelinesActive);
  add('delivery_runners{source="gitlab"} by scope/status', expected.runners, m.runners);
  if (after2 !== undefined) {
    checks.push({
      name: 'after the quiet run: pipeline and job runs unchanged',
      expected: `${m.pipelineRuns} / ${m.jobRuns}`,
      got: `${after2.pipelineRuns} / ${after2.jobRuns}`,
      ok: after2.pipelineRuns === m.pipelineRuns && after2.jobRuns === m.jobRuns,
    });
  }
  return checks;
}

// ---- the bench ----

const mb = (kb: number | undefined) => (kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(0)} MB`);
const sec = (s: number | undefined) => (s === undefined ? 'n/a' : `${s.toFixed(1)} s`);

async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  service: DeliveryMetrics,
  onTick?: () => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let nextTick = Date.now() + 15_000;
  while (!condition()) {
    if (Date.now() > deadline || service.process.exit !== undefined) return false;
    if (onTick !== undefined && Date.now() >= nextTick) {
      onTick();
      nextTick += 15_000;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** /metrics once the service has counted `runs` runs (it does so right after the last answer). */
async function metricsAfterRun(service: DeliveryMetrics, runs: number): Promise<ServiceMetrics | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (service.process.exit !== undefined) return undefined;
    const m = await readServiceMetrics(service.url);
    if (m.runs >= runs || Date.now() > deadline) return m;
  }
}

/** Service output other than info lines, grouped by message (timestamps and colours removed). */
interface LogSummary {
  readonly message: string;
  readonly count: number;
  /** A pino JSON line, or something else (e.g. a library writing to the console). */
  readonly json: boolean;
  readonly first: string;
}

function summarizeLog(lines: readonly string[]): LogSummary[] {
  const groups = new Map<string, { count: number; json: boolean; first: string }>();
  for (const line of lines) {
    let message: string;
    let json = false;
    try {
      const parsed = JSON.parse(line) as {
        level?: number;
        msg?: string;
        kind?: string;
      };
      if (parsed.level === 30) continue;
      json = true;
      message = `level ${parsed.level}: ${parsed.msg ?? '?'}${parsed.kind === undefined ? '' : ` (${parsed.kind})`}`;
    } catch {
      // ANSI colour codes are what is removed.
      // eslint-disable-next-line no-control-regex
      message = line.replace(/\u001b\[[0-9;]*m/g, '').replace(/^\[[^\]]*\] \[PID: \d+\] /, '');
    }
    const g = groups.get(message) ?? { count: 0, json, first: line };
    g.count++;
    groups.set(message, g);
  }
  return [...groups].map(([message, g]) => ({ message, ...g }));
}

function report(
  cycles: readonly CycleResult[],
  checks: readonly Check[],
  memory: readonly MemoryPoint[],
  log: readonly LogSummary[],
  shutdown: { readonly log: readonly LogSummary[]; readonly requests: number },
  srcModified: boolean,
): string {
  const main = formatTable(
    [
      { title: 'run' },
      { title: 'requests', align: 'right' },
      { title: 'expected', align: 'right' },
      { title: '429', align: 'right' },
      { title: 'max/s', align: 'right' },
      { title: 'errors', align: 'right' },
      { title: 'wall (service)', align: 'right' },
      { title: 'wall (fake)', align: 'right' },
      { title: `req/${API_MAX_RPS}`, align: 'right' },
      { title: `req x ${LIMITER_MIN_TIME_MS} ms`, align: 'right' },
      { title: 'req/s', align: 'right' },
      { title: 'svc CPU', align: 'right' },
      { title: 'max RSS', align: 'right' },
      { title: 'VmHWM', align: 'right' },
    ],
    cycles.map((c) => [
      c.cycle === 1 ? '1: first (24 h new)' : '2: quiet',
      String(c.requests),
      String(c.expectedRequests),
      String(c.tooMany),
      String(c.maxPerSecond),
      c.scrapeErrors === undefined ? 'n/a' : String(sumOf(c.scrapeErrors)),
      sec(c.serviceWallS),
      sec(c.fakeWallS),
      sec(c.budgetBoundS),
      sec(c.limiterFloorS),
      c.achievedRps === undefined ? 'n/a' : c.achievedRps.toFixed(0),
      c.serviceCpuS === undefined || c.fakeWallS === undefined
        ? 'n/a'
        : formatPercent(c.serviceCpuS / c.fakeWallS),
      mb(c.maxSampledRssKb),
      mb(c.memoryAtEnd?.hwmKb),
    ]),
  );
  const [first, second] = cycles;
  const span =
    first?.gapAfterMs === undefined ? 0 : Object.values(first.gapAfterMs).reduce((a, g) => a + g.totalS, 0);
  const byKind = formatTable(
    [
      { title: 'endpoint' },
      { title: 'run 1', align: 'right' },
      { title: 'expected', align: 'right' },
      { title: 'run 2', align: 'right' },
      { title: 'expected', align: 'right' },
      { title: 'run 1: mean gap after', align: 'right' },
      { title: 'share of run 1', align: 'right' },
    ],
    KINDS.filter(
      (k) => k !== 'other' || (first?.byKind.other ?? 0) > 0 || (second?.byKind.other ?? 0) > 0,
    ).map((k) => {
      const gap = first?.gapAfterMs?.[k];
      return [
        k,
        String(first?.byKind[k] ?? 'n/a'),
        String(first?.expectedByKind[k] ?? 'n/a'),
        String(second?.byKind[k] ?? 'n/a'),
        String(second?.expectedByKind[k] ?? 'n/a'),
        gap === undefined ? '-' : formatMs(gap.meanMs),
        gap === undefined || span === 0 ? '-' : formatPercent(gap.totalS / span),
      ];
    }),
  );
  const memoryTable = formatTable(
    [
      { title: 'service memory' },
      { title: 'VmRSS', align: 'right' },
      { title: 'VmHWM', align: 'right' },
      { title: '/metrics render before it' },
      { title: 'JS heap used as it began', align: 'right' },
      { title: 'major GCs', align: 'right' },
    ],
    memory.map((m) => [
      m.point,
      mb(m.rssKb),
      mb(m.hwmKb),
      m.render === undefined
        ? ''
        : `${(m.render.bytes / 1e6).toFixed(1)} MB, ${m.render.lines} lines, ${formatMs(m.render.ms)}`,
      m.render?.heapUsedBytes === undefined ? '' : mb(m.render.heapUsedBytes / 1024),
      m.render?.majorGcs === undefined ? '' : String(m.render.majorGcs),
    ]),
  );
  const checkTable = formatTable(
    [{ title: 'check (after run 1)' }, { title: 'expected' }, { title: 'got' }, { title: '' }],
    checks.map((c) => [c.name, c.expected, c.got, c.ok ? 'OK' : 'MISMATCH']),
  );
  const gaps = first?.gapMs;
  const notes = [
    gaps === undefined
      ? ''
      : `Run 1 request spacing at the fake: p50 ${formatMs(gaps.p50)}, p90 ${formatMs(gaps.p90)}, p99 ${formatMs(gaps.p99)}, ` +
        `max ${formatMs(gaps.max)} (1 / p50 = ${(1000 / gaps.p50).toFixed(0)} req/s, API_MAX_RPS=${API_MAX_RPS}; ` +
        `the limiter spaces request starts ${LIMITER_MIN_TIME_MS} ms apart at that setting). ` +
        '"gap after": from a request to the next one = its answer + what the service does with it + the limiter\'s wait.',
    log.length === 0
      ? 'Service log: info lines only.'
      : `Service log besides info lines: ${log
          .map((l) => `${l.count}x ${l.json ? '' : '(not JSON) '}'${l.message}'`)
          .join('; ')}.`,
    `At shutdown (SIGTERM after run 2 and the renders; run 3 had made ${shutdown.requests} requests): ` +
      (shutdown.log.length === 0
        ? 'nothing but info lines.'
        : `${shutdown.log.map((l) => `${l.count}x ${l.json ? l.first : `(not JSON) '${l.message}'`}`).join('; ')}.`),
    `Scenario: ${PROJECTS} projects in group '${GROUP}', ${FINISHED_PER_PROJECT} finished pipelines each (created 1-23 h ago) ` +
      `with ${JOBS_PER_PIPELINE} jobs, 1 running pipeline per ${RUNNING_EVERY} projects, ${RUNNERS.length} runners. ` +
      `Service: API_MAX_RPS=${API_MAX_RPS}, SCRAPE_SCHEDULE='${SCHEDULE}', SCRAPE_LOOKBACK=${LOOKBACK}` +
      `${srcModified ? '; built from a working tree whose src/ differs from the commit' : ''}. ` +
      `Fake (in the harness process): limitPerSecond=${API_MAX_RPS}, hourly budget ${HOURLY_BUDGET}. ` +
      '"wall (service)": delivery_scrape_duration_seconds; "wall (fake)": first request to the answer to the runner list; ' +
      `"req/${API_MAX_RPS}": the floor API_MAX_RPS implies; "req x ${LIMITER_MIN_TIME_MS} ms": the floor the limiter's spacing implies; ` +
      `"svc CPU": service CPU / wall (100% = one core; ${cpus().length} CPUs); "max RSS": largest VmRSS sampled ` +
      `(every ${RSS_SAMPLE_MS} ms) during the run; "VmHWM": the service's peak RSS so far, read as the run ended.`,
  ].filter((l) => l !== '');
  return [main, '', byKind, '', memoryTable, '', checkTable, '', ...notes].join('\n');
}

export const scraperCycleBench: Bench = {
  name: 'scraper-cycle',
  description: `GitLab scraper: one full cycle over ${PROJECTS} projects in the fake API, then a quiet one`,
  resultFile: 'scraper-cycle-latest.json',
  async run(context: BenchContext): Promise<BenchOutcome> {
    const startedAt = new Date().toISOString();
    const problems: string[] = [];
    const warnings: string[] = [];
    if (context.rounds > 1) {
      warnings.push(`--rounds=${context.rounds} ignored: this bench measures one cycle (it takes minutes)`);
    }
    const build = await snapshotBuild();
    const options: FakeServerOptions = {
      token: TOKEN,
      limitPerSecond: API_MAX_RPS,
      hourlyBudget: HOURLY_BUDGET,
    };
    const fake = await new ObservedGitlab(options).listen();
    let expected: Expected | undefined;
    let tracker: Tracker | undefined;
    const metricsAfter: Array<ServiceMetrics | undefined> = [];
    const memory: MemoryPoint[] = [];
    let samples: Array<Memory & { t: number }> = [];
    let rssTimeline: Array<{ t: number; rssMb: number; hwmMb: number }> = [];
    const serviceLines: Array<{ t: number; line: string }> = [];
    let stopAt = Number.POSITIVE_INFINITY;
    let exit = 'not started';
    let othersCores: number | undefined;
    let othersTop: Array<{ pid: number; command: string; cores: number }> = [];
    let seedS = 0;
    try {
      context.progress(`seeding the fake GitLab: ${PROJECTS} projects`);
      const seedStart = performance.now();
      expected = seedScenario(fake, Date.now());
      seedS = (performance.now() - seedStart) / 1000;
      context.progress(
        `seeded ${expected.finishedPipelines} finished and ${expected.runningPipelines} running pipelines, ` +
          `${expected.jobsInFinished} jobs in finished ones (${seedS.toFixed(1)} s)`,
      );
      const service = await startDeliveryMetrics({
        authToken: TOKEN,
        build,
        env: {
          GITLAB_URL: fake.url,
          GITLAB_TOKEN: TOKEN,
          GITLAB_GROUPS: GROUP,
          API_MAX_RPS: String(API_MAX_RPS),
          SCRAPE_SCHEDULE: SCHEDULE,
          SCRAPE_LOOKBACK: LOOKBACK,
        },
      });
      const stopListening = service.process.onLine((line) =>
        serviceLines.push({ t: performance.now(), line }),
      );
      const pid = service.process.pid;
      if (pid === undefined) throw new Error('the service has no pid');
      const watch = new Tracker(pid);
      tracker = watch;
      fake.onAnswered = (route, arrived) => watch.answered(route, arrived);
      const sampler = sampleMemory(pid);
      samples = sampler.samples;
      const othersBefore: CpuSnapshot | undefined = cpuSnapshot();
      const othersStart = performance.now();
      const remember = (point: string, m: ServiceMetrics | undefined) => {
        const now = readMemory(pid);
        memory.push({
          point,
          rssKb: now?.rssKb,
          hwmKb: now?.hwmKb,
          ...(m === undefined
            ? {}
            : {
                render: {
                  ms: m.renderMs,
                  bytes: m.expositionBytes,
                  lines: m.expositionLines,
                  heapUsedBytes: m.heapUsedBytes,
                  externalBytes: m.externalBytes,
                  majorGcs: m.majorGcs,
                },
              }),
        });
      };
      try {
        context.progress(`service started (pid ${pid}); waiting for run 1 (schedule '${SCHEDULE}')`);
        const ran1 = await waitUntil(
          () => watch.cycles[0]?.endMs !== undefined,
          FIRST_RUN_TIMEOUT_MS,
          service,
          () => {
            const c = watch.cycles[0];
            context.progress(
              c === undefined
                ? 'run 1 not started yet'
                : `run 1: ${c.routed} requests answered in ${((performance.now() - c.startMs) / 1000).toFixed(0)} s`,
            );
          },
        );
        const othersAfter = cpuSnapshot();
        if (othersBefore !== undefined && othersAfter !== undefined) {
          const wall = (performance.now() - othersStart) / 1000;
          const others = otherCpuSeconds(othersBefore, othersAfter, [process.pid, pid]);
          othersCores = others.total / wall;
          othersTop = others.top.map((t) => ({
            pid: t.pid,
            command: t.name,
            cores: t.seconds / wall,
          }));
        }
        const start1 = watch.cycles[0]?.startMs;
        const idle = samples.filter((x) => start1 === undefined || x.t < start1).at(-1);
        memory.push({
          point: 'started, before run 1',
          rssKb: idle?.rssKb,
          hwmKb: idle?.hwmKb,
        });
        if (!ran1) {
          const c = watch.cycles[0];
          problems.push(
            service.process.exit !== undefined
              ? `the service died during run 1 (${describeExit(service.process.exit)}). Last output:\n${service.process.tail()}`
              : `run 1 did not finish within ${FIRST_RUN_TIMEOUT_MS / 1000} s ` +
                  `(${c?.routed ?? 0} requests answered so far; expected ${total(expected.firstRun)})`,
          );
        } else {
          const c1 = watch.cycles[0];
          memory.push({
            point: 'end of run 1',
            rssKb: c1?.memoryAtEnd?.rssKb,
            hwmKb: c1?.memoryAtEnd?.hwmKb,
          });
          context.progress(
            `run 1 done: ${c1?.routed} requests in ${(((c1?.endMs ?? 0) - (c1?.startMs ?? 0)) / 1000).toFixed(1)} s; reading /metrics`,
          );
          const m1 = await metricsAfterRun(service, 1);
          metricsAfter.push(m1);
          remember('after /metrics (1st render)', m1);
          if (m1 !== undefined && m1.runs < 1)
            problems.push('the service did not count run 1 within 10 s of its end');
          // Run 2 already under way: it started before (or while) /metrics was rendered.
          if (watch.cycles[1] !== undefined && m1 !== undefined) {
            warnings.push(
              'run 2 started while /metrics was being rendered after run 1: its wall time includes some of that ' +
                `(${formatMs(m1.renderMs)})`,
            );
          }
          context.progress('waiting for run 2 (nothing new)');
          const ran2 = await waitUntil(
            () => watch.cycles[1]?.endMs !== undefined,
            SECOND_RUN_TIMEOUT_MS,
            service,
          );
          if (!ran2) {
            problems.push(
              service.process.exit !== undefined
                ? `the service died during run 2 (${describeExit(service.process.exit)}). Last output:\n${service.process.tail()}`
                : `run 2 did not finish within ${SECOND_RUN_TIMEOUT_MS / 1000} s (${watch.cycles[1]?.routed ?? 0} requests so far)`,
            );
          } else {
            const c2 = watch.cycles[1];
            memory.push({
              point: 'end of run 2',
              rssKb: c2?.memoryAtEnd?.rssKb,
              hwmKb: c2?.memoryAtEnd?.hwmKb,
            });
            const m2 = await metricsAfterRun(service, 2);
            metricsAfter.push(m2);
            remember('after /metrics (2nd render)', m2);
            if (m2 !== undefined && m2.runs < 2)
              problems.push('the service did not count run 2 within 10 s of its end');
            context.progress(`rendering /metrics ${EXTRA_RENDERS} more times`);
            for (let i = 0; i < EXTRA_RENDERS && service.process.exit === undefined; i++) {
              remember(
                `after /metrics (render ${i + 3}, run 3 going)`,
                await readServiceMetrics(service.url),
              );
            }
          }
        }
      } finally {
        sampler.stop();
        const t0 = samples[0]?.t ?? 0;
        // One point a second, for the JSON.
        let nextT = t0;
        rssTimeline = [];
        for (const x of samples) {
          if (x.t < nextT) continue;
          rssTimeline.push({
            t: Math.round((x.t - t0) / 100) / 10,
            rssMb: Math.round(x.rssKb / 102.4) / 10,
            hwmMb: Math.round(x.hwmKb / 102.4) / 10,
          });
          nextT = x.t + 1000;
        }
        const crashed = service.process.crashed;
        stopAt = performance.now();
        const exitInfo = await service.stop();
        stopListening();
        exit = describeExit(exitInfo);
        if (!crashed && exitInfo.code !== 0) {
          problems.push(
            `the service did not stop cleanly on SIGTERM (${exit}). Last output:\n${service.process.tail()}`,
          );
        }
      }
    } finally {
      fake.onAnswered = undefined;
      await fake.close();
      await build.remove();
    }

    // ---- analysis ----
    const runs = splitRuns(fake.requests());
    const cycles: CycleResult[] = [];
    if (expected !== undefined && tracker !== undefined) {
      const [m1, m2] = metricsAfter;
      const [run1, run2] = runs;
      if (run1 !== undefined)
        cycles.push(
          analyseCycle(1, run1, expected.firstRun, fake, tracker.cycles[0], m1, undefined, samples),
        );
      if (run2 !== undefined && m1 !== undefined)
        cycles.push(analyseCycle(2, run2, expected.secondRun, fake, tracker.cycles[1], m2, m1, samples));
    }
    for (const c of cycles) {
      const label = `run ${c.cycle}`;
      if (!c.completed) problems.push(`${label}: did not complete; its numbers are partial`);
      const wrong = KINDS.filter((k) => c.byKind[k] !== c.expectedByKind[k]);
      if (wrong.length > 0) {
        problems.push(
          `${label}: ${c.requests} requests, the cost model says ${c.expectedRequests}: ` +
            wrong.map((k) => `${k} ${c.byKind[k]} (expected ${c.expectedByKind[k]})`).join(', '),
        );
      }
      if (c.maxPerSecond > API_MAX_RPS) {
        problems.push(
          `${label}: the fake saw ${c.maxPerSecond} requests within one second (API_MAX_RPS=${API_MAX_RPS})`,
        );
      }
      if (Object.keys(c.nonOk).length > 0)
        problems.push(`${label}: the fake answered non-200: ${show(c.nonOk)}`);
      if (c.scrapeErrors !== undefined && sumOf(c.scrapeErrors) > 0) {
        problems.push(`${label}: delivery_scrape_errors_total rose: ${show(c.scrapeErrors)}`);
      }
      if (c.serviceCounted !== undefined) {
        const counted = sumOf(c.serviceCounted);
        if (counted !== c.requests || (c.serviceCounted['200'] ?? 0) !== c.requests - sumOf(c.nonOk)) {
          problems.push(
            `${label}: the service counted ${show(c.serviceCounted)} in delivery_api_requests_total, the fake logged ${c.requests}`,
          );
        }
      }
    }
    const checks =
      expected !== undefined && metricsAfter[0] !== undefined
        ? metricChecks(expected, metricsAfter[0], metricsAfter[1])
        : [];
    for (const c of checks.filter((x) => !x.ok)) {
      problems.push(`metrics after run 1: ${c.name}: expected ${c.expected}, got ${c.got}`);
    }
    const log = summarizeLog(serviceLines.filter((l) => l.t < stopAt).map((l) => l.line));
    const shutdownLog = summarizeLog(serviceLines.filter((l) => l.t >= stopAt).map((l) => l.line));
    const laterRequests = runs.slice(2).reduce((n, r) => n + r.length, 0);
    for (const l of log.filter((x) => x.message.includes('scraper errors this run'))) {
      problems.push(`the service logged ${l.count}x: ${l.first}`);
    }
    if (othersCores !== undefined && othersCores > OTHER_LOAD_WARNING) {
      warnings.push(
        `other processes kept ${formatPercent(othersCores)} of a core busy during run 1, so its numbers are disturbed. Biggest: ` +
          othersTop.map((t) => `${formatPercent(t.cores)} ${t.command} (pid ${t.pid})`).join('; '),
      );
    }

    return {
      report: report(
        cycles,
        checks,
        memory,
        log,
        { log: shutdownLog, requests: laterRequests },
        build.srcModified,
      ),
      problems,
      missed: [],
      warnings,
      results: {
        bench: 'scraper-cycle',
        startedAt,
        finishedAt: new Date().toISOString(),
        build: { commit: build.commit, srcModified: build.srcModified },
        host: {
          cpus: cpus().length,
          cpuModel: cpus()[0]?.model ?? 'unknown',
          node: process.version,
        },
        settings: {
          projects: PROJECTS,
          group: GROUP,
          finishedPipelinesPerProject: FINISHED_PER_PROJECT,
          jobsPerPipeline: JOBS_PER_PIPELINE,
          runningPipelineEvery: RUNNING_EVERY,
          runners: RUNNERS,
          apiMaxRps: API_MAX_RPS,
          limiterMinTimeMs: LIMITER_MIN_TIME_MS,
          fakeLimitPerSecond: API_MAX_RPS,
          fakeHourlyBudget: HOURLY_BUDGET,
          schedule: SCHEDULE,
          lookback: LOOKBACK,
          rssSampleMs: RSS_SAMPLE_MS,
          seed: SEED,
        },
        seedSeconds: seedS,
        expected,
        cycles,
        /** Requests of later runs (the schedule goes on until the service is stopped). */
        requestsAfterRun2: laterRequests,
        checks,
        memory,
        rssTimeline,
        otherCpuCoresDuringRun1: othersCores,
        otherTop: othersTop,
        serviceLog: log,
        serviceLogAtShutdown: shutdownLog,
        exit,
        problems,
        warnings,
      },
    };
  },
};
