import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  readonly error?: string;
}

export interface StartOptions {
  /** Short name for messages, e.g. `delivery-metrics`. */
  readonly name: string;
  readonly command: string;
  readonly args?: readonly string[];
  /** The whole environment of the child: nothing is inherited implicitly. */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const KEEP_LINES = 200;
const running = new Set<ManagedProcess>();
/** Short-lived helpers (wrk) started with plain spawn: killed too if the bench is interrupted. */
const helpers = new Set<ChildProcess>();

/** Has `child` killed by stopAllProcesses if it still runs then; throws if the bench is stopping. */
export function trackHelper(child: ChildProcess): void {
  if (closing) {
    child.kill('SIGKILL');
    throw new Error('the bench is stopping');
  }
  helpers.add(child);
  child.once('exit', () => helpers.delete(child));
}

/** Set by stopAllProcesses: from then on nothing new is started (the bench is being interrupted). */
let closing = false;

/**
 * A child process whose stdout and stderr are drained continuously (a full pipe would stall
 * it under load) and whose last lines are kept for error reports.
 */
export class ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  readonly #lines: string[] = [];
  readonly #listeners = new Set<(line: string) => void>();
  #exit: ExitInfo | undefined;
  #stopRequested = false;

  constructor(options: StartOptions) {
    if (closing) throw new Error(`not starting ${options.name}: the bench is stopping`);
    this.name = options.name;
    this.child = spawn(options.command, [...(options.args ?? [])], {
      env: options.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const finish = (info: ExitInfo) => {
        if (this.#exit !== undefined) return;
        this.#exit = info;
        running.delete(this);
        resolve(info);
      };
      this.child.once('error', (err) => finish({ code: null, signal: null, error: err.message }));
      this.child.once('exit', (code, signal) => finish({ code, signal }));
    });
    // BENCH_PROCESS_LOG_DIR=<dir>: every line each process prints is also kept in
    // <dir>/<name>-<pid>.log (e.g. the output of BENCH_NODE_ARGS=--trace-gc).
    const logDir = process.env.BENCH_PROCESS_LOG_DIR;
    const logFile =
      logDir === undefined || logDir === '' ? undefined : join(logDir, `${this.name}-${this.child.pid}.log`);
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (logFile !== undefined) appendFileSync(logFile, `${line}\n`);
        this.#onLine(line);
      });
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How it ended, or undefined while it runs. */
  get exit(): ExitInfo | undefined {
    return this.#exit;
  }

  /** True when it ended without us asking it to stop. */
  get crashed(): boolean {
    return this.#exit !== undefined && !this.#stopRequested;
  }

  /** The last lines it printed (stdout and stderr interleaved). */
  tail(n = 20): string {
    return this.#lines.slice(-n).join('\n');
  }

  #onLine(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > KEEP_LINES) this.#lines.shift();
    for (const listener of this.#listeners) listener(line);
  }

  /** Calls `listener` with every line printed from now on; returns the function that stops it. */
  onLine(listener: (line: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first line (already printed or still to come) that `match` accepts. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const seen = this.#lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
      };
      const listener = (line: string) => {
        if (!match(line)) return;
        done();
        resolve(line);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`${this.name} did not get ready within ${timeoutMs} ms. Last output:\n${this.tail()}`),
        );
      }, timeoutMs);
      this.#listeners.add(listener);
      void this.exited.then((info) => {
        if (!this.#listeners.has(listener)) return;
        done();
        reject(new Error(`${this.name} exited before it was ready (${describeExit(info)}):\n${this.tail()}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with how it ended. */
  async stop(graceMs = 10_000): Promise<ExitInfo> {
    if (this.#exit !== undefined) return this.#exit;
    this.#stopRequested = true;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}

export function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return `could not start: ${info.error}`;
  if (info.signal !== null) return `killed by ${info.signal}`;
  return `exit code ${info.code}`;
}

/** Stops every process started through ManagedProcess that still runs (for finally / SIGINT). */
export async function stopAllProcesses(): Promise<void> {
  closing = true;
  for (const child of helpers) child.kill('SIGTERM');
  await Promise.all([...running].map((p) => p.stop(5_000)));
}

/** Linux USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every mainstream arch). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by `pid`, and by its reaped children, from
 * /proc/<pid>/stat. Undefined where /proc is not available.
 */
export function cpuTimes(pid: number | 'self'): { own: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may contain spaces).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const at = (i: number) => Number(fields[i] ?? Number.NaN);
    // man 5 proc: utime(14) stime(15) cutime(16) cstime(17); fields[0] is field 3.
    const own = (at(11) + at(12)) / CLOCK_TICKS_PER_SECOND;
    const children = (at(13) + at(14)) / CLOCK_TICKS_PER_SECOND;
    return Number.isFinite(own) && Number.isFinite(children) ? { own, children } : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (own: all its threads, not its children) and command of every process, by pid. */
export type CpuSnapshot = ReadonlyMap<number, { readonly seconds: number; readonly name: string }>;

export function cpuSnapshot(): CpuSnapshot | undefined {
  const snapshot = new Map<number, { seconds: number; name: string }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const times = cpuTimes(pid);
    if (times === undefined) continue;
    let name = '?';
    try {
      name = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim().slice(0, 80) || name;
    } catch {
      // gone already
    }
    snapshot.set(pid, { seconds: times.own, name });
  }
  return snapshot;
}

/**
 * CPU seconds that every process except `exclude` used between two snapshots, in total and for
 * the biggest users. Only the processes' own time counts, not that of children they reaped
 * meanwhile (that would count those children's whole lives): a process that both started and
 * ended in between is missed, so this is a lower bound, enough to tell that something else was
 * competing for the CPU.
 */
export function otherCpuSeconds(
  before: CpuSnapshot,
  after: CpuSnapshot,
  exclude: readonly number[],
): { total: number; top: Array<{ pid: number; name: string; seconds: number }> } {
  const used: Array<{ pid: number; name: string; seconds: number }> = [];
  for (const [pid, { seconds, name }] of after) {
    if (exclude.includes(pid)) continue;
    const delta = seconds - (before.get(pid)?.seconds ?? 0);
    if (delta > 0) used.push({ pid, name, seconds: delta });
  }
  used.sort((a, b) => b.seconds - a.seconds);
  return { total: used.reduce((sum, u) => sum + u.seconds, 0), top: used.slice(0, 3) };
}

/**
 * Seconds the main thread of `pid` has spent on a CPU and waiting for one while runnable, from
 * /proc/<pid>/schedstat. A server whose main thread waits a lot was short of CPU: other
 * processes (or the load generator) took it. Undefined where /proc is not available.
 */
export function schedStat(pid: number): { runS: number; waitS: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return run !== undefined && wait !== undefined && Number.isFinite(run) && Number.isFinite(wait)
      ? { runS: run / 1e9, waitS: wait / 1e9 }
      : undefined;
  } catch {
    return undefined;
  }
}
