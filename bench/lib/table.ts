export type Align = 'left' | 'right';

/** A plain-text table: a header row, a rule, then the rows; numbers are usually right-aligned. */
export function formatTable(
  columns: ReadonlyArray<{ readonly title: string; readonly align?: Align }>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: ReadonlyArray<string>) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return c.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.title)),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** Milliseconds with 2 significant decimals below 10 ms, 1 above. */
export function formatMs(ms: number): string {
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
}

export function formatRate(perSecond: number): string {
  return perSecond.toFixed(0);
}

export function formatPercent(fraction: number | undefined): string {
  return fraction === undefined ? 'n/a' : `${(fraction * 100).toFixed(0)}%`;
}
