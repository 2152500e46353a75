import assert from 'node:assert/strict';
import {
  createdRange,
  FILTERED_RESULTS_CAP,
  type RunsPage,
  runsCreatedIn,
  splitWindow,
} from '../../../src/scrapers/github/created-windows.js';

interface Run {
  id: number;
  created: number;
}

/**
 * A runs list like GitHub's under a `created` filter: 100 a page, at most the cap in all, and
 * `total_count` either the true number or (`countToCap`) no more than the cap.
 */
function listOf(runs: readonly Run[], countToCap: boolean, queries: string[]) {
  return async function* (created: string): AsyncGenerator<RunsPage<Run>> {
    queries.push(created);
    const [from, to] = created.split('..').map((t) => Date.parse(t) / 1000) as [number, number];
    const matching = runs.filter((r) => r.created >= from && r.created <= to);
    // Oldest first here: the reader may not count on GitHub's order.
    const answered = matching.slice(0, FILTERED_RESULTS_CAP);
    const total = countToCap ? Math.min(matching.length, FILTERED_RESULTS_CAP) : matching.length;
    for (let i = 0; i === 0 || i < answered.length; i += 100) {
      yield { runs: answered.slice(i, i + 100), total };
    }
  };
}

async function readAll(
  runs: readonly Run[],
  from: number,
  to: number,
  countToCap: boolean,
): Promise<{ ids: number[]; queries: string[]; tooFull: number[] }> {
  const queries: string[] = [];
  const tooFull: number[] = [];
  const ids: number[] = [];
  for await (const page of runsCreatedIn({ from, to }, listOf(runs, countToCap, queries), (w) =>
    tooFull.push(w.from),
  )) {
    for (const r of page) ids.push(r.id);
  }
  return { ids, queries, tooFull };
}

describe('runs by creation time (GitHub answers at most 1,000 runs a query)', () => {
  const base = Date.UTC(2026, 0, 1) / 1000;

  it('writes GitHub’s range syntax, both ends included, whole seconds', () => {
    assert.equal(createdRange({ from: base, to: base + 61 }), '2026-01-01T00:00:00Z..2026-01-01T00:01:01Z');
  });

  it('cuts a window into whole seconds that neither overlap nor leave a gap, newest first', () => {
    for (const [seconds, total] of [
      [2, 5000],
      [10, 1000],
      [86_401, 12_345],
      [1_000_000, 100_000],
    ] as const) {
      const parts = splitWindow({ from: base, to: base + seconds - 1 }, total);
      assert.ok(parts.length >= 2 && parts.length <= 64);
      assert.equal(parts[0]!.to, base + seconds - 1);
      assert.equal(parts.at(-1)!.from, base);
      for (const [i, p] of parts.entries()) {
        assert.ok(p.from <= p.to);
        if (i > 0) assert.equal(p.to + 1, parts[i - 1]!.from);
      }
    }
  });

  for (const countToCap of [false, true]) {
    it(`reads every run of 7,000 bunched ones exactly once (total_count ${countToCap ? 'up to the cap' : 'true'})`, async () => {
      const runs: Run[] = [];
      // Mostly quiet, then 3,000 runs within ten minutes and 900 within one second.
      for (let i = 0; i < 3100; i++) runs.push({ id: runs.length, created: base + i * 20 });
      for (let i = 0; i < 3000; i++)
        runs.push({ id: runs.length, created: base + 70_000 + Math.floor(i / 5) });
      for (let i = 0; i < 900; i++) runs.push({ id: runs.length, created: base + 80_000 });
      const { ids, queries, tooFull } = await readAll(runs, base, base + 86_399, countToCap);
      assert.equal(new Set(ids).size, runs.length);
      assert.equal(ids.length, runs.length, 'no run read twice');
      assert.deepEqual(tooFull, []);
      // 70 pages hold them; the cuts cost a few more.
      assert.ok(queries.length < 45, `${queries.length} queries`);
    });
  }

  it('a second holding more than the cap: its first 1,000 are read and it is said', async () => {
    const runs = Array.from({ length: 1200 }, (_, id) => ({ id, created: base + 5 }));
    const { ids, tooFull } = await readAll(runs, base, base + 9, false);
    assert.equal(ids.length, FILTERED_RESULTS_CAP);
    assert.deepEqual(tooFull, [base + 5]);
  });
});
