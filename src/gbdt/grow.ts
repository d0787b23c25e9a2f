import type { BinMapper, BinnedData } from './binning.js';
import { buildHistogram, subtractHistogram } from './histogram.js';
import { gbdtKernels } from './kernels.js';
import { findBestSplit, type SplitCandidate, type SplitParams } from './split.js';
import { NODE_FIELDS, F_DEFAULT_LEFT, F_FEATURE, F_LEFT, F_RIGHT, F_VALUE } from './tree.js';

/** Growth settings of one tree. */
export interface GrowParams extends SplitParams {
  /** Maximum depth; 0 = unlimited. */
  maxDepth: number;
  /** Maximum leaves; 0 = unlimited. */
  maxLeaves: number;
  policy: 'depthwise' | 'lossguide';
  /** Shrinkage multiplied into every leaf value. */
  learningRate: number;
  /** Threads of the native histogram and partition kernels (n_jobs). */
  threads: number;
  /**
   * Depth-wise trees level by level, each level's partitions and histograms as one kernel
   * batch (true, the default), or node by node through the queue (false: the reference the
   * tests compare the batches with; the trees are the same).
   */
  levelBatches?: boolean;
}

/**
 * A grown tree: packed nodes (tree.ts layout), its leaf count, per node the split bin (−1 for
 * leaves), and where the training rows ended: leaf i holds rows[leafStart[i] … leafEnd[i]).
 */
export interface GrownTree {
  nodes: Float32Array;
  leaves: number;
  splitBins: Int32Array;
  rows: Int32Array;
  leafStart: Int32Array;
  leafEnd: Int32Array;
}

/** The phases of fitting that the booster times (where the time goes). */
export const PHASES = ['binning', 'gradients', 'histograms', 'splitFinding', 'partition', 'marginUpdate', 'validation'] as const;

/** One of PHASES. */
export type Phase = (typeof PHASES)[number];

/** Seconds per phase. */
export type PhaseSeconds = Record<Phase, number>;

/** A zeroed PhaseSeconds. */
export function newPhases(): PhaseSeconds {
  return { binning: 0, gradients: 0, histograms: 0, splitFinding: 0, partition: 0, marginUpdate: 0, validation: 0 };
}

/**
 * Time per phase of a fit on four clocks at once: `wall` (performance.now()), `cpu` (the
 * process's user + system CPU, all threads: process.cpuUsage()), `poolWait` (the calling
 * thread waiting for the native worker pool after its own share of a job) and `workerBusy`
 * (the pool's workers inside tasks); `poolJobs` counts the pool round trips. On a loaded
 * machine wall time moves with the load; CPU per phase, compared across thread counts, shows
 * what parallel overhead costs, and with T threads a phase's worker idle time is
 * (T − 1)·wall − workerBusy. Usage: start() before a phase, lap(phase) after it (lap also
 * starts the next interval).
 */
export class PhaseTimer {
  readonly wall = newPhases();
  readonly cpu = newPhases();
  readonly poolWait = newPhases();
  readonly workerBusy = newPhases();
  readonly poolJobs = newPhases();
  private wall0 = 0;
  private cpu0 = 0;
  private readonly pool0 = new Float64Array(3);
  private readonly pool1 = new Float64Array(3);

  /** Marks the start of an interval. */
  start(): void {
    this.wall0 = performance.now();
    const u = process.cpuUsage();
    this.cpu0 = u.user + u.system;
    gbdtKernels().poolStats(this.pool0);
  }

  /** Adds the interval since the last start()/lap() to `phase` and starts the next one. */
  lap(phase: Phase): void {
    const w = performance.now();
    const u = process.cpuUsage();
    const c = u.user + u.system;
    const p = this.pool1;
    gbdtKernels().poolStats(p);
    this.wall[phase] += (w - this.wall0) / 1000;
    this.cpu[phase] += (c - this.cpu0) / 1e6;
    this.poolJobs[phase] += p[0]! - this.pool0[0]!;
    this.poolWait[phase] += p[1]! - this.pool0[1]!;
    this.workerBusy[phase] += p[2]! - this.pool0[2]!;
    this.wall0 = w;
    this.cpu0 = c;
    this.pool0.set(p);
  }
}

const NO_HISTOGRAM = new Float64Array(0);

interface OpenNode {
  id: number;
  depth: number;
  start: number;
  end: number;
  G: number;
  H: number;
  hist: Float64Array;
  split: SplitCandidate | null;
}

