/**
 * Peak resident set size of the current process in bytes: `process.resourceUsage().maxRSS`
 * (getrusage ru_maxrss, which Node reports in kilobytes) × 1024. The same quantity the
 * Python side reads with `resource.getrusage(RUSAGE_SELF).ru_maxrss * 1024`.
 */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Bytes as mebibytes, rounded to one decimal. */
export function toMiB(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}
