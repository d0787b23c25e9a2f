/**
 * CPU time of the calling thread alone (not the process: worker threads excluded), from
 * Linux's /proc/thread-self/schedstat (first field: nanoseconds run on a CPU). On a machine
 * shared with other work the wall time a thread waits says little about what it computed;
 * its own CPU time does. Null where the file does not exist (not Linux, or a kernel without
 * scheduler statistics).
 */
import { closeSync, openSync, readSync } from 'node:fs';

let available: boolean | null = null;
const buf = Buffer.alloc(128);

/** Seconds the calling thread has run on a CPU since it started, or null when unknown. */
export function threadCpuSeconds(): number | null {
  if (available === false) return null;
  let fd = -1;
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r');
    const n = readSync(fd, buf, 0, buf.length, 0);
    const ns = Number(buf.toString('latin1', 0, n).split(' ')[0]);
    available = Number.isFinite(ns);
    return available ? ns / 1e9 : null;
  } catch {
    available = false;
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
