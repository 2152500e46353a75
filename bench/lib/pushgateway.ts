import { freePort } from './free-port.js';
import { send } from './http.js';
import { cpuTimes, describeExit, type ExitInfo, ManagedProcess } from './process.js';

export interface Pushgateway {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  cpuSeconds(): number | undefined;
  stop(): Promise<ExitInfo>;
}

/**
 * Starts Prometheus Pushgateway on 127.0.0.1 with an empty in-memory store. Debian's build
 * defaults `--persistence.file` to /var/lib/prometheus/pushgateway.data, so it is set to empty
 * explicitly: no file is read at start or written later.
 */
export async function startPushgateway(binary: string): Promise<Pushgateway> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = new ManagedProcess({
    name: 'pushgateway',
    command: binary,
    args: [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  try {
    await waitReady(`${url}/-/ready`, child, 15_000);
  } catch (err) {
    const exit = await child.stop();
    throw new Error(`${(err as Error).message}\n(pushgateway: ${describeExit(exit)})`);
  }
  return {
    url,
    port,
    process: child,
    cpuSeconds: () => (child.pid === undefined ? undefined : cpuTimes(child.pid)?.own),
    stop: () => child.stop(),
  };
}

async function waitReady(url: string, child: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exit !== undefined) {
      throw new Error(`pushgateway exited before it was ready:\n${child.tail()}`);
    }
    try {
      await send(url, { method: 'GET' });
      return;
    } catch {
      // not listening (or not ready) yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pushgateway not ready at ${url} within ${timeoutMs} ms:\n${child.tail()}`);
}
