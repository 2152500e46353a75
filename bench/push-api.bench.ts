/**
 * Push API throughput and p99 latency, side by side with Prometheus Pushgateway receiving an
 * equivalent one-sample push, with an empty store and with 10,000 series stored.
 *
 * Every scenario starts its target afresh (delivery-metrics with a new, empty DATA_DIR;
 * Pushgateway with no persistence file), pre-loads it if the scenario says so, warms it up, then
 * measures it with wrk. Scenarios run one after another, never concurrently, all with the same
 * wrk settings; all traffic goes to 127.0.0.1.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench, BenchContext, BenchOutcome } from './lib/bench.js';
import { trackDir } from './lib/cleanup.js';
import {
  type BuildSnapshot,
  type DeliveryMetrics,
  snapshotBuild,
  startDeliveryMetrics,
} from './lib/delivery-metrics.js';
import { runPool, samplesOf, send } from './lib/http.js';
import { cpuSnapshot, describeExit, otherCpuSeconds } from './lib/process.js';
import { type Pushgateway, startPushgateway } from './lib/pushgateway.js';
import { formatMs, formatPercent, formatRate, formatTable } from './lib/table.js';
import { requireTools, toolVersion } from './lib/tools.js';
import { runWrk, type WrkRequest, type WrkResult, type WrkSettings, writeWrkScript } from './lib/wrk.js';

/**
 * One wrk thread: on 2 cores a second one would only take CPU from the server under test,
 * and one thread drives far more requests per second than either target answers.
 */
const SETTINGS: WrkSettings = { threads: 1, connections: 32, durationS: 10, timeoutS: 10 };
const WARMUP: WrkSettings = { ...SETTINGS, durationS: 5 };
const STORED_SERIES = 10_000;
const PRELOAD_CONCURRENCY = 64;

const METRIC = 'deployment_duration_seconds';
/** How delivery-metrics exposes METRIC: catalog metrics get the `delivery_` prefix. */
const OURS_EXPOSED = `delivery_${METRIC}`;
const FIXED_TARGET = 'coordinator_pipeline';
const VALUE = '18000';
const AUTH_TOKEN = `bench-${randomUUID()}`;

/** Cores' worth of CPU used by processes other than the target, wrk and the harness. */
const OTHER_LOAD_WARNING = 0.15;

const TARGET_RATIO_VS_PUSHGATEWAY = 5.0;
const TARGET_RATIO_10K_VS_EMPTY = 0.8;

type TargetName = 'delivery-metrics' | 'pushgateway';
type ScenarioName = 'empty' | '10k stored' | '10k stored, rotating';

interface Scenario {
  readonly target: TargetName;
  readonly name: ScenarioName;
  /** Series put in the store before measuring (the measured series among them). */
  readonly preload: number;
  /** Measured traffic rotates over every stored series instead of hitting the fixed one. */
  readonly rotating: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  { target: 'delivery-metrics', name: 'empty', preload: 0, rotating: false },
  { target: 'delivery-metrics', name: '10k stored', preload: STORED_SERIES, rotating: false },
  { target: 'delivery-metrics', name: '10k stored, rotating', preload: STORED_SERIES, rotating: true },
  { target: 'pushgateway', name: 'empty', preload: 0, rotating: false },
  { target: 'pushgateway', name: '10k stored', preload: STORED_SERIES, rotating: false },
];

/** Label value of series `i`: series 0 is the fixed one every non-rotating run pushes to. */
const targetLabel = (i: number) => (i === 0 ? FIXED_TARGET : `t${i}`);

/**
 * delivery-metrics: one observe per request. All 10,000 series fit the built-in catalog's
 * default budget (max_series 10,000) exactly, the fixed series being one of them.
 */
function oursRequest(i: number): WrkRequest {
  return {
    method: 'POST',
    path: `/api/${METRIC}/observe`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Private-Token': AUTH_TOKEN },
    body: `value=${VALUE}&labels=${encodeURIComponent(targetLabel(i))},success`,
  };
}

/** Pushgateway: the same sample in text format, series `i` as one line. */
const pushgatewayLine = (i: number) => `${METRIC}{target="${targetLabel(i)}",status="success"} ${VALUE}\n`;

/**
 * Pushgateway: the measured push is one line to the group job=bench. POST replaces only the
 * same-name metrics of its group, so the 9,999 other stored series sit in a group of their own
 * (instance=preload), sent in one push: pushing them as 9,999 groups would take the
 * Pushgateway many minutes, since it checks every push against everything it stores.
 */
