import { formatTable } from '../common/table.js';

/** Mean and sample standard deviation (n − 1; 0 for a single value) of a list of numbers. */
export function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const n = xs.length;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd };
}

/** What one training run of a sampling variant reports (its seed's unsampled baseline gives `auc_drop`). */
export interface VariantRun {
  train_rows: number;
  test_auc: number;
  auc_drop: number;
  /** Mean prediction / observed rate − 1 on the unsampled test split. */
  rel_calibration_error: number;
}

/** A variant over seeds: mean ± sd of each number, and the pass rule. */
export interface VariantSummary<R extends VariantRun> {
  train_rows: number;
  test_auc: { mean: number; sd: number };
  auc_drop: { mean: number; sd: number };
  rel_calibration_error: { mean: number; sd: number };
  /** |mean calibration error| ≤ 2 % and mean AUC drop ≤ 0.005. */
  pass: boolean;
  runs: R[];
}

/** Summarizes each variant's runs over the seeds (see `VariantSummary`). */
export function summarizeVariants<R extends VariantRun>(runs: Record<string, R[]>): Record<string, VariantSummary<R>> {
  return Object.fromEntries(
    Object.entries(runs).map(([name, rs]) => {
      const drop = meanSd(rs.map((r) => r.auc_drop)),
        cal = meanSd(rs.map((r) => r.rel_calibration_error));
      return [
        name,
        {
          train_rows: Math.round(meanSd(rs.map((r) => r.train_rows)).mean),
          test_auc: meanSd(rs.map((r) => r.test_auc)),
          auc_drop: drop,
          rel_calibration_error: cal,
          pass: Math.abs(cal.mean) <= 0.02 && drop.mean <= 0.005,
          runs: rs,
        },
      ];
    }),
  );
}

/** The variants as a text table: train rows, test AUC, AUC drop, calibration error (%), pass. */
export function variantTable(results: Record<string, VariantSummary<VariantRun>>): string {
  const pm = (x: { mean: number; sd: number }, d: number, scale = 1) => `${(x.mean * scale).toFixed(d)} ± ${(x.sd * scale).toFixed(d)}`;
  return formatTable(
    ['variant', 'train rows', 'test AUC', 'AUC drop', 'pred/obs − 1 (%)', 'pass'],
    Object.entries(results).map(([k, r]) => [
      k,
      String(r.train_rows),
      pm(r.test_auc, 4),
      pm(r.auc_drop, 4),
      pm(r.rel_calibration_error, 2, 100),
      r.pass ? 'yes' : 'NO',
    ]),
  );
}
