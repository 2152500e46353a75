import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * The longest a scrape renders or assembles without giving the event loop back. Webhooks that
 * arrive meanwhile wait at most about this long, however many series there are.
 */
export const SLICE_MS = 4;

/** Call `pause()` between pieces of work: it yields to the event loop once SLICE_MS have passed. */
export function slices(): { pause(): Promise<void> } {
  let started = performance.now();
  return {
    async pause() {
      if (performance.now() - started < SLICE_MS) return;
      await nextTurn();
      started = performance.now();
    },
  };
}
