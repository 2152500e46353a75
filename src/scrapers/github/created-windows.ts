/**
 * GitHub's runs list answers at most 1,000 runs to a query with a filter (`created` among
 * them), however many match: https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-repository
 */
export const FILTERED_RESULTS_CAP = 1000;
/** A window that is too full is cut into parts expected to hold about this many runs each. */
const PART_RUNS = FILTERED_RESULTS_CAP / 2;
const MAX_PARTS = 64;

/** Runs created from `from` to `to`, unix seconds, both included (GitHub's `A..B`). */
export interface CreatedWindow {
  readonly from: number;
  readonly to: number;
}

/** One page of a query: its runs, and the `total_count` GitHub gave with it. */
export interface RunsPage<R> {
  readonly runs: readonly R[];
  readonly total: number;
}

/** The `created` filter of a window, in GitHub's search syntax (`2026-01-01T00:00:00Z..…`). */
export function createdRange(window: CreatedWindow): string {
  const iso = (s: number): string => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return `${iso(window.from)}..${iso(window.to)}`;
}

/**
 * Cuts a window that holds `total` runs (or at least that many: GitHub may count no further
 * than it answers) into whole-second parts that do not overlap, newest first. The parts are
 * of equal length, so runs that bunch up may fill one again: it is cut in turn.
 */
export function splitWindow(window: CreatedWindow, total: number): CreatedWindow[] {
  const seconds = window.to - window.from + 1;
  const count = Math.min(seconds, MAX_PARTS, Math.max(2, Math.ceil(total / PART_RUNS)));
  const parts: CreatedWindow[] = [];
  for (let i = count - 1; i >= 0; i--) {
    parts.push({
      from: window.from + Math.floor((seconds * i) / count),
      to: window.from + Math.floor((seconds * (i + 1)) / count) - 1,
    });
  }
  return parts;
}

/**
 * Every run created in `window`, page by page, newest window first: a query whose first page
 * says it matches the cap or more is not read on but cut (splitWindow), so each query read
 * holds fewer runs than GitHub answers and none is left out, in whatever order GitHub lists
 * them. A single second that holds the cap or more (GitHub does not start runs that fast) can
 * not be cut: its first 1,000 are read and `tooFull` is told.
 */
export async function* runsCreatedIn<R>(
  window: CreatedWindow,
  query: (created: string) => AsyncIterable<RunsPage<R>>,
  tooFull: (window: CreatedWindow) => void,
): AsyncGenerator<readonly R[]> {
  const windows = [window];
  for (let w = windows.pop(); w !== undefined; w = windows.pop()) {
    let read = 0;
    for await (const { runs, total } of query(createdRange(w))) {
      if (read === 0 && total >= FILTERED_RESULTS_CAP) {
        if (w.to > w.from) {
          // Pushed oldest first, so the newest part is read next.
          windows.push(...splitWindow(w, total).reverse());
          break;
        }
        tooFull(w);
      }
      yield runs;
      read += runs.length;
      // Never asks past the cap: GitHub answers nothing there, or refuses the page.
      if (runs.length === 0 || read >= FILTERED_RESULTS_CAP) break;
    }
  }
}
