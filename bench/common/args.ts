/**
 * Minimal `--name value` / `--flag` parser for the benchmark runners. `spec` maps each
 * accepted option to 'string' (takes a value) or 'flag'. Unknown options and missing
 * values are errors that name the option.
 */
export function parseArgs(argv: readonly string[], spec: Record<string, 'string' | 'flag'>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--'))
      throw new Error(
        `unexpected argument '${a}' (options: ${Object.keys(spec)
          .map((k) => '--' + k)
          .join(' ')})`,
      );
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const kind = spec[name];
    if (kind === undefined)
      throw new Error(
        `unknown option '--${name}' (options: ${Object.keys(spec)
          .map((k) => '--' + k)
          .join(' ')})`,
      );
    if (kind === 'flag') {
      if (eq >= 0) throw new Error(`option '--${name}' takes no value`);
      out[name] = true;
    } else if (eq >= 0) {
      out[name] = a.slice(eq + 1);
    } else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`option '--${name}' needs a value`);
      out[name] = v;
      i++;
    }
  }
  return out;
}

/** A positive integer option, or the default; errors name the option. */
export function intOption(opts: Record<string, string | boolean>, name: string, dflt: number, min = 1): number {
  const v = opts[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${String(v)}'`);
  return n;
}

/** A comma-separated list of positive integers (e.g. `--threads 1,2`). */
export function intListOption(opts: Record<string, string | boolean>, name: string, dflt: number[]): number[] {
  const v = opts[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw new Error(`--${name} needs a value`);
  const parts = v.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length === 0 || nums.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--${name} must be a comma-separated list of positive integers, got '${v}'`);
  }
  return nums;
}