function pushgatewayRequest(lines: string): WrkRequest {
  return {
    method: 'POST',
    path: '/metrics/job/bench',
    headers: { 'Content-Type': 'text/plain; version=0.0.4' },
    body: lines,
  };
}

interface TargetKind {
  /** The request every non-rotating run repeats: series 0. */
  fixed(): WrkRequest;
  /** Requests that leave `n` series stored, the fixed one among them. */
  preload(n: number): WrkRequest[];
  /** The requests a rotating run cycles through: one per stored series. */
  rotation?(n: number): WrkRequest[];
}

const TARGETS: Record<TargetName, TargetKind> = {
  'delivery-metrics': {
    fixed: () => oursRequest(0),
    preload: (n) => Array.from({ length: n }, (_, i) => oursRequest(i)),
    rotation: (n) => Array.from({ length: n }, (_, i) => oursRequest(i)),
  },
  pushgateway: {
    fixed: () => pushgatewayRequest(pushgatewayLine(0)),
    preload: (n) => [
      pushgatewayRequest(pushgatewayLine(0)),
      {
        ...pushgatewayRequest(Array.from({ length: n - 1 }, (_, i) => pushgatewayLine(i + 1)).join('')),
        path: '/metrics/job/bench/instance/preload',
      },
    ],
  },
};

type Target = DeliveryMetrics | Pushgateway;

/** Push outcomes as delivery-metrics counts them (delivery_push_requests_total), by outcome. */
type Outcomes = Record<string, number>;

interface RunRecord {
  readonly target: TargetName;
  readonly scenario: ScenarioName;
  readonly round: number;
  readonly storedSeries: number;
  readonly requestsInRotation: number;
  readonly preloadSeconds?: number;
  readonly warmup: { readonly okRps: number; readonly non2xx: number; readonly socketErrors: number };
  readonly wrk: WrkResult;
  /** wrk's own report of the measured run, verbatim. */
  readonly wrkText: string;
  /** Cores the target used on average during the measured run (1.0 = one core busy). */
  readonly serverCpuCores?: number;
  readonly wrkCpuCores?: number;
  /**
   * Cores that processes other than the target, wrk and the harness kept busy during the
   * measured run (e.g. a build or test run elsewhere on the machine). High: numbers disturbed.
   */
  readonly otherCpuCores?: number;
  /** The biggest of those other processes. */
  readonly otherTop?: ReadonlyArray<{ pid: number; command: string; cores: number }>;
  /** delivery-metrics only: what the service itself counted during the measured run. */
  readonly serverOutcomes?: Outcomes;
  readonly exit: string;
}

interface Ratio {
  readonly name: string;
  readonly value: number;
  /** Minimum wanted; undefined for ratios shown for information. */
  readonly target?: number;
  readonly pass?: boolean;
}

async function scrape(url: string): Promise<string> {
  return send(`${url}/metrics`, { method: 'GET' });
}

function pushOutcomes(exposition: string): Outcomes {
  const outcomes: Outcomes = {};
  for (const [labels, value] of samplesOf(exposition, 'delivery_push_requests_total')) {
    const outcome = /outcome="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + value;
  }
  return outcomes;
}

function subtract(after: Outcomes, before: Outcomes): Outcomes {
  const delta: Outcomes = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) delta[k] = d;
  }
  return delta;
}

/** Series of the benchmarked metric the target holds now. */
async function storedSeries(target: TargetName, url: string): Promise<number> {
  const text = await scrape(url);
  return samplesOf(text, target === 'pushgateway' ? METRIC : `${OURS_EXPOSED}_count`).size;
}

async function preload(url: string, requests: readonly WrkRequest[]): Promise<void> {
  await runPool(requests.length, PRELOAD_CONCURRENCY, async (i) => {
    const r = requests[i] as WrkRequest;
    await send(`${url}${r.path}`, { method: r.method, headers: { ...r.headers }, body: r.body });
  });
}

