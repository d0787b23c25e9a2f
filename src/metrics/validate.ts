/**
 * Input checks shared by the metrics: equal lengths, binary labels, finite non-negative
 * weights. Errors name the argument and the first offending row.
 */

/** Checks `labels` are 0/1 and returns them as bytes. */
export function binaryLabels(labels: ArrayLike<number>, n: number, fn: string): Uint8Array {
  if (labels.length !== n) throw new Error(`${fn}: labels has ${labels.length} rows, scores has ${n}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (y === 1) out[i] = 1;
    else if (y !== 0) throw new Error(`${fn}: labels[${i}] = ${y}: expected 0 or 1`);
  }
  return out;
}

/** Checks optional sample weights (finite, ≥ 0, one per row). */
export function checkWeights(weights: ArrayLike<number> | undefined, n: number, fn: string): void {
  if (weights === undefined) return;
  if (weights.length !== n) throw new Error(`${fn}: weights has ${weights.length} rows, scores has ${n}`);
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0) || w === Infinity) throw new Error(`${fn}: weights[${i}] = ${w}: expected a finite number >= 0`);
  }
}

/** Checks a per-row array (groups, slices) has one entry per row. */
export function checkRows(a: { length: number }, n: number, fn: string, name: string): void {
  if (a.length !== n) throw new Error(`${fn}: ${name} has ${a.length} rows, scores has ${n}`);
}

/** Checks probabilities are numbers in [0, 1]. */
export function checkProbabilities(p: ArrayLike<number>, fn: string): void {
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (!(v >= 0 && v <= 1)) throw new Error(`${fn}: probs[${i}] = ${v}: expected a probability in [0, 1]`);
  }
}
