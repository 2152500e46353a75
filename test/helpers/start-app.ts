import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Clock, systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { type RunningService, startService } from '../../src/service.js';

export interface TestApp {
  readonly url: string;
  readonly service: RunningService;
  readonly dataDir: string;
  /** Every log line written so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** The raw log text, to search for leaked secrets. */
  rawLogs(): string;
  stop(): Promise<void>;
}

/** Starts the real service on 127.0.0.1:0 with a fresh DATA_DIR unless one is given. */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  options: { clock?: Clock; requestTimeoutMs?: number } = {},
): Promise<TestApp> {
  const dataDir = env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'dm-test-'));
  const config = loadConfig({
    LISTEN_ADDRESS: '127.0.0.1:0',
    LOG_LEVEL: 'debug',
    // The shipped default (auto) on a 2-core machine; fixed so that a larger CI machine does
    // not start more threads per test.
    WEBHOOK_THREADS: '1',
    ...env,
    DATA_DIR: dataDir,
  });
  const chunks: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = chunk.toString('utf8');
      chunks.push(text);
      for (const line of text.split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const log = createLogger(config.logLevel, sink);
  const service = await startService(config, {
    log,
    clock: options.clock ?? systemClock,
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
  });
  let stopped = false;
  return {
    url: `http://127.0.0.1:${service.port}`,
    service,
    dataDir,
    logs,
    rawLogs: () => chunks.join(''),
    async stop() {
      if (stopped) return;
      stopped = true;
      await service.stop();
      if (env.DATA_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The value of one exposition line, e.g. `delivery_x_count{a="b"}`; undefined if absent. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

export async function getMetrics(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}