async function runScenario(
  scenario: Scenario,
  round: number,
  tools: { wrk: string; pushgateway: string },
  build: BuildSnapshot,
  scriptDir: string,
  context: BenchContext,
  problems: string[],
  rounds: number,
): Promise<RunRecord> {
  const label = `${scenario.target} / ${scenario.name}${rounds > 1 ? ` (round ${round}/${rounds})` : ''}`;
  const kind = TARGETS[scenario.target];
  let measured = [kind.fixed()];
  if (scenario.rotating) {
    if (kind.rotation === undefined) throw new Error(`${label}: ${scenario.target} has no rotating variant`);
    measured = kind.rotation(scenario.preload);
  }
  const scriptPath = await writeWrkScript(
    scriptDir,
    `${scenario.target}-${scenario.name.replace(/\W+/g, '-')}`,
    measured,
  );

  const target: Target =
    scenario.target === 'pushgateway'
      ? await startPushgateway(tools.pushgateway)
      : await startDeliveryMetrics({ authToken: AUTH_TOKEN, build });
  let record: Omit<RunRecord, 'exit'>;
  let exit: string;
  try {
    let preloadSeconds: number | undefined;
    if (scenario.preload > 0) {
      const requests = kind.preload(scenario.preload);
      context.progress(
        `${label}: pre-loading ${scenario.preload} series in ${requests.length} requests (${PRELOAD_CONCURRENCY} in flight)`,
      );
      const started = performance.now();
      await preload(target.url, requests);
      preloadSeconds = (performance.now() - started) / 1000;
      const stored = await storedSeries(scenario.target, target.url);
      if (stored !== scenario.preload) {
        throw new Error(`${label}: ${stored} series stored after pre-loading ${scenario.preload}`);
      }
      context.progress(`${label}: ${stored} series stored in ${preloadSeconds.toFixed(1)} s`);
    }

    const url = `${target.url}${measured[0]?.path ?? '/'}`;
    context.progress(`${label}: warm-up ${WARMUP.durationS} s`);
    const warm = await runWrk({ wrkPath: tools.wrk, url, scriptPath, settings: WARMUP });
    const warmup = { okRps: warm.okRps, non2xx: warm.non2xx, socketErrors: socketErrorCount(warm) };

    const before =
      scenario.target === 'delivery-metrics' ? pushOutcomes(await scrape(target.url)) : undefined;
    const cpuBefore = target.cpuSeconds();
    const othersBefore = cpuSnapshot();
    const started = performance.now();
    context.progress(
      `${label}: measuring ${SETTINGS.durationS} s (wrk -t${SETTINGS.threads} -c${SETTINGS.connections})`,
    );
    const { output, ...wrk } = await runWrk({ wrkPath: tools.wrk, url, scriptPath, settings: SETTINGS });
    const wallS = (performance.now() - started) / 1000;
    const cpuAfter = target.cpuSeconds();
    const othersAfter = cpuSnapshot();

    if (target.process.exit !== undefined) {
      problems.push(
        `${label}: the target died during the run (${describeExit(target.process.exit)}). Last output:\n${target.process.tail()}`,
      );
    }
    let serverOutcomes: Outcomes | undefined;
    if (before !== undefined && target.process.exit === undefined) {
      // Let requests wrk left in flight when it closed its connections finish first.
      await new Promise((resolve) => setTimeout(resolve, 250));
      const text = await scrape(target.url);
      serverOutcomes = subtract(pushOutcomes(text), before);
      const notOk = Object.entries(serverOutcomes).filter(([k]) => k !== 'ok');
      if (notOk.length > 0) {
        problems.push(
          `${label}: the service counted non-ok push outcomes: ${JSON.stringify(serverOutcomes)}`,
        );
      }
      // Every acknowledged observe must be in the histograms: their counts add up to the oks.
      const observed = [...samplesOf(text, `${OURS_EXPOSED}_count`).values()].reduce((a, b) => a + b, 0);
      const acknowledged = pushOutcomes(text).ok ?? 0;
      if (observed !== acknowledged) {
        problems.push(`${label}: ${acknowledged} observes answered ok but histograms count ${observed}`);
      }
    }
    if (wrk.non2xx > 0 || warmup.non2xx > 0) {
      problems.push(
        `${label}: ${wrk.non2xx} non-2xx answers in the measured run, ${warmup.non2xx} in the warm-up`,
      );
    }
    if (socketErrorCount(wrk) > 0 || warmup.socketErrors > 0) {
      problems.push(
        `${label}: socket errors ${JSON.stringify(wrk.socketErrors)} in the measured run, ${warmup.socketErrors} in the warm-up`,
      );
    }

    const serverCpuCores =
      cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / wallS : undefined;
    // Everything but the harness (whose reaped children are wrk) and the target.
    const exclude = [process.pid, ...(target.process.pid === undefined ? [] : [target.process.pid])];
    const others =
      othersBefore !== undefined && othersAfter !== undefined
        ? otherCpuSeconds(othersBefore, othersAfter, exclude)
        : undefined;
    const otherCpuCores = others === undefined ? undefined : others.total / wallS;
    const otherTop = others?.top.map((t) => ({ pid: t.pid, command: t.name, cores: t.seconds / wallS }));
    record = {
      target: scenario.target,
      scenario: scenario.name,
      round,
      storedSeries: scenario.preload,
      requestsInRotation: measured.length,
      ...(preloadSeconds === undefined ? {} : { preloadSeconds }),
      warmup,
      wrk,
      wrkText: output,
      ...(serverCpuCores === undefined ? {} : { serverCpuCores }),
      ...(wrk.wrkCpuS === undefined ? {} : { wrkCpuCores: wrk.wrkCpuS / wrk.durationS }),
      ...(otherCpuCores === undefined ? {} : { otherCpuCores }),
      ...(otherTop === undefined ? {} : { otherTop }),
      ...(serverOutcomes === undefined ? {} : { serverOutcomes }),
    };
  } finally {
    const crashedBefore = target.process.crashed;
    const info = await target.stop();
    exit = describeExit(info);
    if (scenario.target === 'delivery-metrics' && !crashedBefore && info.code !== 0) {
      problems.push(
        `${label}: did not stop cleanly on SIGTERM (${exit}). Last output:\n${target.process.tail()}`,
      );
    }
  }
  return { ...record, exit };
}

