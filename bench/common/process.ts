import { spawn } from 'node:child_process';

/** What one finished child process produced. */
export interface ProcessResult {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  /** Signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall-clock duration in milliseconds. */
  wallMs: number;
}

/** Options of {@link runProcess}. */
export interface RunOptions {
  cwd?: string;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
  /** Kill the child (SIGKILL) after this many milliseconds; 0 or absent: no limit. */
  timeoutMs?: number;
  /** Copy the child's stderr (progress lines) to ours as it arrives. Default true. */
  echoStderr?: boolean;
  /** Copy the child's stdout to our stderr as it arrives (stdout stays machine-readable). */
  echoStdout?: boolean;
}

/**
 * Runs `command args…` to completion, capturing stdout and stderr. Never rejects on a
 * non-zero exit: the caller decides (see {@link requireSuccess}); rejects only when the
 * command cannot be started (e.g. not found).
 */
export function runProcess(command: string, args: readonly string[], opts: RunOptions = {}): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...(opts.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      if (opts.echoStdout === true) process.stderr.write(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (opts.echoStderr !== false) process.stderr.write(b);
    });
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    }
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot start '${command}': ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wallMs: performance.now() - started,
      });
    });
  });
}

/** Throws a readable error (command, exit status, last lines of stderr) unless it exited 0. */
export function requireSuccess(label: string, command: string, args: readonly string[], r: ProcessResult): void {
  if (r.code === 0) return;
  const how = r.signal !== null ? `was killed by ${r.signal}` : `exited with code ${r.code}`;
  const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-15).join('\n');
  throw new Error(`${label}: '${[command, ...args].join(' ')}' ${how}\n${tail}`);
}

/**
 * Parses the last non-empty line of a program's stdout as a JSON object (the convention
 * of every benchmark program here). Errors name the program and show the offending line.
 */
export function lastJsonLine(stdout: string, label: string): Record<string, unknown> {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length === 0) throw new Error(`${label}: printed nothing on stdout (expected a JSON line last)`);
  const last = lines[lines.length - 1]!;
  let value: unknown;
  try {
    value = JSON.parse(last);
  } catch (e) {
    throw new Error(`${label}: last stdout line is not JSON (${(e as Error).message}): ${last.slice(0, 300)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${label}: last stdout line is JSON but not an object: ${last.slice(0, 300)}`);
  }
  return value as Record<string, unknown>;
}

/** Reads a finite number field of a parsed result; errors name the program and field. */
export function numberField(obj: Record<string, unknown>, key: string, label: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(`${label}: field '${key}' must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Like {@link numberField} but returns null when the field is absent or null. */
export function optionalNumberField(obj: Record<string, unknown>, key: string, label: string): number | null {
  if (obj[key] === undefined || obj[key] === null) return null;
  return numberField(obj, key, label);
}
