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

/** Sends one request and throws, with the answer's body, unless it is 2xx. */
export async function send(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<string> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok)
    throw new Error(`${init.method} ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return text;
}

/** Sample values of one metric in a Prometheus text exposition, keyed by their label text. */
export function samplesOf(exposition: string, name: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const m = /^(\{.*\})?\s+(\S+)/.exec(rest);
    if (m === null) continue;
    samples.set(m[1] ?? '', Number(m[2]));
  }
  return samples;
}
