import { readRaw } from '../data/readers/index.js';
import { BadRowLog, type BadRowPolicy } from '../data/errors.js';
import type { Batch } from '../data/batch.js';
import { noGrad } from '../engine/tensor.js';
import { evaluate, type EvalReport } from '../metrics/index.js';
import { calibratedProbabilities } from '../train/trainer.js';
import type { LoadedArtifact } from './artifact.js';

/** Scores of every row of a file, in file order, with the encoded batches' labels and groups. */
export interface FileScores {
  probs: Float32Array;
  labels: Float32Array | null;
  groups: Int32Array | null;
  /** Per requested slice column: the raw (decoded) value of each row. */
  slices: Record<string, string[]>;
  skipped: number;
}

/**
 * Streams a data file through an artifact's feature map and model (eval mode, no graph):
 * probabilities with the negative-sampling correction, plus labels / groups when present.
 */
export async function scoreFile(art: LoadedArtifact, path: string, opts: { onBadRow?: BadRowPolicy; sliceColumns?: string[]; batchSize?: number } = {}): Promise<FileScores> {
  const fm = art.featureMap;
  if (fm === null) throw new Error('this model artifact has no feature map: it can only score pre-encoded batches');
  const badRows = new BadRowLog();
  const probs: number[] = [];
  const labels: number[] = [];
  const groups: number[] = [];
  const sliceCols = opts.sliceColumns ?? [];
  const slices: Record<string, string[]> = Object.fromEntries(sliceCols.map((c) => [c, [] as string[]]));
  for (const c of sliceCols) {
    const f = fm.fields().find((x) => x.name === c);
    if (f === undefined || f.kind !== 'sparse') throw new Error(`slice column '${c}' must be a sparse feature of the schema`);
  }
  let hasLabel = true;
  for await (const chunk of readRaw(path, { dataset: fm.schema.dataset, onBadRow: opts.onBadRow, badRows })) {
    const batch: Batch = fm.transform(chunk, { onBadRow: opts.onBadRow, badRows });
    if (batch.size === 0) continue;
    const logits = noGrad(() => art.model.forward(batch));
    for (const p of calibratedProbabilities(logits.data, art.meta.negativeSampleRate)) probs.push(p);
    const y = batch.labels[art.meta.label];
    if (y === undefined) hasLabel = false;
    else for (const v of y) labels.push(v);
    if (batch.group !== undefined) for (const g of batch.group) groups.push(g);
    for (const c of sliceCols) {
      const enc = fm.encoder(c);
      const ids = batch.sparse[c]!;
      for (const id of ids) slices[c]!.push('decode' in enc ? (enc.decode(id) ?? (id === 1 ? '<OOV>' : `#${id}`)) : `#${id}`);
    }
  }
  return {
    probs: Float32Array.from(probs),
    labels: hasLabel && labels.length === probs.length ? Float32Array.from(labels) : null,
    groups: groups.length === probs.length && groups.length > 0 ? Int32Array.from(groups) : null,
    slices,
    skipped: badRows.count,
  };
}

/** AUC, logloss, calibration, gAUC (with a group column) and per-slice metrics of a file. */
export async function evaluateFile(art: LoadedArtifact, path: string, opts: { onBadRow?: BadRowPolicy; sliceColumns?: string[] } = {}): Promise<EvalReport & { skipped: number }> {
  const s = await scoreFile(art, path, opts);
  if (s.labels === null) throw new Error(`${path}: has no values for label '${art.meta.label}'`);
  const report = evaluate(s.probs, s.labels, {
    ...(s.groups !== null ? { groups: s.groups } : {}),
    ...(Object.keys(s.slices).length > 0 ? { slices: s.slices } : {}),
  });
  return { ...report, skipped: s.skipped };
}
