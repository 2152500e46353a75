import { join } from 'node:path';
import { BENCH_DIR } from './paths.js';
import { cpuTimes, describeExit, type ExitInfo, ManagedProcess } from './process.js';

function profileArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** A baseline server of bench/servers/, as its own Node process. */
export interface BareServer {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  /** CPU seconds the server process has used so far. */
  cpuSeconds(): number | undefined;
  stop(): Promise<ExitInfo>;
}

/**
 * Starts `node bench/servers/<script>` on 127.0.0.1 with a free port, with nothing in its
 * environment but PATH, PORT=0 and `env`; waits for its `{"msg":"listening","port":N}` line.
 */
export async function startBareServer(
  script: string,
  env: Readonly<Record<string, string>> = {},
): Promise<BareServer> {
  const child = new ManagedProcess({
    name: script,
    command: process.execPath,
    // BENCH_CPU_PROF_DIR profiles the baseline as well, so the two profiles can be compared.
    args: [...profileArgs(), join(BENCH_DIR, 'servers', script)],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', PORT: '0', ...env },
  });
  try {
    const line = await child.waitForLine((l) => l.includes('"msg":"listening"'), 15_000);
    const port = Number(/"port":(\d+)/.exec(line)?.[1]);
    if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in the listening line: ${line}`);
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      process: child,
      cpuSeconds: () => (child.pid === undefined ? undefined : cpuTimes(child.pid)?.own),
      stop: () => child.stop(),
    };
  } catch (err) {
    const exit = await child.stop();
    throw new Error(`${(err as Error).message}\n(${script}: ${describeExit(exit)})`);
  }
}