function socketErrorCount(result: WrkResult): number {
  const e = result.socketErrors;
  return e.connect + e.read + e.write + e.timeout;
}

/** The run with the median 2xx rate (the lower middle one for an even count). */
function medianRun(runs: readonly RunRecord[]): RunRecord {
  const sorted = [...runs].sort((a, b) => a.wrk.okRps - b.wrk.okRps);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  if (median === undefined) throw new Error('no runs to take the median of');
  return median;
}

function ratio(name: string, numerator: number, denominator: number, target?: number): Ratio {
  const value = denominator > 0 ? numerator / denominator : Number.NaN;
  return target === undefined ? { name, value } : { name, value, target, pass: value >= target };
}

function computeRatios(runs: readonly RunRecord[]): Ratio[] {
  const rate = (target: TargetName, scenario: ScenarioName) =>
    runs.find((r) => r.target === target && r.scenario === scenario)?.wrk.okRps ?? Number.NaN;
  const ours = (s: ScenarioName) => rate('delivery-metrics', s);
  const pgw = (s: ScenarioName) => rate('pushgateway', s);
  return [
    ratio('ours empty / pushgateway empty', ours('empty'), pgw('empty'), TARGET_RATIO_VS_PUSHGATEWAY),
    ratio('ours 10k stored / ours empty', ours('10k stored'), ours('empty'), TARGET_RATIO_10K_VS_EMPTY),
    ratio('ours 10k stored, rotating / ours empty', ours('10k stored, rotating'), ours('empty')),
    ratio('ours 10k stored / pushgateway 10k stored', ours('10k stored'), pgw('10k stored')),
    ratio('pushgateway 10k stored / pushgateway empty', pgw('10k stored'), pgw('empty')),
  ];
}

