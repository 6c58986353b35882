// Benchmark tables: printed as Markdown, so the output pastes into docs/benchmarks.md as is.

export interface Column<R> {
  readonly title: string;
  readonly value: (row: R) => string;
  /** Numbers are right-aligned (the default for every column but the first two). */
  readonly align?: 'left' | 'right';
}

export function formatTable<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.title.length, 3, ...cells.map((r) => r[i]!.length)));
  const right = columns.map((c, i) => (c.align ?? (i < 2 ? 'left' : 'right')) === 'right');
  const pad = (text: string, i: number): string => (right[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const line = (texts: readonly string[]): string => `| ${texts.map(pad).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`;
  return [line(columns.map((c) => c.title)), rule, ...cells.map(line)].join('\n') + '\n';
}

/** 12345.6 → "12,346". */
export function formatInteger(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** KiB → "123 MiB". */
export function formatKiB(kib: number): string {
  return `${Math.round(kib / 1024)} MiB`;
}

/** A ratio to two decimals with an "x": 2.345 → "2.35x". */
export function formatRatio(r: number): string {
  return `${r.toFixed(2)}x`;
}