/**
 * Grows regression trees on gradient statistics over a binned matrix. Depth-wise growth
 * expands open nodes level by level (first in, first out); loss-guided growth always expands
 * the open node with the largest gain. Both stop at max_depth / max_leaves. Children's
 * histograms: the smaller child is built from its rows, the larger one is the parent's
 * histogram minus the smaller's (the parent's array is reused); children that will stay leaves
 * (at max_depth, or once max_leaves is reached) get no histogram at all.
 */
export class TreeGrower {
  private readonly F: number;
  private readonly tmp: Int32Array;

  constructor(
    /** The training rows' bins: row-major for histograms, column-major for partitioning. */
    private readonly binned: BinnedData,
    private readonly bins: BinMapper,
    rows: number,
    private readonly p: GrowParams,
    /** Accumulates the time of histograms, split finding and partitioning. */
    readonly phases: PhaseTimer = new PhaseTimer(),
  ) {
    this.F = bins.offsets.length;
    this.tmp = new Int32Array(rows);
  }

  /**
   * Grows one tree on the rows rows[0…n) (permuted in place) using only `features`
   * (sorted feature positions; null = all).
   */
  grow(g: Float32Array, h: Float32Array, rows: Int32Array, features: Int32Array | null): GrownTree {
    const p = this.p;
    const feats = features ?? Int32Array.from({ length: this.F }, (_, i) => i);
    // 8-bit local bins: 256 spare slots after the last feature's, so that every slot an 8-bit
    // entry can name lies inside the histogram and the native loop drops its per-entry check.
    const slots2 = (this.bins.totalSlots + (this.binned.offsets === null ? 0 : 256)) * 2;
    const nodes: number[][] = [];
    const splitBins: number[] = [];
    const canSplit = (depth: number) => p.maxDepth === 0 || depth < p.maxDepth;
    const ph = this.phases;
    const open = (id: number, depth: number, start: number, end: number, G: number, H: number, hist: Float64Array): OpenNode => {
      ph.start();
      const split = hist.length > 0 && canSplit(depth) && end - start >= 2 ? findBestSplit(hist, this.bins, feats, G, H, p) : null;
      ph.lap('splitFinding');
      return { id, depth, start, end, G, H, hist, split };
    };
    const makeLeaf = (n: OpenNode, leafIndex: number) => {
      const value = (-n.G / (n.H + p.lambda)) * p.learningRate;
      nodes[n.id] = [-1, 0, 0, leafIndex, -1, value, 0, n.H];
      splitBins[n.id] = -1;
    };

    let G = 0,
      H = 0;
    for (let k = 0; k < rows.length; k++) {
      G += g[rows[k]!]!;
      H += h[rows[k]!]!;
    }
    const rootHist = new Float64Array(slots2);
    ph.start();
    buildHistogram(rootHist, this.binned.rowMajor, this.binned.offsets, this.F, rows, 0, rows.length, g, h, features, p.threads);
    ph.lap('histograms');
    nodes.push([]);
    const queue: OpenNode[] = [open(0, 0, 0, rows.length, G, H, rootHist)];
    let leaves = 1;
    const finished: OpenNode[] = [];
    // Depth-wise: one level at a time — the same decisions, node ids and sums as the queue
    // below (which visits a level's nodes in this order), but each level's partitions and its
    // children's histograms go to the kernels as one batch (one pool job or two), so the
    // threads share a level's nodes instead of splitting every node's rows between them.
    let level = p.policy === 'depthwise' && p.levelBatches !== false ? queue.splice(0) : [];
    while (level.length > 0) {
      const splitting: { node: OpenNode; s: SplitCandidate; leftId: number; needHist: boolean }[] = [];
      for (const node of level) {
        const s = node.split;
        if (s === null || (p.maxLeaves > 0 && leaves >= p.maxLeaves)) {
          node.hist = NO_HISTOGRAM;
          finished.push(node);
          continue;
        }
        const leftId = nodes.length;
        nodes.push([], []);
        nodes[node.id] = [s.feature, s.threshold, s.defaultLeft ? 1 : 0, leftId, leftId + 1, 0, s.gain, node.H];
        splitBins[node.id] = s.bin;
        leaves++;
        const needHist = canSplit(node.depth + 1) && !(p.maxLeaves > 0 && leaves >= p.maxLeaves);
        splitting.push({ node, s, leftId, needHist });
      }
      ph.start();
      const mids = this.partitionLevel(
        rows,
        splitting.map((x) => x.node),
        splitting.map((x) => x.s),
      );
      ph.lap('partition');
      const small: Float64Array[] = [];
      const starts: number[] = [],
        ends: number[] = [];
      splitting.forEach((x, i) => {
        if (!x.needHist) return;
        const mid = mids[i]!;
        const leftSmaller = mid - x.node.start <= x.node.end - mid;
        small.push(new Float64Array(slots2));
        starts.push(leftSmaller ? x.node.start : mid);
        ends.push(leftSmaller ? mid : x.node.end);
      });
      if (small.length > 0) {
        gbdtKernels().histograms(
          small,
          this.binned.rowMajor,
          this.binned.offsets,
          this.F,
          rows,
          Int32Array.from(starts),
          Int32Array.from(ends),
          g,
          h,
          features,
          p.threads,
        );
      }
      let k = 0;
      const next: OpenNode[] = [];
      splitting.forEach((x, i) => {
        const { node, s, leftId } = x;
        const mid = mids[i]!;
        let leftHist: Float64Array = NO_HISTOGRAM,
          rightHist: Float64Array = NO_HISTOGRAM;
        if (x.needHist) {
          const sm = small[k++]!;
          subtractHistogram(node.hist, sm);
          const leftSmaller = mid - node.start <= node.end - mid;
          leftHist = leftSmaller ? sm : node.hist;
          rightHist = leftSmaller ? node.hist : sm;
        }
        node.hist = NO_HISTOGRAM;
        ph.lap('histograms');
        next.push(open(leftId, node.depth + 1, node.start, mid, s.GL, s.HL, leftHist));
        next.push(open(leftId + 1, node.depth + 1, mid, node.end, s.GR, s.HR, rightHist));
      });
      level = next;
    }
    while (queue.length > 0) {
      let pick = 0;
      if (p.policy === 'lossguide') {
        for (let i = 1; i < queue.length; i++) if ((queue[i]!.split?.gain ?? -1) > (queue[pick]!.split?.gain ?? -1)) pick = i;
      }
      const node = queue.splice(pick, 1)[0]!;
      const s = node.split;
      if (s === null || (p.maxLeaves > 0 && leaves >= p.maxLeaves)) {
        node.hist = NO_HISTOGRAM; // a leaf needs only its sums
        finished.push(node);
        continue;
      }
      ph.start();
      const mid = this.partition(rows, node.start, node.end, s);
      ph.lap('partition');
      const leftId = nodes.length,
        rightId = leftId + 1;
      nodes.push([], []);
      nodes[node.id] = [s.feature, s.threshold, s.defaultLeft ? 1 : 0, leftId, rightId, 0, s.gain, node.H];
      splitBins[node.id] = s.bin;
      leaves++;
      if (!canSplit(node.depth + 1) || (p.maxLeaves > 0 && leaves >= p.maxLeaves)) {
        // The children will be leaves (at max_depth, or no leaf left to add): they need their
        // sums only, so no histogram is built for them (a tree-level saving of about one pass
        // over half the rows for depth-wise trees).
        node.hist = NO_HISTOGRAM;
        queue.push(open(leftId, node.depth + 1, node.start, mid, s.GL, s.HL, NO_HISTOGRAM));
        queue.push(open(rightId, node.depth + 1, mid, node.end, s.GR, s.HR, NO_HISTOGRAM));
        continue;
      }
      const leftSmaller = mid - node.start <= node.end - mid;
      const small = new Float64Array(slots2);
      if (leftSmaller) buildHistogram(small, this.binned.rowMajor, this.binned.offsets, this.F, rows, node.start, mid, g, h, features, p.threads);
      else buildHistogram(small, this.binned.rowMajor, this.binned.offsets, this.F, rows, mid, node.end, g, h, features, p.threads);
      subtractHistogram(node.hist, small);
      ph.lap('histograms');
      const leftHist = leftSmaller ? small : node.hist;
      const rightHist = leftSmaller ? node.hist : small;
      queue.push(open(leftId, node.depth + 1, node.start, mid, s.GL, s.HL, leftHist));
      queue.push(open(rightId, node.depth + 1, mid, node.end, s.GR, s.HR, rightHist));
    }
    // Leaves are numbered in node order.
    finished.sort((a, b) => a.id - b.id);
    finished.forEach((n, i) => makeLeaf(n, i));
    const packed = new Float32Array(nodes.length * NODE_FIELDS);
    nodes.forEach((fields, i) => packed.set(fields, i * NODE_FIELDS));
    return {
      nodes: packed,
      leaves,
      splitBins: Int32Array.from(splitBins),
      rows,
      leafStart: Int32Array.from(finished, (n) => n.start),
      leafEnd: Int32Array.from(finished, (n) => n.end),
    };
  }

