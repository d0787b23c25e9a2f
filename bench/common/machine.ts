import { cpus, hostname, loadavg, totalmem } from 'node:os';

/**
 * A one-line description of the machine and its current load, recorded next to benchmark
 * results: throughput measured while other processes compete for the cores is not
 * comparable with a quiet run, so the 1-minute load average is kept with every result.
 */
export function machineInfo(): { machine: string; cores: number; load_avg_1m: number } {
  const c = cpus();
  return {
    machine: `${hostname()}: ${c.length}× ${c[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    cores: c.length,
    load_avg_1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}
