/**
 * /metrics at scale (issue 6), in one run:
 *
 * 1. About 16,000 sample lines (1,000 label sets, each a histogram with 8 buckets, two gauges
 *    and a counter), pushed into delivery-metrics through its push API; the same lines, taken
 *    from our own scrape, PUT into Prometheus Pushgateway. Both are scraped in turns, plain and
 *    gzipped (as Prometheus asks); target: our median no higher than Pushgateway's.
 * 2. 100,000 histogram series with 12 buckets, pushed through the push API. Median scrape
 *    (target at most 1 s); GitLab webhook p99 under wrk, first alone and then while a client
 *    scrapes /metrics back to back (target at most 50 ms); heap per series (target at most
 *    1 KB); then a restart on the same DATA_DIR, timed from spawn to the first 200 of
 *    /-/ready (target at most 3 s), with every series checked to be back.
 *
 * Heap per series is measured in the bench's own process, on the built MetricState with the same
 * 100,000 series, after a forced garbage collection: a server process cannot be asked for a
 * collected heap from outside. The server's own heap and RSS figures (no forced collection) are
 * reported next to it.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gitlabWebhookSpec } from './gitlab-webhook.bench.js';
import type { Bench, BenchContext, BenchOutcome } from './lib/bench.js';
import { trackDir } from './lib/cleanup.js';
import {
  type BuildSnapshot,
  type DeliveryMetrics,
  snapshotBuild,
  startDeliveryMetrics,
} from './lib/delivery-metrics.js';
import { runPool, samplesOf, send } from './lib/http.js';
import { describeExit } from './lib/process.js';
import { type Pushgateway, startPushgateway } from './lib/pushgateway.js';
import { formatMs, formatTable } from './lib/table.js';
import { requireTools, toolVersion } from './lib/tools.js';
import { webhookScriptArgs, writeWebhookScript } from './lib/webhook-script.js';
import { runWrk, type WrkResult, type WrkSettings } from './lib/wrk.js';

const AUTH_TOKEN = `bench-${randomUUID()}`;
const SMALL_SETS = 1_000;
const LARGE_SERIES = 100_000;
const PUSH_CONCURRENCY = 48;
const SMALL_SCRAPES = 30;
const LARGE_SCRAPES = 5;
const WEBHOOK_SETTINGS: WrkSettings = { threads: 1, connections: 32, durationS: 10, timeoutS: 10 };
const WEBHOOK_WARMUP: WrkSettings = { ...WEBHOOK_SETTINGS, durationS: 3 };

const TARGETS = { largeScrapeMs: 1000, webhookP99Ms: 50, heapBytesPerSeries: 1024, readyMs: 3000 };

const SMALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const LARGE_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const LARGE_LABELS = ['project', 'pipeline', 'stage', 'job', 'runner', 'status'];

const CATALOG = `metrics:
  http_request_duration_seconds:
    type: histogram
    help: Request latency of a service behind the gateway
    labels: [service, instance_id, route]
    buckets: [${SMALL_BUCKETS.join(', ')}]
    max_series: ${SMALL_SETS}
  http_requests_in_flight:
    type: gauge
    help: Requests being served
    labels: [service, instance_id, route]
    max_series: ${SMALL_SETS}
  process_open_connections:
    type: gauge
    help: Open connections
    labels: [service, instance_id, route]
    max_series: ${SMALL_SETS}
  http_requests_total:
    type: counter
    help: Requests served
    labels: [service, instance_id, route]
    max_series: ${SMALL_SETS}
  ci_job_duration_seconds:
    type: histogram
    help: CI job duration pushed by the jobs themselves
    labels: [${LARGE_LABELS.join(', ')}]
    buckets: [${LARGE_BUCKETS.join(', ')}]
    max_series: ${LARGE_SERIES}
`;

const SMALL_METRICS = [
  'delivery_http_request_duration_seconds',
  'delivery_http_requests_in_flight',
  'delivery_process_open_connections',
  'delivery_http_requests_total',
];
const LARGE_METRIC = 'delivery_ci_job_duration_seconds';

function smallLabels(i: number): string {
  return `svc-${i % 40},i-${(i * 7919) % 100_000}-${i},/api/v${1 + (i % 3)}/resource-${i % 25}`;
}

function largeLabels(i: number): string[] {
  return [
    `acme/team-${i % 50}/service-${i % 997}`,
    ['build-and-test', 'deploy', 'nightly', 'release'][i % 4] as string,
    ['build', 'test', 'package', 'deploy'][i % 4] as string,
    `rspec ${(i % 8) + 1}/8 shard-${i}`,
    ['instance_type', 'group_type', 'project_type'][i % 3] as string,
    ['success', 'failed'][i % 2] as string,
  ];
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

interface Scrape {
  readonly ms: number;
  readonly bytes: number;
  readonly text?: string;
}

let curlPath = 'curl';

/**
 * One scrape timed by curl (request to last byte, body not decompressed), as a native client
 * like Prometheus reads it: Node's own HTTP client is slower at reading 280 MB than the
 * server is at writing it, and would measure itself.
 */
