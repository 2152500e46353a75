import { Agent, request } from 'node:http';

/**
 * Keep-alive connections for the harness's own requests (pre-loading, scraping). node:http,
 * not fetch: undici costs several times more CPU per request, CPU that on a small machine the
 * target under test would be short of.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** Runs `task(0..count-1)` with at most `concurrency` in flight; rejects on the first failure. */
export async function runPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++;
      try {
        await task(index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Sends one request and resolves with the body; rejects, quoting the body, unless it is 2xx. */
export function send(
  url: string,
  init: { method: string; headers?: Readonly<Record<string, string>>; body?: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
    const req = request(
      url,
      {
        method: init.method,
        agent,
        headers: {
          ...init.headers,
          ...(body === undefined ? {} : { 'Content-Length': String(body.length) }),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(text);
          else reject(new Error(`${init.method} ${url} answered ${status}: ${text.slice(0, 500)}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${init.method} ${url}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Sample values of one metric in a Prometheus text exposition, keyed by their label text. */
export function samplesOf(exposition: string, name: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\{.*\})?\s+(\S+)/.exec(line.slice(name.length));
    if (m === null) continue;
    samples.set(m[1] ?? '', Number(m[2]));
  }
  return samples;
}
