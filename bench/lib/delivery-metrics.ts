import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
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

export const SERVICE_ENTRY = join(REPO_ROOT, 'dist', 'main.js');

/**
 * Starts the built service (`node dist/main.js`) on 127.0.0.1 with a random port, the built-in
 * catalog and a fresh, empty DATA_DIR. The environment is built from scratch so that settings
 * in the caller's shell (METRICS_CATALOG, METRICS_TOKEN, ...) cannot change what is measured.
 */
export async function startDeliveryMetrics(options: { authToken: string }): Promise<DeliveryMetrics> {
  if (!existsSync(SERVICE_ENTRY)) {
    throw new Error(`${SERVICE_ENTRY} does not exist: run 'npm run build' first (npm run bench does)`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'delivery-metrics-bench-'));
  const child = new ManagedProcess({
    name: 'delivery-metrics',
    command: process.execPath,
    args: [SERVICE_ENTRY],
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      AUTH_TOKEN: options.authToken,
      LISTEN_ADDRESS: '127.0.0.1:0',
      DATA_DIR: dataDir,
      // info, not warn: the port is announced in the info-level `listening` line. Nothing is
      // logged per request below debug.
      LOG_LEVEL: 'info',
    },
  });
  const stop = async () => {
    const exit = await child.stop();
    await rm(dataDir, { recursive: true, force: true });
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