  /** Stable partitions of the nodes' row ranges by their splits (one batch); returns each node's boundary. */
  private partitionLevel(rows: Int32Array, level: OpenNode[], splits: SplitCandidate[]): Int32Array {
    const m = level.length;
    const mids = new Int32Array(m);
    if (m === 0) return mids;
    const local = this.binned.offsets !== null;
    gbdtKernels().partitions(
      rows,
      Int32Array.from(level, (x) => x.start),
      Int32Array.from(level, (x) => x.end),
      this.binned.columnMajor,
      this.tmp.length,
      Int32Array.from(splits, (s) => s.feature),
      Int32Array.from(splits, (s) => (local ? 0 : this.bins.offsets[s.feature]!)),
      Int32Array.from(splits, (s) => this.bins.bins(s.feature)),
      Int32Array.from(splits, (s) => s.bin),
      Uint8Array.from(splits, (s) => (s.defaultLeft ? 1 : 0)),
      this.tmp,
      mids,
      this.p.threads,
    );
    return mids;
  }

  /** Stable partition of rows[start, end) into left (returned boundary) and right rows. */
  private partition(rows: Int32Array, start: number, end: number, s: SplitCandidate): number {
    const n = this.tmp.length;
    const column = this.binned.columnMajor.subarray(s.feature * n, (s.feature + 1) * n);
    return gbdtKernels().partition(
      rows,
      start,
      end,
      column,
      1,
      0,
      this.binned.offsets === null ? this.bins.offsets[s.feature]! : 0,
      this.bins.bins(s.feature),
      s.bin,
      s.defaultLeft,
      this.tmp,
      this.p.threads,
    );
  }
}

