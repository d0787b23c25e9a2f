import type { Booster, FeatureImportance } from './booster.js';

/** What `finerank info MODEL` prints about a booster. */
export interface TreeReport {
  trees: number;
  depth: { min: number; mean: number; max: number };
  leaves: { total: number; min: number; mean: number; max: number };
  /** Features by total split gain (descending), at most `top`, with their share of all split gain. */
  topFeatures: Array<FeatureImportance & { gainShare: number }>;
  /** Tree input features, and how many of them some split uses. */
  features: number;
  usedFeatures: number;
}

function stats(xs: number[]) {
  if (xs.length === 0) return { min: 0, mean: 0, max: 0 };
  return { min: Math.min(...xs), mean: xs.reduce((s, x) => s + x, 0) / xs.length, max: Math.max(...xs) };
}

/** Tree count, depths, leaves and the features most used in splits. */
export function treeReport(b: Booster, top = 10): TreeReport {
  const imp = b.importance();
  const total = imp.reduce((s, f) => s + f.totalGain, 0);
  return {
    trees: b.numTrees,
    depth: stats(b.depths()),
    leaves: { total: b.leafCounts.reduce((s, x) => s + x, 0), ...stats(b.leafCounts) },
    topFeatures: imp.slice(0, top).map((f) => ({ ...f, gainShare: total > 0 ? f.totalGain / total : 0 })),
    features: b.featureNames.length,
    usedFeatures: imp.length,
  };
}

/** The report as text lines. */
export function formatTreeReport(r: TreeReport): string[] {
  const lines = [
    `trees          ${r.trees}`,
    `depth          min ${r.depth.min}, mean ${r.depth.mean.toFixed(2)}, max ${r.depth.max}`,
    `leaves         ${r.leaves.total} (per tree min ${r.leaves.min}, mean ${r.leaves.mean.toFixed(1)}, max ${r.leaves.max})`,
    `features       ${r.usedFeatures} of ${r.features} used in splits`,
    '',
    `${'feature'.padEnd(20)} ${'splits'.padStart(7)} ${'gain share'.padStart(10)} ${'total gain'.padStart(12)} ${'mean gain'.padStart(10)} ${'cover'.padStart(12)}`,
  ];
  for (const f of r.topFeatures) {
    lines.push(
      `${f.feature.slice(0, 20).padEnd(20)} ${String(f.splits).padStart(7)} ${(100 * f.gainShare).toFixed(1).padStart(9)}% ${f.totalGain.toPrecision(6).padStart(12)} ${f.meanGain.toPrecision(4).padStart(10)} ${f.totalCover.toPrecision(6).padStart(12)}`,
    );
  }
  return lines;
}
