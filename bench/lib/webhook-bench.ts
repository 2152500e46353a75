/**
 * Webhook ingest side by side with a bare node:http server, as one Bench: the frame shared by
 * the gitlab-webhook and github-webhook benches, which only say what they send and to whom.
 *
 * Per round, each target is started afresh (delivery-metrics with a new, empty DATA_DIR), checked
 * (a few requests, one connection, every answer read: the service must answer each with
 * `processed`, the bare server with 2xx), warmed up, then measured with wrk; both with the same
 * wrk settings, one after the other, on 127.0.0.1. Every request is a new delivery with an id
 * never sent before (see webhook-script.ts). Afterwards the service's own count of processed
 * requests is reconciled with what wrk sent and had answered.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BareServer, startBareServer } from './bare-server.js';
import type { Bench, BenchContext, BenchOutcome } from './bench.js';
import { trackDir } from './cleanup.js';
import {
  type BuildSnapshot,
  type DeliveryMetrics,
  snapshotBuild,
  startDeliveryMetrics,
} from './delivery-metrics.js';
import { samplesOf, send } from './http.js';
import { cpuSnapshot, describeExit, otherCpuSeconds, schedStat } from './process.js';
import { formatMs, formatPercent, formatRate, formatTable } from './table.js';
import { requireTools, toolVersion } from './tools.js';
import {
  type CheckMode,
  UNSENT_REQUEST_CALLS,
  type WebhookRequestTemplate,
  webhookScriptArgs,
  writeWebhookScript,
} from './webhook-script.js';
import { runWrk, type WrkResult, type WrkSettings } from './wrk.js';

/** As the push-api bench: one wrk thread (2 cores here), 32 connections, 5 s warm-up, 10 s measured. */
export const SETTINGS: WrkSettings = { threads: 1, connections: 32, durationS: 10, timeoutS: 10 };
export const WARMUP: WrkSettings = { ...SETTINGS, durationS: 5 };
/** Check runs: one connection, so exactly the check's number of requests is sent. */
const CHECK_SETTINGS: WrkSettings = { threads: 1, connections: 1, durationS: 1, timeoutS: 5 };
const OURS_CHECK_REQUESTS = 20;
/** Ids each wrk run may use: far more than one run sends (about 30,000 a second at most). */
const IDS_PER_RUN = 10_000_000;
/** Cores' worth of CPU used by processes other than the target, wrk and the harness. */
const OTHER_LOAD_WARNING = 0.15;
/** wrk busier than this (cores) may be what limits the rate it measures. */
const WRK_BUSY_WARNING = 0.9;
/** A server main thread that waited for a CPU longer than this share of the run was short of CPU. */
const RUNQUEUE_WAIT_WARNING = 0.1;
const AUTH_TOKEN = `bench-${randomUUID()}`;

export type TargetKind = 'delivery-metrics' | 'bare';

export interface WebhookBenchSpec {
  readonly name: string;
  readonly description: string;
  readonly resultFile: string;
  readonly source: 'gitlab' | 'github';
  /** The `event` label delivery_webhook_requests_total gives the requests sent. */
  readonly event: string;
  readonly template: WebhookRequestTemplate;
  /** Settings the service needs to accept the requests (their secrets). */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly bare: {
    /** File name in bench/servers/. */
    readonly script: string;
    /** Name in the table, e.g. `bare node:http (JSON.parse)`. */
    readonly label: string;
    readonly env: Readonly<Record<string, string>>;
    /** Requests of its check run (every answer must be 2xx), and what that check proves. */
    readonly checkRequests: number;
    readonly checkProves: string;
  };
  /** The first id; each wrk run takes the next IDS_PER_RUN ids. */
  readonly firstId: number;
  readonly targets: { readonly minRatio: number; readonly maxP99Ms: number };
  /** Lines about what is sent, for the report. */
  readonly describe: readonly string[];
  /** Facts about the requests, for the results file. */
  readonly requestInfo: Readonly<Record<string, unknown>>;
}

