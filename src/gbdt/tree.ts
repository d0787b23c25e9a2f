import type { FeatureColumn } from './matrix.js';

/**
 * Packed tree nodes: NODE_FIELDS float32 values per node, trees stored one after another,
 * each tree's nodes numbered from 0 (the root) with child indices relative to the tree.
 * A binary tree with L leaves has 2L − 1 nodes, so the leaf counts alone give every tree's
 * place in the packed array. Float32 is exact for feature and node indices (< 2^24), and
 * thresholds are float32 training values, so packed trees predict exactly what was trained.
 *
 * Split node: [feature, threshold, defaultLeft (0/1), left, right, 0, gain, cover]
 * Leaf:       [−1, 0, 0, leafIndex, −1, value, 0, cover]   (leafIndex 0…L−1 in node order)
 */
export const NODE_FIELDS = 8;
/** Offsets of the fields inside a node. */
export const F_FEATURE = 0,
  F_THRESHOLD = 1,
  F_DEFAULT_LEFT = 2,
  F_LEFT = 3,
  F_RIGHT = 4,
  F_VALUE = 5,
  F_GAIN = 6,
  F_COVER = 7;

/** Node offset (in nodes) of every tree, plus the total at the end, from the leaf counts. */
export function treeStarts(leafCounts: ArrayLike<number>): Int32Array {
  const out = new Int32Array(leafCounts.length + 1);
  for (let t = 0; t < leafCounts.length; t++) {
    const L = leafCounts[t]!;
    if (!Number.isInteger(L) || L < 1) throw new Error(`tree ${t}: leaf count must be a positive integer, got ${L}`);
    out[t + 1] = out[t]! + 2 * L - 1;
  }
  return out;
}

/**
 * The leaf node (absolute node index) that row r reaches in the tree starting at node `start`:
 * v ≤ threshold goes left, NaN goes the default way. Throws on a child index that does not
 * follow its parent (a corrupt tree, or the zeroed buffer of an untrained model).
 */
export function leafNode(nodes: Float32Array, start: number, columns: FeatureColumn[], r: number): number {
  let n = start | 0;
  for (;;) {
    const o = n * NODE_FIELDS;
    const f = nodes[o]! | 0;
    if (f < 0) return n;
    const v = columns[f]![r]!;
    const goLeft = v !== v ? nodes[o + F_DEFAULT_LEFT] === 1 : v <= nodes[o + F_THRESHOLD]!;
    const next = (start + (goLeft ? nodes[o + F_LEFT]! : nodes[o + F_RIGHT]!)) | 0;
    // Children always follow their parent; anything else is a corrupt or unloaded tree (no endless loop).
    if (next <= n) throw new Error(`corrupt tree: node ${n - start} points back to node ${next - start} (trees not trained or not loaded?)`);
    n = next;
  }
}
