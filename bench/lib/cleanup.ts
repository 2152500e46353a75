import { rm } from 'node:fs/promises';

const pending = new Set<string>();

/**
 * Removes `dir` now, and remembers it until then so that `removeLeftovers` (run on Ctrl-C,
 * when `finally` blocks do not run) can remove it.
 */
export function trackDir(dir: string): { remove(): Promise<void> } {
  pending.add(dir);
  return {
    async remove() {
      await rm(dir, { recursive: true, force: true });
      pending.delete(dir);
    },
  };
}

/** Removes every tracked directory not removed yet. */
export async function removeLeftovers(): Promise<void> {
  await Promise.all([...pending].map((dir) => rm(dir, { recursive: true, force: true })));
  pending.clear();
}