interface Accounting {
  /** 2xx answers wrk received (check, warm-up and measured runs). */
  answered2xx: number;
  /** Requests wrk wrote to its sockets: the answered ones plus those in flight when it stopped. */
  written: number;
}

/** What the service counted in delivery_webhook_requests_total for the bench's source and event. */
type Outcomes = Record<string, number>;

interface RunRecord {
  readonly target: TargetKind;
  readonly label: string;
  readonly round: number;
  readonly check: { readonly requests: number; readonly ok: number };
  readonly warmup: { readonly okRps: number; readonly non2xx: number; readonly socketErrors: number };
  readonly wrk: WrkResult;
  /** wrk's own report of the measured run, verbatim. */
  readonly wrkText: string;
  /** Cores the target used on average during the measured run (1.0 = one core busy). */
  readonly serverCpuCores?: number;
  /** Server CPU time per answered request during the measured run, in microseconds. */
  readonly serverCpuUsPerRequest?: number;
  /** The same for the server's main thread alone (/proc/<pid>/schedstat): the serial part of the work. */
  readonly mainCpuUsPerRequest?: number;
  /**
   * Share of the measured run the server's main thread spent runnable but waiting for a CPU
   * (/proc/<pid>/schedstat): high when other processes or wrk competed with it for the cores.
   */
  readonly serverRunqueueWait?: number;
  readonly wrkCpuCores?: number;
  /** Cores that processes other than the target, wrk and the harness kept busy meanwhile. */
  readonly otherCpuCores?: number;
  readonly otherTop?: ReadonlyArray<{ pid: number; command: string; cores: number }>;
  /** delivery-metrics only: its own count of the requests since it started, by outcome. */
  readonly serverOutcomes?: Outcomes;
  /** delivery-metrics only: what wrk sent and had answered since the service started. */
  readonly accounting?: Accounting;
  /** delivery-metrics only: log lines at warn level or above, or not JSON at all. */
  readonly serviceLogIssues?: readonly string[];
  readonly exit: string;
}

interface TargetCheck {
  readonly name: string;
  readonly value: number;
  readonly display: string;
  readonly target: string;
  readonly pass: boolean;
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

function outcomesOf(exposition: string, source: string, event: string): Outcomes {
  const outcomes: Outcomes = {};
  for (const [labels, value] of samplesOf(exposition, 'delivery_webhook_requests_total')) {
    if (!labels.includes(`source="${source}"`) || !labels.includes(`event="${event}"`)) continue;
    const outcome = /outcome="([^"]*)"/.exec(labels)?.[1] ?? 'unknown';
    outcomes[outcome] = (outcomes[outcome] ?? 0) + value;
  }
  return outcomes;
}

/** A service log line worth a look: pino level warn (40) or above, or not a JSON log line. */
function isLogIssue(line: string): boolean {
  if (line.trim() === '') return false;
  try {
    const level = (JSON.parse(line) as { level?: unknown }).level;
    return typeof level !== 'number' || level >= 40;
  } catch {
    return true;
  }
}

/** wrk ran our script (its done() hook printed the exact summary), not wrk's default request. */
function requireHook(
  result: WrkResult & { output: string },
  label: string,
): { counters: Readonly<Record<string, number>>; strings: Readonly<Record<string, string>> } {
  if (result.source !== 'done-hook' || result.counters === undefined) {
    // wrk reports a script that fails to load (e.g. the HMAC self-test) and goes on with its
    // default request, so this is where such a failure shows.
    const luaError = result.output.split('\n').find((l) => /\.lua:\d*:? /.test(l));
    throw new Error(
      `${label}: wrk did not run the bench's script${luaError === undefined ? '' : `: ${luaError}`}\n${result.output}`,
    );
  }
  return { counters: result.counters, strings: result.strings ?? {} };
}

export function webhookBench(spec: WebhookBenchSpec): Bench {
  return {
    name: spec.name,
    description: spec.description,
    resultFile: spec.resultFile,
    run: (context) => runBench(spec, context),
  };
}