/**
 * Adds a grown tree's leaf values to `margin`: for the rows the tree was grown on, from the
 * leaf row ranges (the addLeafValues kernel, on `threads` threads); with `allRows` false (row
 * subsampling) every row of the binned matrix is routed through the split bins instead.
 */
export function addTreeToMargin(tree: GrownTree, data: BinnedData, bins: BinMapper, margin: Float64Array, allRows: boolean, threads = 1): void {
  const nodes = tree.nodes;
  if (allRows) {
    const values = new Float64Array(tree.leaves);
    for (let n = 0; n < nodes.length / NODE_FIELDS; n++) {
      if (nodes[n * NODE_FIELDS + F_FEATURE]! >= 0) continue;
      values[nodes[n * NODE_FIELDS + F_LEFT]! | 0] = nodes[n * NODE_FIELDS + F_VALUE]!;
    }
    gbdtKernels().addLeafValues(margin, tree.rows, tree.leafStart, tree.leafEnd, values, threads);
    return;
  }
  const F = bins.offsets.length;
  const binned = data.rowMajor;
  const N = nodes.length / NODE_FIELDS;
  const feat = new Int32Array(N),
    off = new Int32Array(N),
    miss = new Int32Array(N),
    bin = new Int32Array(N),
    left = new Int32Array(N),
    right = new Int32Array(N);
  const defLeft = new Uint8Array(N),
    value = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const o = n * NODE_FIELDS;
    feat[n] = nodes[o + F_FEATURE]!;
    if (feat[n]! >= 0) {
      off[n] = data.offsets === null ? bins.offsets[feat[n]!]! : 0;
      miss[n] = bins.bins(feat[n]!);
      bin[n] = tree.splitBins[n]!;
      left[n] = nodes[o + F_LEFT]!;
      right[n] = nodes[o + F_RIGHT]!;
      defLeft[n] = nodes[o + F_DEFAULT_LEFT]!;
    }
    value[n] = nodes[o + F_VALUE]!;
  }
  const rows = margin.length;
  for (let r = 0; r < rows; r++) {
    let n = 0;
    const base = r * F;
    for (;;) {
      const f = feat[n]!;
      if (f < 0) break;
      const b = binned[base + f]! - off[n]!;
      n = (b === miss[n] ? defLeft[n] === 1 : b <= bin[n]!) ? left[n]! : right[n]!;
    }
    margin[r] = margin[r]! + value[n]!;
  }
}