function report(
  medians: readonly RunRecord[],
  runs: readonly RunRecord[],
  ratios: readonly Ratio[],
  rounds: number,
): string {
  const range = (r: RunRecord) => {
    const rates = runs
      .filter((x) => x.target === r.target && x.scenario === r.scenario)
      .map((x) => x.wrk.okRps);
    return `${formatRate(Math.min(...rates))}-${formatRate(Math.max(...rates))}`;
  };
  const table = formatTable(
    [
      { title: 'target' },
      { title: 'scenario' },
      { title: 'req/s (2xx)', align: 'right' },
      ...(rounds > 1 ? [{ title: `range (${rounds} rounds)`, align: 'right' as const }] : []),
      { title: 'p50', align: 'right' },
      { title: 'p99', align: 'right' },
      { title: 'max', align: 'right' },
      { title: 'non-2xx', align: 'right' },
      { title: 'sock err', align: 'right' },
      { title: 'server CPU', align: 'right' },
      { title: 'wrk CPU', align: 'right' },
      { title: 'other CPU', align: 'right' },
    ],
    medians.map((r) => {
      return [
        r.target,
        r.scenario,
        formatRate(r.wrk.okRps),
        ...(rounds > 1 ? [range(r)] : []),
        formatMs(r.wrk.latencyMs.p50),
        formatMs(r.wrk.latencyMs.p99),
        formatMs(r.wrk.latencyMs.max),
        String(r.wrk.non2xx),
        String(socketErrorCount(r.wrk)),
        formatPercent(r.serverCpuCores),
        formatPercent(r.wrkCpuCores),
        formatPercent(r.otherCpuCores),
      ];
    }),
  );
  const ratioTable = formatTable(
    [{ title: 'ratio (2xx req/s)' }, { title: 'value', align: 'right' }, { title: 'target' }, { title: '' }],
    ratios.map((r) => [
      r.name,
      Number.isNaN(r.value) ? 'n/a' : r.value.toFixed(2),
      r.target === undefined ? '(info)' : `>= ${r.target.toFixed(2)}`,
      r.pass === undefined ? '' : r.pass ? 'PASS' : 'MISS',
    ]),
  );
  const settings =
    `wrk -t${SETTINGS.threads} -c${SETTINGS.connections} -d${SETTINGS.durationS}s --timeout ${SETTINGS.timeoutS}s ` +
    `--latency, after a ${WARMUP.durationS} s warm-up; ${cpus().length} CPUs; 127.0.0.1 only. ` +
    `"rotating": each request observes into the next of the ${STORED_SERIES} stored series ` +
    '(delivery-metrics only: a Pushgateway POST replaces its whole group). ' +
    'CPU: 100% = one core busy; "other" = all other processes on the machine meanwhile.' +
    (rounds > 1 ? ` Each row is the round with the median req/s of ${rounds}; ratios use those rows.` : '');
  return [table, '', ratioTable, '', settings].join('\n');
}

export const pushApiBench: Bench = {
  name: 'push-api',
  description: 'push API observe vs Prometheus Pushgateway: throughput and p99, empty and with 10k series',
  resultFile: 'push-latest.json',
  async run(context: BenchContext): Promise<BenchOutcome> {
    const tools = requireTools(['wrk', 'prometheus-pushgateway'] as const);
    const startedAt = new Date().toISOString();
    const build = await snapshotBuild();
    const scriptDir = await mkdtemp(join(tmpdir(), 'delivery-metrics-bench-wrk-'));
    const scripts = trackDir(scriptDir);
    const problems: string[] = [];
    const runs: RunRecord[] = [];
    try {
      for (let round = 1; round <= context.rounds; round++) {
        for (const scenario of SCENARIOS) {
          runs.push(
            await runScenario(
              scenario,
              round,
              { wrk: tools.wrk, pushgateway: tools['prometheus-pushgateway'] },
              build,
              scriptDir,
              context,
              problems,
              context.rounds,
            ),
          );
        }
      }
    } finally {
      await scripts.remove();
      await build.remove();
    }
    const medians = SCENARIOS.map((scenario) =>
      medianRun(runs.filter((r) => r.target === scenario.target && r.scenario === scenario.name)),
    );
    const ratios = computeRatios(medians);
    const warnings = runs
      .filter((r) => (r.otherCpuCores ?? 0) > OTHER_LOAD_WARNING)
      .map(
        (r) =>
          `${r.target} / ${r.scenario}${context.rounds > 1 ? ` (round ${r.round})` : ''}: other processes kept ${formatPercent(r.otherCpuCores)} of a core busy ` +
          'or more during the measured run, so its numbers are disturbed (run again on a quiet machine). Biggest: ' +
          (r.otherTop ?? []).map((t) => `${formatPercent(t.cores)} ${t.command} (pid ${t.pid})`).join('; '),
      );
    const missed = ratios
      .filter((r) => r.pass === false)
      .map((r) => `${r.name} = ${r.value.toFixed(2)}, below the target ${r.target?.toFixed(2)}`);
    return {
      report: report(medians, runs, ratios, context.rounds),
      problems,
      missed,
      warnings,
      results: {
        bench: 'push-api',
        startedAt,
        finishedAt: new Date().toISOString(),
        build: { commit: build.commit, srcModified: build.srcModified },
        host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
        tools: {
          wrk: toolVersion(tools.wrk, ['--version']),
          pushgateway: toolVersion(tools['prometheus-pushgateway'], ['--version']),
        },
        settings: { measure: SETTINGS, warmup: WARMUP, storedSeries: STORED_SERIES, rounds: context.rounds },
        /** Per scenario, the round with the median 2xx rate: what the table and ratios use. */
        medians: medians.map((r) => ({ target: r.target, scenario: r.scenario, round: r.round })),
        runs,
        ratios,
        problems,
        missed,
        warnings,
      },
    };
  },
};
