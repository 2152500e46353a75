import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpuTimes, trackHelper } from './process.js';

/** One HTTP request the load generator sends, over and over (or in rotation with others). */
export interface WrkRequest {
  readonly method: 'POST' | 'PUT';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface WrkSettings {
  readonly threads: number;
  readonly connections: number;
  readonly durationS: number;
  /** A response slower than this counts as a socket timeout error. */
  readonly timeoutS: number;
}

export interface LatencyMs {
  readonly avg: number;
  readonly stdev: number;
  readonly max: number;
  readonly p50: number;
  readonly p75: number;
  readonly p90: number;
  readonly p99: number;
  /** Only from the script's done() hook; the text output stops at p99. */
  readonly p999?: number;
}

export interface WrkResult {
  /** Responses received, whatever their status. */
  readonly requests: number;
  readonly durationS: number;
  /** Responses per second, as wrk's `Requests/sec`. */
  readonly rps: number;
  /** 2xx/3xx responses per second: the throughput that counts. */
  readonly okRps: number;
  readonly latencyMs: LatencyMs;
  /** wrk's `Non-2xx or 3xx responses` (status >= 400). */
  readonly non2xx: number;
  readonly socketErrors: {
    readonly connect: number;
    readonly read: number;
    readonly write: number;
    readonly timeout: number;
  };
  /** Where the numbers came from: the done() hook (exact) or the text report (rounded). */
  readonly source: 'done-hook' | 'text';
  /** CPU seconds wrk itself used, when measurable. */
  readonly wrkCpuS?: number;
  /**
   * Globals of the threads' Lua states, summed over the threads (numbers) or taken from the
   * first thread that set them (strings): only from scripts whose done() hook reads them (see
   * `luaDoneHook`).
   */
  readonly counters?: Readonly<Record<string, number>>;
  readonly strings?: Readonly<Record<string, string>>;
}

const JSON_MARKER = 'WRK_JSON ';

/**
 * A Lua string literal for any string (as UTF-8) or bytes: every byte outside printable ASCII,
 * `"` and `\` is escaped.
 */
export function luaString(value: string | Uint8Array): string {
  let out = '"';
  for (const byte of typeof value === 'string' ? Buffer.from(value, 'utf8') : value) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
    out += printable ? String.fromCharCode(byte) : `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * wrk's done() hook, printing the exact summary as one `WRK_JSON {...}` line. With `counters`
 * or `strings` (names of globals the script's request()/response() keep in each thread's Lua
 * state), it also defines setup(), which numbers the threads (global `tid`, from 0, set before
 * init() runs) and keeps them so that done() can read those globals: numbers are summed over
 * the threads, strings come from the first thread that set one.
 */
export function luaDoneHook(
  extra: { counters?: readonly string[]; strings?: readonly string[] } = {},
): string {
  const counters = extra.counters ?? [];
  const strings = extra.strings ?? [];
  const withThreads = counters.length > 0 || strings.length > 0;
  const names = (list: readonly string[]) => `{${list.map((n) => luaString(n)).join(', ')}}`;
  const threadsPart = withThreads
    ? `local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\\\]', function(c) return string.format('\\\\u%04x', c:byte()) end) .. '"'
end

local function extra_json()
  local parts = {}
  for _, name in ipairs(${names(counters)}) do
    local total = 0
    for _, t in ipairs(threads) do total = total + (tonumber(t:get(name)) or 0) end
    table.insert(parts, string.format('%s:%d', json_string(name), total))
  end
  local counters = '"counters":{' .. table.concat(parts, ',') .. '}'
  parts = {}
  for _, name in ipairs(${names(strings)}) do
    for _, t in ipairs(threads) do
      local v = t:get(name)
      if type(v) == 'string' then
        table.insert(parts, json_string(name) .. ':' .. json_string(v))
        break
      end
    end
  end
  return ',' .. counters .. ',"strings":{' .. table.concat(parts, ',') .. '}'
end
`
    : `local function extra_json() return '' end
`;
  return `${threadsPart}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${JSON_MARKER}{"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%.3f,"max":%.3f,"mean":%.3f,"stdev":%.3f,' ..
    '"p50":%.3f,"p75":%.3f,"p90":%.3f,"p99":%.3f,"p999":%.3f}%s}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), extra_json()))
end
`;
}

/**
 * A wrk script that sends `requests` in rotation (one request: always the same), each
 * pre-formatted once in init(), so the per-request Lua work is one table lookup whatever the
 * scenario. Its done() hook prints the exact summary as one `WRK_JSON {...}` line.
 */
export function wrkScript(requests: readonly WrkRequest[]): string {
  if (requests.length === 0) throw new Error('wrk script needs at least one request');
  const entries = requests.map((r) => {
    const headers = Object.entries(r.headers)
      .map(([k, v]) => `[${luaString(k)}]=${luaString(v)}`)
      .join(',');
    return `{${luaString(r.method)},${luaString(r.path)},{${headers}},${luaString(r.body)}}`;
  });
  return `-- Generated by bench/lib/wrk.ts
local specs = {
${entries.join(',\n')}
}
local reqs = {}
local n = #specs
local i = 0

function init(args)
  for k, s in ipairs(specs) do
    local headers = {}
    for name, value in pairs(s[3]) do headers[name] = value end
    reqs[k] = wrk.format(s[1], s[2], headers, s[4])
  end
  specs = nil
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

${luaDoneHook()}`;
}

export async function writeWrkScript(
  dir: string,
  name: string,
  requests: readonly WrkRequest[],
): Promise<string> {
  const path = join(dir, `${name}.lua`);
  await writeFile(path, wrkScript(requests));
  return path;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** wrk's human times (`812.00us`, `3.05ms`, `1.20s`, `2.00m`) in milliseconds. */
export function parseWrkTime(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (match === null) throw new Error(`not a wrk time: '${text}'`);
  return Number(match[1]) * (TIME_UNITS_MS[match[2] ?? ''] ?? Number.NaN);
}

interface DoneHookJson {
  requests: number;
  duration_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: {
    max: number;
    mean: number;
    stdev: number;
    p50: number;
    p75: number;
    p90: number;
    p99: number;
    p999: number;
  };
  counters?: Record<string, number>;
  strings?: Record<string, string>;
}

/**
 * Reads wrk's report: the text (`Latency` stats line, the `--latency` distribution,
 * `N requests in Xs`, `Requests/sec`, `Non-2xx or 3xx responses`, `Socket errors`) and, when
 * present, the exact `WRK_JSON` line of our done() hook, which then wins.
 */
export function parseWrkOutput(output: string): WrkResult {
  const lines = output.split('\n');
  const find = (re: RegExp) => {
    for (const line of lines) {
      const m = re.exec(line);
      if (m !== null) return m;
    }
    return undefined;
  };

  const summary = find(/^\s*(\d+) requests in ([\d.]+\w+), /);
  const rpsLine = find(/^Requests\/sec:\s+([\d.]+)/);
  const stats = find(/^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+/);
  const percentiles = new Map<number, number>();
  for (const line of lines) {
    const m = /^\s+([\d.]+)%\s+(\S+)\s*$/.exec(line);
    if (m !== null) percentiles.set(Number(m[1]), parseWrkTime(m[2] ?? ''));
  }
  const non2xx = Number(find(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const sock = find(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = {
    connect: Number(sock?.[1] ?? 0),
    read: Number(sock?.[2] ?? 0),
    write: Number(sock?.[3] ?? 0),
    timeout: Number(sock?.[4] ?? 0),
  };

  const jsonLine = lines.find((l) => l.startsWith(JSON_MARKER));
  if (jsonLine !== undefined) {
    const j = JSON.parse(jsonLine.slice(JSON_MARKER.length)) as DoneHookJson;
    const durationS = j.duration_us / 1e6;
    const ms = (us: number) => us / 1000;
    return {
      requests: j.requests,
      durationS,
      rps: j.requests / durationS,
      okRps: (j.requests - j.errors.status) / durationS,
      latencyMs: {
        avg: ms(j.latency_us.mean),
        stdev: ms(j.latency_us.stdev),
        max: ms(j.latency_us.max),
        p50: ms(j.latency_us.p50),
        p75: ms(j.latency_us.p75),
        p90: ms(j.latency_us.p90),
        p99: ms(j.latency_us.p99),
        p999: ms(j.latency_us.p999),
      },
      non2xx: j.errors.status,
      socketErrors: {
        connect: j.errors.connect,
        read: j.errors.read,
        write: j.errors.write,
        timeout: j.errors.timeout,
      },
      source: 'done-hook',
      ...(j.counters === undefined ? {} : { counters: j.counters }),
      ...(j.strings === undefined ? {} : { strings: j.strings }),
    };
  }

  if (summary === undefined || rpsLine === undefined || stats === undefined) {
    throw new Error(`cannot read wrk output:\n${output}`);
  }
  const requests = Number(summary[1]);
  const durationS = parseWrkTime(summary[2] ?? '') / 1000;
  const percentile = (p: number) => {
    const value = percentiles.get(p);
    if (value === undefined) throw new Error(`wrk output has no ${p}% latency (was --latency given?)`);
    return value;
  };
  return {
    requests,
    durationS,
    rps: Number(rpsLine[1]),
    okRps: (requests - non2xx) / durationS,
    latencyMs: {
      avg: parseWrkTime(stats[1] ?? ''),
      stdev: parseWrkTime(stats[2] ?? ''),
      max: parseWrkTime(stats[3] ?? ''),
      p50: percentile(50),
      p75: percentile(75),
      p90: percentile(90),
      p99: percentile(99),
    },
    non2xx,
    socketErrors,
    source: 'text',
  };
}

export interface RunWrkOptions {
  readonly wrkPath: string;
  /** The URL wrk connects to; the script's requests bring their own paths. */
  readonly url: string;
  readonly scriptPath: string;
  readonly settings: WrkSettings;
  /** Handed to the script's init(args) as args[1], args[2], ... (args[0] is the URL). */
  readonly scriptArgs?: readonly string[];
}

/** Runs wrk once (bounded: killed if it overruns its duration by 30 s) and parses its report. */
export function runWrk(options: RunWrkOptions): Promise<WrkResult & { readonly output: string }> {
  const { settings } = options;
  const args = [
    `--threads=${settings.threads}`,
    `--connections=${settings.connections}`,
    `--duration=${settings.durationS}s`,
    `--timeout=${settings.timeoutS}s`,
    '--latency',
    `--script=${options.scriptPath}`,
    options.url,
    ...(options.scriptArgs ?? []),
  ];
  const before = cpuTimes('self');
  return new Promise((resolve, reject) => {
    const child = spawn(options.wrkPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      trackHelper(child);
    } catch (err) {
      reject(err);
      return;
    }
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const overrun = setTimeout(() => child.kill('SIGKILL'), (settings.durationS + 30) * 1000);
    child.once('error', (err) => {
      clearTimeout(overrun);
      reject(new Error(`cannot run ${options.wrkPath}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(overrun);
      if (code !== 0) {
        reject(new Error(`wrk ${args.join(' ')} failed (${signal ?? `exit code ${code}`}):\n${output}`));
        return;
      }
      try {
        const result = parseWrkOutput(output);
        const after = cpuTimes('self');
        // wrk is our only child that ends during the run, so the growth of our reaped
        // children's CPU time is wrk's.
        const wrkCpuS = before && after ? after.children - before.children : undefined;
        resolve({ ...result, ...(wrkCpuS === undefined ? {} : { wrkCpuS }), output });
      } catch (err) {
        reject(err);
      }
    });
  });
}
