import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './temp-dir.js';

/** A real Prometheus server (Debian package `prometheus`) scraping one target every second. */
export interface RealPrometheus {
  readonly url: string;
  /** The value of an instant query that returns one sample, or undefined when it returns none. */
  query(expr: string): Promise<number | undefined>;
  /** Polls `query(expr)` until `accept` takes its value; rejects with the last value after `timeoutMs`. */
  waitFor(
    expr: string,
    accept: (v: number | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<number | undefined>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(target: {
  host: string;
  port: number;
  path?: string;
  /** More command-line flags (`--enable-feature=exemplar-storage`). */
  flags?: readonly string[];
}): Promise<RealPrometheus> {
  const dir = tempDir('dm-prometheus-');
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: delivery-metrics',
      `    metrics_path: ${target.path ?? '/metrics'}`,
      '    static_configs:',
      `      - targets: ['${target.host}:${target.port}']`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(target.flags ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => {
    stderr += `\ncannot run prometheus (apt-get install prometheus): ${err.message}`;
  });
  const url = `http://127.0.0.1:${port}`;

  const query = async (expr: string): Promise<number | undefined> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
    const first = body.data?.result?.[0];
    return first === undefined ? undefined : Number(first.value[1]);
  };
  const waitFor = async (
    expr: string,
    accept: (v: number | undefined) => boolean,
    timeoutMs = 30_000,
  ): Promise<number | undefined> => {
    const deadline = Date.now() + timeoutMs;
    let last: number | undefined;
    for (;;) {
      try {
        last = await query(expr);
        if (accept(last)) return last;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`Prometheus: ${expr} is ${last} after ${timeoutMs} ms\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  return {
    url,
    query,
    waitFor,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
