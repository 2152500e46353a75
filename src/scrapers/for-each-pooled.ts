/**
 * Runs `work` for every item, `concurrency` at a time, stopping early when `signal` aborts.
 * The API's limiter still decides when each request starts: a small pool only lets one
 * project's answer wait while the next project's request goes out.
 */
export async function forEachPooled<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && signal?.aborted !== true) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