async function runBench(spec: WebhookBenchSpec, context: BenchContext): Promise<BenchOutcome> {
  const tools = requireTools(['wrk'] as const);
  const startedAt = new Date().toISOString();
  const build = await snapshotBuild();
  const scriptDir = await mkdtemp(join(tmpdir(), 'delivery-metrics-bench-wrk-'));
  const scripts = trackDir(scriptDir);
  const problems: string[] = [];
  const runs: RunRecord[] = [];
  let nextId = spec.firstId;
  const ids = () => {
    const first = nextId;
    nextId += IDS_PER_RUN;
    return first;
  };
  try {
    // Written once: a Lua HMAC that disagrees with node:crypto fails here, in every run's
    // script load, before anything is measured.
    const paths = {
      measure: await writeWebhookScript(scriptDir, `${spec.name}-measure`, spec.template),
      oursCheck: await writeWebhookScript(scriptDir, `${spec.name}-check-ours`, spec.template, {
        limit: OURS_CHECK_REQUESTS,
        expectInBody: '"outcome":"processed"',
      }),
      bareCheck: await writeWebhookScript(scriptDir, `${spec.name}-check-bare`, spec.template, {
        limit: spec.bare.checkRequests,
      }),
    };
    for (let round = 1; round <= context.rounds; round++) {
      for (const kind of ['delivery-metrics', 'bare'] as const) {
        runs.push(
          await runTarget({ spec, kind, round, context, build, wrkPath: tools.wrk, paths, ids, problems }),
        );
      }
    }
  } finally {
    await scripts.remove();
    await build.remove();
  }

  const ours = medianRun(runs.filter((r) => r.target === 'delivery-metrics'));
  const bare = medianRun(runs.filter((r) => r.target === 'bare'));
  const ratio = bare.wrk.okRps > 0 ? ours.wrk.okRps / bare.wrk.okRps : Number.NaN;
  const checks: TargetCheck[] = [
    {
      name: `delivery-metrics / ${spec.bare.label} (2xx req/s)`,
      value: ratio,
      display: Number.isNaN(ratio) ? 'n/a' : ratio.toFixed(2),
      target: `>= ${spec.targets.minRatio.toFixed(2)}`,
      pass: ratio >= spec.targets.minRatio,
    },
    {
      name: `delivery-metrics p99 at ${SETTINGS.connections} connections`,
      value: ours.wrk.latencyMs.p99,
      display: formatMs(ours.wrk.latencyMs.p99),
      target: `<= ${spec.targets.maxP99Ms} ms`,
      pass: ours.wrk.latencyMs.p99 <= spec.targets.maxP99Ms,
    },
  ];
  const warnings = warningsOf(runs, context.rounds);
  const missed = checks.filter((c) => !c.pass).map((c) => `${c.name} = ${c.display}, target ${c.target}`);
  return {
    report: report(spec, [ours, bare], runs, checks, context.rounds),
    problems,
    missed,
    warnings,
    results: {
      bench: spec.name,
      startedAt,
      finishedAt: new Date().toISOString(),
      build: { commit: build.commit, srcModified: build.srcModified },
      host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      tools: { wrk: toolVersion(tools.wrk, ['--version']) },
      settings: {
        measure: SETTINGS,
        warmup: WARMUP,
        check: {
          ...CHECK_SETTINGS,
          oursRequests: OURS_CHECK_REQUESTS,
          bareRequests: spec.bare.checkRequests,
        },
        rounds: context.rounds,
      },
      requests: spec.requestInfo,
      /** Per target, the round with the median 2xx rate: what the table and the checks use. */
      medians: [ours, bare].map((r) => ({ target: r.target, round: r.round })),
      targets: checks,
      runs,
      problems,
      missed,
      warnings,
    },
  };
}

interface RunTargetOptions {
  readonly spec: WebhookBenchSpec;
  readonly kind: TargetKind;
  readonly round: number;
  readonly context: BenchContext;
  readonly build: BuildSnapshot;
  readonly wrkPath: string;
  readonly paths: { readonly measure: string; readonly oursCheck: string; readonly bareCheck: string };
  /** The first id of a fresh block, for one wrk run. */
  readonly ids: () => number;
  readonly problems: string[];
}

