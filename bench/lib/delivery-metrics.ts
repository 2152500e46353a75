import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir } from './cleanup.js';
import { BENCH_DIR, REPO_ROOT } from './paths.js';
import { cpuTimes, describeExit, type ExitInfo, ManagedProcess } from './process.js';

export interface DeliveryMetrics {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly process: ManagedProcess;
  /** CPU seconds the service process has used so far. */
  cpuSeconds(): number | undefined;
  /** SIGTERM, wait for the graceful stop, remove DATA_DIR. */
  stop(): Promise<ExitInfo>;
}

const DIST = join(REPO_ROOT, 'dist');

/** A private copy of the build, which the bench's service processes run. */
export interface BuildSnapshot {
  /** The copy's `main.js`. */
  readonly entry: string;
  /** The commit the working tree is on, and whether src/ differs from it. */
  readonly commit: string;
  readonly srcModified: boolean;
  remove(): Promise<void>;
}

/**
 * Copies dist/ (as `npm run bench` just built it) under bench/, so that every scenario runs the
 * same code even if someone rebuilds dist/ while the bench runs. Under bench/ rather than /tmp
 * so that the copy still resolves its packages from the repository's node_modules.
 */
export async function snapshotBuild(): Promise<BuildSnapshot> {
  if (!existsSync(join(DIST, 'main.js'))) {
    throw new Error(
      `${join(DIST, 'main.js')} does not exist: run 'npm run build' first (npm run bench does)`,
    );
  }
  const parent = join(BENCH_DIR, '.dist-snapshot');
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, 'dist-'));
  const tracked = trackDir(dir);
  await cp(DIST, dir, { recursive: true });
  const git = (...args: string[]) =>
    spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout: 10_000 }).stdout?.trim() ?? '';
  return {
    entry: join(dir, 'main.js'),
    commit: git('rev-parse', 'HEAD') || 'unknown',
    srcModified: git('status', '--porcelain', '--', 'src') !== '',
    remove: () => tracked.remove(),
  };
}

/** BENCH_ENV_<NAME>=<value>: the setting NAME for the service processes (e.g. BENCH_ENV_WEBHOOK_THREADS=0). */
function serviceSettingsFromEnv(): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BENCH_ENV_') && value !== undefined)
      settings[name.slice('BENCH_ENV_'.length)] = value;
  }
  return settings;
}

/** Node options for the service processes: BENCH_CPU_PROF_DIR, and BENCH_NODE_ARGS as written. */
function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  return [...(dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`]), ...extra];
}

/**
 * Starts the built service (`node main.js` of a build snapshot) on 127.0.0.1 with a random port, the built-in
 * catalog and a fresh, empty DATA_DIR. The environment is built from scratch so that settings
 * in the caller's shell (METRICS_CATALOG, METRICS_TOKEN, ...) cannot change what is measured;
 * `env` adds settings to it (e.g. GITLAB_URL, SCRAPE_SCHEDULE) or overrides its defaults
 * (LISTEN_ADDRESS, LOG_LEVEL...), DATA_DIR excepted.
 */
export async function startDeliveryMetrics(options: {
  authToken: string;
  build: BuildSnapshot;
  env?: Readonly<Record<string, string>>;
  /** Runs on this DATA_DIR (e.g. to restart on what an earlier process stored); the caller removes it. */
  dataDir?: string;
}): Promise<DeliveryMetrics> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'delivery-metrics-bench-')));
  const trackedDataDir = options.dataDir === undefined ? trackDir(dataDir) : { remove: async () => {} };
  const child = new ManagedProcess({
    name: 'delivery-metrics',
    command: process.execPath,
    // BENCH_CPU_PROF_DIR=<dir>: each service process writes a V8 CPU profile there when it stops;
    // BENCH_NODE_ARGS: more options for node (e.g. --trace-gc).
    args: [...profileArgs(), options.build.entry],
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      AUTH_TOKEN: options.authToken,
      LISTEN_ADDRESS: '127.0.0.1:0',
      // info, not warn: the port is announced in the info-level `listening` line. Nothing is
      // logged per request below debug.
      LOG_LEVEL: 'info',
      ...options.env,
      ...serviceSettingsFromEnv(),
      DATA_DIR: dataDir,
    },
  });
  const stop = async () => {
    const exit = await child.stop();
    await trackedDataDir.remove();
    return exit;
  };
  try {
    const line = await child.waitForLine((l) => l.includes('"msg":"listening"'), 15_000);
    const port = Number(/"port":(\d+)/.exec(line)?.[1]);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in the listening line: ${line}`);
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      dataDir,
      process: child,
      cpuSeconds: () => (child.pid === undefined ? undefined : cpuTimes(child.pid)?.own),
      stop,
    };
  } catch (err) {
    const exit = await stop();
    throw new Error(`${(err as Error).message}\n(delivery-metrics: ${describeExit(exit)})`);
  }
}
