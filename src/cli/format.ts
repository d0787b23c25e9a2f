/** Prints key/value rows as an aligned two-column table. */
export function printTable(rows: Record<string, unknown>, out: (s: string) => void = console.log): void {
  const width = Math.max(...Object.keys(rows).map((k) => k.length));
  for (const [k, v] of Object.entries(rows)) out(`${k.padEnd(width)}  ${formatValue(v)}`);
}

/** A number with 6 significant decimals for metrics, as-is otherwise. */
export function formatValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isInteger(v)) return v.toFixed(6);
  if (v === null || v === undefined) return '-';
  return String(v);
}

/** Writes a log line to stderr (stdout stays for results and the --json line). */
export function logLine(line: string): void {
  process.stderr.write(`${line}\n`);
}
