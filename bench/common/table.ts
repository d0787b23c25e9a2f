/** Renders rows as a plain-text table with right-aligned columns (first column left). */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A number with a fixed count of significant decimals, or '—' for null. */
export function fmt(x: number | null, decimals = 0): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Ratio a/b, or null when either is missing or b is 0. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  return a / b;
}

/** Rounds to `digits` decimals (for JSON output). */
export function round(x: number | null, digits = 3): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A number with 0 decimals when |x| ≥ 100, else `small` decimals (mixed-unit tables). */
export function fmtAuto(x: number | null, small = 4): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return fmt(x, Math.abs(x) >= 100 ? 0 : small);
}