function timedScrape(url: string, options: { gzip: boolean }): Promise<Scrape> {
  const args = [
    '-sS',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code} %{time_total} %{size_download}',
    '-H',
    // What Prometheus (2.42, Debian's) sends: OpenMetrics first, which the service answers in.
    'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    ...(options.gzip ? ['-H', 'Accept-Encoding: gzip'] : []),
    '--max-time',
    '60',
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile(curlPath, args, { timeout: 70_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`curl ${url}: ${err.message} ${stderr}`));
        return;
      }
      const [code, seconds, bytes] = stdout.trim().split(' ');
      if (code !== '200') {
        reject(new Error(`GET ${url} answered ${code}`));
        return;
      }
      resolve({ ms: Number(seconds) * 1000, bytes: Number(bytes) });
    });
  });
}

/** The whole text of a plain scrape, for checks (not timed). */
function scrapeText(url: string): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { agent, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${url} answered ${res.statusCode}`));
          return;
        }
        const body = Buffer.concat(chunks);
        resolve({ ms: performance.now() - started, bytes: body.length, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.end();
  });
}

function scrape(url: string, options: { gzip: boolean; keepText?: boolean }): Promise<Scrape> {
  return options.keepText === true ? scrapeText(url) : timedScrape(url, options);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

function lineCount(text: string): { samples: number; total: number } {
  let samples = 0;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    total++;
    if (!line.startsWith('#')) samples++;
  }
  return { samples, total };
}

function pushForm(url: string, path: string, value: string | number, labels: string): Promise<string> {
  return send(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Private-Token': AUTH_TOKEN },
    body: `value=${encodeURIComponent(String(value))}&labels=${encodeURIComponent(labels)}`,
  });
}

/** The lines of our scrape that belong to the given metrics, HELP and TYPE included. */
function linesOf(text: string, metrics: readonly string[]): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const name = line.startsWith('#')
      ? (line.split(' ')[2] ?? '')
      : (/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? '');
    if (metrics.some((m) => name === m || name.startsWith(`${m}_`))) out.push(line);
  }
  return `${out.join('\n')}\n`;
}

interface Check {
  readonly name: string;
  readonly display: string;
  readonly wanted: string;
  readonly pass: boolean;
}

async function smallPart(
  context: BenchContext,
  build: BuildSnapshot,
  env: Record<string, string>,
  pushgatewayBinary: string,
) {
  context.progress(`part 1: ${SMALL_SETS} label sets (histogram of 8 buckets, 2 gauges, 1 counter)`);
  const ours = await startDeliveryMetrics({ authToken: AUTH_TOKEN, build, env });
  let pgw: Pushgateway | undefined;
  try {
    await runPool(SMALL_SETS, PUSH_CONCURRENCY, async (i) => {
      const labels = smallLabels(i);
      await pushForm(ours.url, '/api/http_request_duration_seconds/observe', ((i % 97) + 1) / 200, labels);
      await pushForm(ours.url, '/api/http_request_duration_seconds/observe', ((i % 13) + 1) / 20, labels);
      await pushForm(ours.url, '/api/http_requests_in_flight/set', i % 17, labels);
      await pushForm(ours.url, '/api/process_open_connections/set', (i % 101) + 3, labels);
      await pushForm(ours.url, '/api/http_requests_total/inc', (i % 1000) + 1, labels);
    });
    const full = await scrape(`${ours.url}/metrics`, { gzip: false, keepText: true });
    const content = linesOf(full.text ?? '', SMALL_METRICS);
    pgw = await startPushgateway(pushgatewayBinary);
    await send(`${pgw.url}/metrics/job/bench`, {
      method: 'PUT',
      headers: { 'Content-Type': 'text/plain; version=0.0.4' },
      body: content,
    });
    const pgwText = (await scrape(`${pgw.url}/metrics`, { gzip: false, keepText: true })).text ?? '';
    const oursLines = lineCount(full.text ?? '');
    const pgwLines = lineCount(pgwText);
    const contentLines = lineCount(content);
    // Every pushed sample must be in Pushgateway's answer (with job="bench" added).
    const pgwBuckets = samplesOf(pgwText, 'delivery_http_request_duration_seconds_bucket').size;
    if (pgwBuckets !== SMALL_SETS * (SMALL_BUCKETS.length + 1)) {
      throw new Error(`Pushgateway holds ${pgwBuckets} bucket samples, expected ${SMALL_SETS * 9}`);
    }
    context.progress(`part 1: scraping each ${SMALL_SCRAPES} times, plain and gzip, in turns`);
    const times = {
      oursPlain: [] as number[],
      pgwPlain: [] as number[],
      oursGzip: [] as number[],
      pgwGzip: [] as number[],
    };
    for (let i = 0; i < 5; i++) {
      await scrape(`${ours.url}/metrics`, { gzip: i % 2 === 0 });
      await scrape(`${pgw.url}/metrics`, { gzip: i % 2 === 0 });
    }
    for (let i = 0; i < SMALL_SCRAPES; i++) {
      times.oursPlain.push((await scrape(`${ours.url}/metrics`, { gzip: false })).ms);
      times.pgwPlain.push((await scrape(`${pgw.url}/metrics`, { gzip: false })).ms);
      times.oursGzip.push((await scrape(`${ours.url}/metrics`, { gzip: true })).ms);
      times.pgwGzip.push((await scrape(`${pgw.url}/metrics`, { gzip: true })).ms);
    }
    return {
      contentSamples: contentLines.samples,
      oursLines,
      pgwLines,
      medians: {
        oursPlain: median(times.oursPlain),
        pgwPlain: median(times.pgwPlain),
        oursGzip: median(times.oursGzip),
        pgwGzip: median(times.pgwGzip),
      },
      times,
    };
  } finally {
    await ours.stop();
    await pgw?.stop();
  }
}

/** Heap of 100,000 series in the built MetricState, measured here after forced collections. */
async function heapPerSeries(
  build: BuildSnapshot,
): Promise<{ bytesPerSeries: number; heapBytes: number; externalPerSeries: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dist = dirname(build.entry);
  const { MetricState } = (await import(pathToFileURL(join(dist, 'metrics/metric-state.js')).href)) as {
    MetricState: new (deps: { store: unknown; log: unknown }) => {
      define(def: object): { observe(labels: string[], value: number): unknown };
      render(): string;
    };
  };
  const silent = { warn() {}, info() {}, error() {}, debug() {} };
  const labels = Array.from({ length: LARGE_SERIES }, (_, i) => largeLabels(i));
  const collect = () => {
    for (let i = 0; i < 3; i++) gc();
    const m = process.memoryUsage();
    return { heap: m.heapUsed, external: m.external };
  };
  const before = collect();
  const state = new MetricState({ store: {}, log: silent });
  const view = state.define({
    name: LARGE_METRIC,
    help: 'CI job duration pushed by the jobs themselves',
    type: 'histogram',
    labelNames: LARGE_LABELS,
    buckets: LARGE_BUCKETS,
    maxSeries: LARGE_SERIES,
  });
  // The label values themselves are counted: the service holds them too.
  for (let i = 0; i < LARGE_SERIES; i++) view.observe(labels[i] as string[], (i % 7200) + 0.5);
  labels.length = 0;
  state.render(); // anything a scrape leaves behind is counted as well
  const after = collect();
  const heapBytes = after.heap - before.heap;
  // Buffers (each series keeps its label bytes for rendering) live outside the V8 heap.
  const externalBytes = after.external - before.external;
  return {
    bytesPerSeries: heapBytes / LARGE_SERIES,
    heapBytes,
    externalPerSeries: externalBytes / LARGE_SERIES,
  };
}

async function runWebhookWrk(
  wrkPath: string,
  url: string,
  scriptPath: string,
  firstId: number,
  settings: WrkSettings,
): Promise<WrkResult> {
  return runWrk({
    wrkPath,
    url,
    scriptPath,
    settings,
    scriptArgs: webhookScriptArgs(firstId, settings.threads),
  });
}

async function largePart(
  context: BenchContext,
  build: BuildSnapshot,
  env: Record<string, string>,
  wrkPath: string,
) {
  const dataDir = await mkdtemp(join(tmpdir(), 'delivery-metrics-bench-scrape-'));
  const trackedDir = trackDir(dataDir);
  const scripts = await mkdtemp(join(tmpdir(), 'delivery-metrics-bench-wrk-'));
  const trackedScripts = trackDir(scripts);
  let service: DeliveryMetrics | undefined;
  try {
    service = await startDeliveryMetrics({ authToken: AUTH_TOKEN, build, env, dataDir });
    context.progress(`part 2: pushing ${LARGE_SERIES} histogram series (12 buckets, 6 labels)`);
    const loadStarted = performance.now();
    await runPool(LARGE_SERIES, PUSH_CONCURRENCY, async (i) => {
      await pushForm(
        service!.url,
        '/api/ci_job_duration_seconds/observe',
        (i % 7200) + 0.5,
        largeLabels(i).join(','),
      );
    });
    const loadS = (performance.now() - loadStarted) / 1000;

    context.progress('part 2: scraping');
    const first = await scrape(`${service.url}/metrics`, { gzip: false, keepText: true });
    const lines = lineCount(first.text ?? '');
    const counts = samplesOf(first.text ?? '', `${LARGE_METRIC}_count`).size;
    if (counts !== LARGE_SERIES)
      throw new Error(`${LARGE_METRIC}_count has ${counts} series, expected ${LARGE_SERIES}`);
    const serverHeap = samplesOf(first.text ?? '', 'nodejs_heap_size_used_bytes');
    const serverRss = samplesOf(first.text ?? '', 'process_resident_memory_bytes');
    const plain: Scrape[] = [];
    const gzip: Scrape[] = [];
    for (let i = 0; i < LARGE_SCRAPES; i++)
      plain.push(await scrape(`${service.url}/metrics`, { gzip: false }));
    // The first gzip scrape compresses every block; later ones reuse the blocks that did not change.
    const gzipCold = await scrape(`${service.url}/metrics`, { gzip: true });
    for (let i = 0; i < LARGE_SCRAPES; i++) gzip.push(await scrape(`${service.url}/metrics`, { gzip: true }));

    context.progress('part 2: webhook p99 without scraping, then while scraping back to back');
    const script = await writeWebhookScript(scripts, 'gitlab', gitlabWebhookSpec.template);
    let nextId = gitlabWebhookSpec.firstId;
    await runWebhookWrk(wrkPath, service.url, script, nextId, WEBHOOK_WARMUP);
    nextId += 10_000_000;
    const alone = await runWebhookWrk(wrkPath, service.url, script, nextId, WEBHOOK_SETTINGS);
    nextId += 10_000_000;
    const whileScraping = async (gzipped: boolean) => {
      let scraping = true;
      const during: Scrape[] = [];
      const loop = (async () => {
        while (scraping) during.push(await scrape(`${service!.url}/metrics`, { gzip: gzipped }));
      })();
      const result = await runWebhookWrk(wrkPath, service!.url, script, nextId, WEBHOOK_SETTINGS);
      nextId += 10_000_000;
      scraping = false;
      await loop;
      return { result, scrapes: during.length, medianMs: median(during.map((d) => d.ms)) };
    };
    // With --rounds=N each case runs N times, alternating; the run with the median p99 is kept
    // and every p99 is reported: on a shared 2-core machine one 10 s run can catch a stall.
    type During = Awaited<ReturnType<typeof whileScraping>>;
    const runs: { gzip: During[]; plain: During[] } = { gzip: [], plain: [] };
    for (let round = 0; round < context.rounds; round++) {
      context.progress(`part 2: webhooks while scraping, round ${round + 1} of ${context.rounds}`);
      runs.gzip.push(await whileScraping(true));
      runs.plain.push(await whileScraping(false));
    }
    const medianRun = (list: During[]) => {
      const sorted = [...list].sort((a, b) => a.result.latencyMs.p99 - b.result.latencyMs.p99);
      return {
        ...(sorted[Math.floor((sorted.length - 1) / 2)] as During),
        p99s: list.map((d) => d.result.latencyMs.p99),
      };
    };
    const duringGzip = medianRun(runs.gzip);
    const duringPlain = medianRun(runs.plain);

    context.progress('part 2: restart on the same DATA_DIR');
    const exit = await service.stop();
    service = undefined;
    const spawned = performance.now();
    service = await startDeliveryMetrics({ authToken: AUTH_TOKEN, build, env, dataDir });
    let readyMs = Number.NaN;
    for (let i = 0; i < 3000; i++) {
      const ok = await send(`${service.url}/-/ready`, { method: 'GET' }).then(
        () => true,
        () => false,
      );
      if (ok) {
        readyMs = performance.now() - spawned;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const after = await scrape(`${service.url}/metrics`, { gzip: false, keepText: true });
    const restored = samplesOf(after.text ?? '', `${LARGE_METRIC}_count`).size;
    if (restored !== LARGE_SERIES)
      throw new Error(`after the restart ${restored} series are back, expected ${LARGE_SERIES}`);

    return {
      loadS,
      bytes: first.bytes,
      lines,
      plainMedianMs: median(plain.map((s) => s.ms)),
      gzipMedianMs: median(gzip.map((s) => s.ms)),
      gzipColdMs: gzipCold.ms,
      gzipBytes: gzip[0]?.bytes ?? 0,
      plainMs: plain.map((s) => s.ms),
      gzipMs: gzip.map((s) => s.ms),
      webhookAlone: alone,
      duringGzip,
      duringPlain,
      serverHeapBytes: [...serverHeap.values()][0],
      serverRssBytes: [...serverRss.values()][0],
      firstStopExit: describeExit(exit),
      readyMs,
      restored,
    };
  } finally {
    await service?.stop();
    await trackedDir.remove();
    await trackedScripts.remove();
  }
}

async function run(context: BenchContext): Promise<BenchOutcome> {
  const tools = requireTools(['wrk', 'prometheus-pushgateway', 'curl'] as const);
  curlPath = tools.curl;
  const build = await snapshotBuild();
  const dir = await mkdtemp(join(tmpdir(), 'delivery-metrics-bench-catalog-'));
  const trackedCatalog = trackDir(dir);
  const catalogPath = join(dir, 'catalog.yaml');
  await writeFile(catalogPath, CATALOG);
  const env = { METRICS_CATALOG: catalogPath, ...gitlabWebhookSpec.serviceEnv };
  try {
    const small = await smallPart(context, build, env, tools['prometheus-pushgateway']);
    const large = await largePart(context, build, env, tools.wrk);
    context.progress('heap per series, in-process');
    const heap = await heapPerSeries(build);

    const checks: Check[] = [
      {
        name: 'part 1: our median scrape / Pushgateway, plain',
        display: (small.medians.oursPlain / small.medians.pgwPlain).toFixed(2),
        wanted: '<= 1.00',
        pass: small.medians.oursPlain <= small.medians.pgwPlain,
      },
      {
        name: 'part 1: our median scrape / Pushgateway, gzip',
        display: (small.medians.oursGzip / small.medians.pgwGzip).toFixed(2),
        wanted: '<= 1.00',
        pass: small.medians.oursGzip <= small.medians.pgwGzip,
      },
      {
        name: 'part 2: median scrape of 100k series, plain',
        display: formatMs(large.plainMedianMs),
        wanted: `<= ${formatMs(TARGETS.largeScrapeMs)}`,
        pass: large.plainMedianMs <= TARGETS.largeScrapeMs,
      },
      {
        name: 'part 2: median scrape of 100k series, gzip',
        display: formatMs(large.gzipMedianMs),
        wanted: `<= ${formatMs(TARGETS.largeScrapeMs)}`,
        pass: large.gzipMedianMs <= TARGETS.largeScrapeMs,
      },
      {
        name: 'part 2: webhook p99 while scraped back to back (gzip)',
        display: formatMs(large.duringGzip.result.latencyMs.p99),
        wanted: `<= ${formatMs(TARGETS.webhookP99Ms)}`,
        pass: large.duringGzip.result.latencyMs.p99 <= TARGETS.webhookP99Ms,
      },
      {
        name: 'part 2: webhook p99 while scraped back to back (plain)',
        display: formatMs(large.duringPlain.result.latencyMs.p99),
        wanted: `<= ${formatMs(TARGETS.webhookP99Ms)}`,
        pass: large.duringPlain.result.latencyMs.p99 <= TARGETS.webhookP99Ms,
      },
      {
        name: 'part 2: heap per histogram series',
        display: `${Math.round(heap.bytesPerSeries)} B`,
        wanted: `<= ${TARGETS.heapBytesPerSeries} B`,
        pass: heap.bytesPerSeries <= TARGETS.heapBytesPerSeries,
      },
      {
        name: 'part 2: spawn to ready after a restart with 100k series',
        display: formatMs(large.readyMs),
        wanted: `<= ${formatMs(TARGETS.readyMs)}`,
        pass: large.readyMs <= TARGETS.readyMs,
      },
    ];
    const problems: string[] = [];
    for (const [name, r] of [
      ['alone', large.webhookAlone],
      ['while scraping (gzip)', large.duringGzip.result],
      ['while scraping (plain)', large.duringPlain.result],
    ] as const) {
      if (
        r.non2xx > 0 ||
        r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout > 0
      )
        problems.push(
          `webhooks ${name}: ${r.non2xx} non-2xx answers, socket errors ${JSON.stringify(r.socketErrors)}`,
        );
    }
    const mb = (b: number | undefined) => (b === undefined ? '?' : `${(b / 1e6).toFixed(1)} MB`);
    const report = [
      formatTable(
        [
          { title: `part 1 (median of ${SMALL_SCRAPES})` },
          { title: 'plain', align: 'right' },
          { title: 'gzip', align: 'right' },
          { title: 'lines served', align: 'right' },
        ],
        [
          [
            'delivery-metrics',
            formatMs(small.medians.oursPlain),
            formatMs(small.medians.oursGzip),
            String(small.oursLines.total),
          ],
          [
            'Pushgateway',
            formatMs(small.medians.pgwPlain),
            formatMs(small.medians.pgwGzip),
            String(small.pgwLines.total),
          ],
        ],
      ),
      '',
      formatTable(
        [{ title: 'part 2' }, { title: 'value', align: 'right' }],
        [
          ['series pushed (push API)', `${LARGE_SERIES} in ${large.loadS.toFixed(1)} s`],
          [
            'one scrape',
            `${large.lines.samples} samples, ${mb(large.bytes)} plain, ${mb(large.gzipBytes)} gzip`,
          ],
          [`median scrape, plain (${LARGE_SCRAPES})`, formatMs(large.plainMedianMs)],
          ['first gzip scrape (every block compressed; not a median)', formatMs(large.gzipColdMs)],
          [`median scrape, gzip, unchanged series (${LARGE_SCRAPES})`, formatMs(large.gzipMedianMs)],
          [
            'webhooks alone: req/s, p99',
            `${Math.round(large.webhookAlone.okRps)}, ${formatMs(large.webhookAlone.latencyMs.p99)}`,
          ],
          ...(
            [
              ['gzip', large.duringGzip],
              ['plain', large.duringPlain],
            ] as const
          ).flatMap(([kind, d]) => [
            [
              `webhooks while scraping (${kind}): p99 of each round`,
              d.p99s.map((p) => formatMs(p)).join(', '),
            ],
            [
              `webhooks while scraping (${kind}) back to back: req/s, p99, max (median round)`,
              `${Math.round(d.result.okRps)}, ${formatMs(d.result.latencyMs.p99)}, ${formatMs(d.result.latencyMs.max)}`,
            ],
            [`  scrapes (${kind}) meanwhile, median time`, `${d.scrapes}, ${formatMs(d.medianMs)}`],
          ]),
          [
            'heap per series (in-process, after gc)',
            `${Math.round(heap.bytesPerSeries)} B (${mb(heap.heapBytes)}), + ${Math.round(heap.externalPerSeries)} B outside the heap`,
          ],
          [
            'server heap used / RSS after loading (no forced gc)',
            `${mb(large.serverHeapBytes)} / ${mb(large.serverRssBytes)}`,
          ],
          ['restart: spawn to ready', formatMs(large.readyMs)],
          ['series back after restart', String(large.restored)],
        ],
      ),
      '',
      formatTable(
        [{ title: 'target' }, { title: 'value', align: 'right' }, { title: 'wanted' }, { title: '' }],
        checks.map((c) => [c.name, c.display, c.wanted, c.pass ? 'PASS' : 'MISS']),
      ),
      '',
      `- Part 1 content: ${small.contentSamples} samples pushed through the push API (2 observations per histogram), and the same lines from our scrape PUT into Pushgateway (${toolVersion(tools['prometheus-pushgateway'], ['--version'])}), which adds job="bench" to each. Our count includes prom-client's process metrics; Pushgateway's its Go runtime metrics and push_time_seconds.`,
      `- Scrape time: curl's time_total (request to last byte, body not decompressed), Prometheus' Accept header, and 'Accept-Encoding: gzip' for gzip. "Unchanged series": nothing was pushed between those scrapes, as between two Prometheus scrapes of push metrics.`,
      `- Webhooks: GitLab Job Hooks as in the gitlab-webhook bench, wrk -t1 -c32 -d10s; "while scraping": curl fetching /metrics back to back for the whole run (each webhook changes a few series, so gzip scrapes recompress those blocks).`,
      `- Heap per series: built MetricState, ${LARGE_SERIES} histogram series of 12 buckets and 6 labels, label strings included, after a render, heap used after 3 forced collections minus before.`,
    ].join('\n');
    return {
      report,
      results: {
        startedAt: new Date().toISOString(),
        commit: build.commit,
        srcModified: build.srcModified,
        small,
        large: { ...large },
        heap,
        checks,
      },
      problems,
      missed: checks.filter((c) => !c.pass).map((c) => `${c.name} = ${c.display}, target ${c.wanted}`),
      warnings: [],
    };
  } finally {
    await trackedCatalog.remove();
    await build.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

export const metricsScrapeBench: Bench = {
  name: 'metrics-scrape',
  description: '/metrics at 1,000 label sets vs Pushgateway, and at 100,000 histogram series',
  resultFile: 'metrics-scrape-latest.json',
  run,
};
