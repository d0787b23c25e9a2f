import { parseArgs } from 'node:util';
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

/**
 * Parses the arguments of a command that takes `--config FILE [--json]` (labels, sample):
 * the values, or the exit code to return (0 after --help, 2 with the help text on a bad or
 * missing argument).
 */
export function parseConfigCommand(command: string, args: string[], help: string): { config: string; json: boolean } | number {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { config: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    console.error(`finerank ${command}: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (values.config === undefined) {
    console.error(`finerank ${command}: --config FILE is required\n\n${help}`);
    return 2;
  }
  return { config: values.config, json: values.json };
}
