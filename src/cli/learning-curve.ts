/**
 * The learning curve of a run as terminal text: one line per evaluation with its validation
 * AUC as a bar, and the oracle AUC (the ceiling) as a `|` column, e.g.
 *
 *   valid AUC per epoch (bars from 0.70; | = oracle 0.8360)
 *   epoch 1  0.7712  ████████████████████▋                              |
 *   epoch 2  0.8101  ███████████████████████████████▌                   |
 *
 * The bar axis runs from `lo` (the lowest AUC less 0.01, rounded down to 0.01) to the oracle
 * plus 0.002 over `width` cells (eighth-cell precision), so the gap to the oracle is visible.
 */

/** One evaluation of the curve. */
export interface CurvePoint {
  epoch: number;
  auc: number;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** The curve's lines (module comment); empty when there are no points. */
export function learningCurveLines(points: readonly CurvePoint[], oracle: number, width = 50): string[] {
  if (points.length === 0) return [];
  const lowest = Math.min(oracle, ...points.map((p) => p.auc));
  const lo = Math.floor((lowest - 0.01) * 100) / 100;
  const hi = oracle + 0.002;
  const cells = (x: number) => Math.max(0, Math.min(width, ((x - lo) / (hi - lo)) * width));
  const oracleAt = Math.min(width - 1, Math.floor(cells(oracle)));
  const lines = [`valid AUC per epoch (bars from ${lo.toFixed(2)}; | = oracle ${oracle.toFixed(4)})`];
  for (const p of points) {
    const c = cells(p.auc);
    const full = Math.floor(c);
    const bar = '█'.repeat(full) + EIGHTHS[Math.floor((c - full) * 8)]!;
    const row = [...bar.padEnd(width, ' ')];
    if (row[oracleAt] === ' ') row[oracleAt] = '|';
    lines.push(`epoch ${String(p.epoch).padEnd(3)} ${p.auc.toFixed(4)}  ${row.join('').trimEnd()}`);
  }
  return lines;
}