async function runTarget(o: RunTargetOptions): Promise<RunRecord> {
  const { spec, kind, context, problems } = o;
  const name = kind === 'bare' ? spec.bare.label : 'delivery-metrics';
  const label = `${name}${o.context.rounds > 1 ? ` (round ${o.round}/${o.context.rounds})` : ''}`;
  const target: DeliveryMetrics | BareServer =
    kind === 'bare'
      ? await startBareServer(spec.bare.script, spec.bare.env)
      : await startDeliveryMetrics({ authToken: AUTH_TOKEN, build: o.build, env: spec.serviceEnv });
  const logIssues: string[] = [];
  const stopListening = target.process.onLine((line) => {
    if (kind === 'delivery-metrics' && isLogIssue(line) && logIssues.length < 50) logIssues.push(line);
  });
  const url = `${target.url}${spec.template.path}`;
  const accounting: Accounting = { answered2xx: 0, written: 0 };
  let record: Omit<RunRecord, 'exit'>;
  let exit: string;
  try {
    // 1. Check: every answer read.
    const check: CheckMode =
      kind === 'bare'
        ? { limit: spec.bare.checkRequests }
        : { limit: OURS_CHECK_REQUESTS, expectInBody: '"outcome":"processed"' };
    context.progress(
      `${label}: checking ${check.limit} requests (${kind === 'bare' ? spec.bare.checkProves : 'each must be answered 200 {"outcome":"processed"}'})`,
    );
    const checkRun = await runWrk({
      wrkPath: o.wrkPath,
      url,
      scriptPath: kind === 'bare' ? o.paths.bareCheck : o.paths.oursCheck,
      settings: CHECK_SETTINGS,
      scriptArgs: webhookScriptArgs(o.ids(), CHECK_SETTINGS.threads),
    });
    const checked = requireHook(checkRun, `${label} check`);
    const checkOk = checked.counters.ok ?? 0;
    const checkAnswered = checked.counters.answered ?? 0;
    if (checkOk !== check.limit || checkAnswered !== check.limit) {
      throw new Error(
        `${label}: the bench is broken: of ${check.limit} check requests, ${checkAnswered} were answered and ${checkOk} as expected` +
          `${checked.strings.first_bad === undefined ? '' : `; first bad answer: ${checked.strings.first_bad}`}. ` +
          `Last output of ${name}:\n${target.process.tail()}`,
      );
    }
    accounting.answered2xx += checkRun.requests - checkRun.non2xx;
    accounting.written += (checked.counters.sent ?? 0) - UNSENT_REQUEST_CALLS;

    // 2. Warm-up.
    context.progress(`${label}: warm-up ${WARMUP.durationS} s`);
    const warm = await runWrk({
      wrkPath: o.wrkPath,
      url,
      scriptPath: o.paths.measure,
      settings: WARMUP,
      scriptArgs: webhookScriptArgs(o.ids(), WARMUP.threads),
    });
    const warmCounters = requireHook(warm, `${label} warm-up`).counters;
    accounting.answered2xx += warm.requests - warm.non2xx;
    accounting.written += (warmCounters.sent ?? 0) - UNSENT_REQUEST_CALLS;
    const warmup = { okRps: warm.okRps, non2xx: warm.non2xx, socketErrors: socketErrorCount(warm) };

    // 3. Measurement.
    const cpuBefore = target.cpuSeconds();
    const schedBefore = target.process.pid === undefined ? undefined : schedStat(target.process.pid);
    const othersBefore = cpuSnapshot();
    const started = performance.now();
    context.progress(
      `${label}: measuring ${SETTINGS.durationS} s (wrk -t${SETTINGS.threads} -c${SETTINGS.connections})`,
    );
    const measured = await runWrk({
      wrkPath: o.wrkPath,
      url,
      scriptPath: o.paths.measure,
      settings: SETTINGS,
      scriptArgs: webhookScriptArgs(o.ids(), SETTINGS.threads),
    });
    const wallS = (performance.now() - started) / 1000;
    const cpuAfter = target.cpuSeconds();
    const schedAfter = target.process.pid === undefined ? undefined : schedStat(target.process.pid);
    const othersAfter = cpuSnapshot();
    const { output, ...wrk } = measured;
    const measuredCounters = requireHook(measured, label).counters;
    accounting.answered2xx += wrk.requests - wrk.non2xx;
    accounting.written += (measuredCounters.sent ?? 0) - UNSENT_REQUEST_CALLS;

    if (target.process.exit !== undefined) {
      problems.push(
        `${label}: the target died during the run (${describeExit(target.process.exit)}). Last output:\n${target.process.tail()}`,
      );
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

    // 4. Reconciliation: what the service counted against what wrk sent and had answered.
    let serverOutcomes: Outcomes | undefined;
    if (kind === 'delivery-metrics' && target.process.exit === undefined) {
      serverOutcomes = await settledOutcomes(target.url, spec);
      const processed = serverOutcomes.processed ?? 0;
      const others = Object.entries(serverOutcomes).filter(([k, v]) => k !== 'processed' && v > 0);
      if (others.length > 0) {
        problems.push(
          `${label}: the service counted outcomes other than processed: ${JSON.stringify(serverOutcomes)}`,
        );
      }
      if (processed < accounting.answered2xx || processed > accounting.written) {
        problems.push(
          `${label}: the service counted ${processed} processed ${spec.source} ${spec.event} requests, but wrk had ` +
            `${accounting.answered2xx} answered 2xx (checks, warm-up, measured) of ${accounting.written} sent: ` +
            `it must be within [${accounting.answered2xx}, ${accounting.written}]`,
        );
      }
    }

    const serverCpuS = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
    const serverCpuCores = serverCpuS === undefined ? undefined : serverCpuS / wallS;
    const serverCpuUsPerRequest =
      serverCpuS === undefined || wrk.requests === 0 ? undefined : (serverCpuS / wrk.requests) * 1e6;
    const mainCpuUsPerRequest =
      schedBefore !== undefined && schedAfter !== undefined && wrk.requests > 0
        ? ((schedAfter.runS - schedBefore.runS) / wrk.requests) * 1e6
        : undefined;
    const serverRunqueueWait =
      schedBefore !== undefined && schedAfter !== undefined
        ? (schedAfter.waitS - schedBefore.waitS) / wallS
        : undefined;
    const exclude = [process.pid, ...(target.process.pid === undefined ? [] : [target.process.pid])];
    const others =
      othersBefore !== undefined && othersAfter !== undefined
        ? otherCpuSeconds(othersBefore, othersAfter, exclude)
        : undefined;
    record = {
      target: kind,
      label: name,
      round: o.round,
      check: { requests: check.limit, ok: checkOk },
      warmup,
      wrk,
      wrkText: output,
      ...(serverCpuCores === undefined ? {} : { serverCpuCores }),
      ...(serverCpuUsPerRequest === undefined ? {} : { serverCpuUsPerRequest }),
      ...(mainCpuUsPerRequest === undefined ? {} : { mainCpuUsPerRequest }),
      ...(serverRunqueueWait === undefined ? {} : { serverRunqueueWait }),
      ...(wrk.wrkCpuS === undefined ? {} : { wrkCpuCores: wrk.wrkCpuS / wrk.durationS }),
      ...(others === undefined
        ? {}
        : {
            otherCpuCores: others.total / wallS,
            otherTop: others.top.map((t) => ({ pid: t.pid, command: t.name, cores: t.seconds / wallS })),
          }),
      ...(serverOutcomes === undefined ? {} : { serverOutcomes, accounting }),
    };
  } finally {
    const crashedBefore = target.process.crashed;
    const info = await target.stop();
    stopListening();
    exit = describeExit(info);
    if (!crashedBefore && info.code !== 0) {
      problems.push(
        `${label}: did not stop cleanly on SIGTERM (${exit}). Last output:\n${target.process.tail()}`,
      );
    }
  }
  return { ...record, ...(kind === 'delivery-metrics' ? { serviceLogIssues: logIssues } : {}), exit };
}

/**
 * The service's outcome counts once the requests wrk left in flight are done: scraped until two
 * scrapes 200 ms apart agree (at most 5 s).
 */
async function settledOutcomes(url: string, spec: WebhookBenchSpec): Promise<Outcomes> {
  const deadline = Date.now() + 5_000;
  let last = outcomesOf(await send(`${url}/metrics`, { method: 'GET' }), spec.source, spec.event);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = outcomesOf(await send(`${url}/metrics`, { method: 'GET' }), spec.source, spec.event);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  return last;
}

function warningsOf(runs: readonly RunRecord[], rounds: number): string[] {
  const warnings: string[] = [];
  const at = (r: RunRecord) => `${r.label}${rounds > 1 ? ` (round ${r.round})` : ''}`;
  for (const r of runs) {
    if ((r.otherCpuCores ?? 0) > OTHER_LOAD_WARNING) {
      warnings.push(
        `${at(r)}: other processes kept ${formatPercent(r.otherCpuCores)} of a core busy or more during the ` +
          'measured run, so its numbers are disturbed (run again on a quiet machine). Biggest: ' +
          (r.otherTop ?? []).map((t) => `${formatPercent(t.cores)} ${t.command} (pid ${t.pid})`).join('; '),
      );
    }
    if ((r.serverRunqueueWait ?? 0) > RUNQUEUE_WAIT_WARNING) {
      warnings.push(
        `${at(r)}: the server's main thread waited for a CPU ${formatPercent(r.serverRunqueueWait)} of the measured run ` +
          '(runnable, but the cores were busy with other work): its rate is understated',
      );
    }
    if ((r.wrkCpuCores ?? 0) > WRK_BUSY_WARNING) {
      warnings.push(
        `${at(r)}: wrk used ${formatPercent(r.wrkCpuCores)} of a core: the load generator, not the server, may be what limits this rate`,
      );
    }
    if ((r.serviceLogIssues?.length ?? 0) > 0) {
      const lines = r.serviceLogIssues ?? [];
      warnings.push(
        `${at(r)}: the service logged ${lines.length}${lines.length >= 50 ? '+' : ''} line(s) at warn level or above, e.g.:\n      ${lines
          .slice(0, 3)
          .map((l) => l.slice(0, 400))
          .join('\n      ')}`,
      );
    }
  }
  return warnings;
}

function report(
  spec: WebhookBenchSpec,
  medians: readonly RunRecord[],
  runs: readonly RunRecord[],
  checks: readonly TargetCheck[],
  rounds: number,
): string {
  const range = (r: RunRecord) => {
    const rates = runs.filter((x) => x.target === r.target).map((x) => x.wrk.okRps);
    return `${formatRate(Math.min(...rates))}-${formatRate(Math.max(...rates))}`;
  };
  const table = formatTable(
    [
      { title: 'target' },
      { title: 'req/s (2xx)', align: 'right' },
      ...(rounds > 1 ? [{ title: `range (${rounds} rounds)`, align: 'right' as const }] : []),
      { title: 'p50', align: 'right' },
      { title: 'p99', align: 'right' },
      { title: 'max', align: 'right' },
      { title: 'non-2xx', align: 'right' },
      { title: 'sock err', align: 'right' },
      { title: 'server CPU', align: 'right' },
      { title: 'CPU/req', align: 'right' },
      { title: 'main/req', align: 'right' },
      { title: 'wrk CPU', align: 'right' },
      { title: 'other CPU', align: 'right' },
    ],
    medians.map((r) => [
      r.label,
      formatRate(r.wrk.okRps),
      ...(rounds > 1 ? [range(r)] : []),
      formatMs(r.wrk.latencyMs.p50),
      formatMs(r.wrk.latencyMs.p99),
      formatMs(r.wrk.latencyMs.max),
      String(r.wrk.non2xx),
      String(socketErrorCount(r.wrk)),
      formatPercent(r.serverCpuCores),
      r.serverCpuUsPerRequest === undefined ? 'n/a' : `${r.serverCpuUsPerRequest.toFixed(0)} us`,
      r.mainCpuUsPerRequest === undefined ? 'n/a' : `${r.mainCpuUsPerRequest.toFixed(0)} us`,
      formatPercent(r.wrkCpuCores),
      formatPercent(r.otherCpuCores),
    ]),
  );
  const targetTable = formatTable(
    [{ title: 'target' }, { title: 'value', align: 'right' }, { title: 'wanted' }, { title: '' }],
    checks.map((c) => [c.name, c.display, c.target, c.pass ? 'PASS' : 'MISS']),
  );
  const ours = runs.filter((r) => r.target === 'delivery-metrics');
  const reconciled = ours.map((r) => {
    const a = r.accounting;
    const processed = r.serverOutcomes?.processed ?? 0;
    const others = Object.entries(r.serverOutcomes ?? {}).filter(([k, v]) => k !== 'processed' && v > 0);
    return (
      `${rounds > 1 ? `round ${r.round}: ` : ''}service counted ${processed} processed` +
      (a === undefined
        ? ''
        : ` = ${a.answered2xx} answered 2xx by wrk (checks + warm-up + measured) + ${processed - a.answered2xx} ` +
          `of the ${a.written - a.answered2xx} still in flight when wrk stopped`) +
      (others.length === 0 ? ', no other outcome' : `, and ${JSON.stringify(Object.fromEntries(others))}`)
    );
  });
  const limits = medians.map(
    (r) =>
      `${r.label} used ${formatPercent(r.serverCpuCores)} of a core` +
      (r.serverRunqueueWait === undefined
        ? ''
        : ` and its main thread waited for a CPU ${formatPercent(r.serverRunqueueWait)} of the run`) +
      `, wrk ${formatPercent(r.wrkCpuCores)}`,
  );
  // Each round runs the two targets back to back, so its ratio is the least disturbed by the
  // machine's speed drifting between rounds.
  const perRound = Array.from({ length: rounds }, (_, i) => {
    const o = runs.find((r) => r.round === i + 1 && r.target === 'delivery-metrics');
    const b = runs.find((r) => r.round === i + 1 && r.target === 'bare');
    return o === undefined || b === undefined || b.wrk.okRps === 0
      ? 'n/a'
      : `${(o.wrk.okRps / b.wrk.okRps).toFixed(2)} (${formatRate(o.wrk.okRps)} / ${formatRate(b.wrk.okRps)})`;
  });
  const notes = [
    ...spec.describe,
    ...(rounds > 1 ? [`Ratio of each round (ours / bare, run back to back): ${perRound.join(', ')}.`] : []),
    `CPU (a Node server's JavaScript runs on one thread, so ~100% of a core is its ceiling): ${limits.join('; ')}.`,
    `Checks before measuring: ${OURS_CHECK_REQUESTS} requests to delivery-metrics, each answered 200 {"outcome":"processed"}; ` +
      `${spec.bare.checkRequests} to the bare server, each answered 2xx (${spec.bare.checkProves}).`,
    `Reconciliation (delivery_webhook_requests_total{source="${spec.source}",event="${spec.event}"}): ${reconciled.join('; ')}.`,
    `wrk -t${SETTINGS.threads} -c${SETTINGS.connections} -d${SETTINGS.durationS}s --timeout ${SETTINGS.timeoutS}s --latency, ` +
      `after a ${WARMUP.durationS} s warm-up; each target started afresh; ${cpus().length} CPUs; 127.0.0.1 only. ` +
      'CPU: 100% = one core busy; CPU/req = server CPU time per answered request, main/req = that of its main thread; "other" = all other processes ' +
      'on the machine meanwhile (a lower bound: short-lived ones are missed).' +
      (rounds > 1
        ? ` Each row is the round with the median req/s of ${rounds}; the targets use those rows.`
        : ''),
  ];
  return [table, '', targetTable, '', ...notes.map((n) => `- ${n}`)].join('\n');
}
