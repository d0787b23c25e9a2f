/**
 * `sampleFile`: applies sampling rules to a data file in two streamed passes and writes the
 * sampled rows (CSV) with an importance-weight column, atomically.
 *
 * Pass 1 counts each item's rows (and, for popularity-aware negatives, each user's positive
 * items and the item-side columns of every item); pass 2 decides row by row with a seeded
 * generator and writes. Held in memory: one count per distinct item; with
 * popularity_negatives also every (user, positive item) pair and the item columns per item.
 * Rows are never all held.
 */
import { readRaw } from '../readers/index.js';
import type { RawChunk } from '../readers/chunk.js';
import { BadRowLog, DataError, type BadRowPolicy, type BadRowSummary } from '../readers/errors.js';
import type { DatasetSpec } from '../features/schema.js';
import { Rng } from '../engine/random.js';
import { AtomicFileWriter, csvField } from '../util/atomic-stream.js';
import { AliasTable } from './alias.js';
import type { SamplingRule, SamplingSpec } from './config.js';
import { capKeep, popularityNegativeWeight, word2vecKeep } from './rules.js';

/** What a sampling run did. */
export interface SampleReport {
  rowsIn: number;
  rowsOut: number;
  /** Distinct items in the input. */
  items: number;
  /** Rows dropped by each rule. */
  dropped: Record<string, number>;
  /** Negatives added by popularity_negatives. */
  generatedNegatives: number;
  /** Users for whom no negative could be drawn (every item is a positive of theirs). */
  usersWithoutNegatives: number;
  /** Σ weights of the output (≈ rowsIn for downsampling: an unbiasedness check). */
  weightSum: number;
  /** The largest weight written (1 without weights). */
  maxWeight: number;
  /**
   * The negative downsampling rate the trainer must recalibrate with (closed form), or 1
   * when every rule is corrected by importance weights.
   */
  negativeSampleRate: number;
  /** Whether the output has a weight column the trainer should use. */
  weighted: boolean;
  badRows: BadRowSummary;
}

/** Options of `sampleFile`. */
export interface SampleFileOptions {
  format?: 'csv' | 'tsv' | 'jsonl' | 'parquet';
  onBadRow?: BadRowPolicy;
}

/** Reads a 0/1 label cell: 1 / +1 / 1.0 positive, 0 / −1 negative; null when it is neither. */
function parseLabel(text: string | null): 0 | 1 | null {
  if (text === null) return null;
  const v = Number(text.trim());
  if (v === 1) return 1;
  if (v === 0 || v === -1) return 0;
  return null;
}

interface Cols {
  item: number;
  user: number;
  label: number;
  weight: number;
  itemCols: number[];
}

function columnsOf(chunk: RawChunk, spec: SamplingSpec, itemColumns: readonly string[]): Cols {
  const need = (name: string | undefined, required: boolean): number => {
    if (name === undefined) return -1;
    const i = chunk.columns.indexOf(name);
    if (i < 0 && required)
      throw new DataError(
        { file: chunk.file, line: chunk.headerLine ?? chunk.lines[0], column: name },
        `the file has no column "${name}"`,
        `one of its columns: ${chunk.columns.join(', ')}`,
      );
    return i;
  };
  const pop = spec.rules.some((r) => r.kind === 'popularity_negatives');
  return {
    item: need(spec.item, true), // -1 when no rule needs the item
    user: need(spec.user, pop),
    // popularity_negatives writes the label column; the input may lack it (all rows are positives).
    label: need(
      spec.label,
      spec.rules.some((r) => r.kind === 'negative_downsample'),
    ),
    weight: need(spec.weight, false),
    itemCols: itemColumns.map((c) => need(c, true)),
  };
}

/** Applies the rules of `spec` to `input` and writes the sample to `output`. */
export async function sampleFile(spec: SamplingSpec, input: string, output: string, opts: SampleFileOptions = {}): Promise<SampleReport> {
  const policy = opts.onBadRow ?? 'error';
  const log = new BadRowLog();
  const dataset: DatasetSpec | undefined =
    opts.format === undefined ? undefined : { format: opts.format, header: true, separator: opts.format === 'tsv' ? '\t' : ',', quote: '"' };
  const read = (badRows: BadRowLog) => readRaw(input, { ...(dataset ? { dataset } : {}), onBadRow: policy, badRows });
  const pop = spec.rules.find((r): r is Extract<SamplingRule, { kind: 'popularity_negatives' }> => r.kind === 'popularity_negatives');
  const hot = spec.rules.find((r): r is Extract<SamplingRule, { kind: 'hot_item' }> => r.kind === 'hot_item');
  const neg = spec.rules.find((r): r is Extract<SamplingRule, { kind: 'negative_downsample' }> => r.kind === 'negative_downsample');
  const itemColumns = pop?.itemColumns ?? [];

  /** Checks a row; returns null (after raising or counting) when it is malformed. */
  const parseRow = (
    chunk: RawChunk,
    r: number,
    c: Cols,
    count: boolean,
  ): { item: string; user: string; label: 0 | 1 | null; weight: number } | null => {
    const bad = (column: string, problem: string, expected: string) => {
      const err = new DataError({ file: chunk.file, line: chunk.lines[r], column }, problem, expected);
      if (policy === 'error') throw err;
      if (count) log.add(err);
      return null;
    };
    // A missing item is its own category (the empty string), as in the feature map; the
    // implicit-feedback rule needs real ids.
    const item = c.item >= 0 ? (chunk.cell(r, c.item) ?? '') : '';
    if (pop && item === '') return bad(spec.item!, 'missing item', 'an item id');
    const user = c.user >= 0 ? chunk.cell(r, c.user) : '';
    if (user === null) return bad(spec.user!, 'missing user', 'a user id');
    let label: 0 | 1 | null = null;
    if (c.label >= 0) {
      const text = chunk.cell(r, c.label);
      label = parseLabel(text);
      if (label === null) return bad(spec.label!, `label "${text ?? ''}" is not binary`, '1/+1 (positive) or 0/-1 (negative)');
      if (pop && label === 0)
        return bad(spec.label!, 'a negative row in implicit-feedback input', 'only positive rows (popularity_negatives draws the negatives)');
    }
    let weight = 1;
    if (c.weight >= 0) {
      const text = chunk.cell(r, c.weight);
      weight = text === null ? NaN : Number(text);
      if (!(weight >= 0) || !Number.isFinite(weight))
        return bad(spec.weight, `weight "${text ?? ''}" is not a non-negative number`, 'a non-negative number');
    }
    return { item, user, label, weight };
  };

  // Pass 1: counts.
  const counts = new Map<string, number>();
  const userItems = new Map<string, Set<string>>();
  const userRows = new Map<string, number>();
  const itemAttrs = new Map<string, string[]>();
  let rowsIn = 0;
  for await (const chunk of read(log)) {
    const c = columnsOf(chunk, spec, itemColumns);
    for (let r = 0; r < chunk.length; r++) {
      const row = parseRow(chunk, r, c, true);
      if (row === null) continue;
      rowsIn++;
      counts.set(row.item, (counts.get(row.item) ?? 0) + 1);
      if (pop) {
        let s = userItems.get(row.user);
        if (s === undefined) userItems.set(row.user, (s = new Set()));
        s.add(row.item);
        userRows.set(row.user, (userRows.get(row.user) ?? 0) + 1);
        if (!itemAttrs.has(row.item))
          itemAttrs.set(
            row.item,
            c.itemCols.map((k) => chunk.cell(r, k) ?? ''),
          );
      }
    }
  }
  if (rowsIn === 0) throw new DataError({ file: input }, 'no valid rows', 'at least one row to sample');

  // Popularity distribution q_i ∝ count_i^alpha over the input's items.
  const itemList = [...counts.keys()];
  const itemIndex = new Map(itemList.map((it, i) => [it, i]));
  const alias = pop ? new AliasTable(itemList.map((it) => Math.pow(counts.get(it)!, pop.alpha))) : null;

  const rngHot = Rng.derive(spec.seed, 'sample:hot_item');
  const rngNeg = Rng.derive(spec.seed, 'sample:negative_downsample');
  const rngPop = Rng.derive(spec.seed, 'sample:popularity_negatives');
  const dropped: Record<string, number> = Object.fromEntries(spec.rules.filter((r) => r.kind !== 'popularity_negatives').map((r) => [r.kind, 0]));
  let rowsOut = 0,
    generated = 0,
    weightSum = 0,
    maxWeight = 1;
  const noNegUsers = new Set<string>();
  const userMass = new Map<string, number>();

  const writer = new AtomicFileWriter(output);
  try {
    let header: string[] | null = null;
    for await (const chunk of read(new BadRowLog())) {
      const c = columnsOf(chunk, spec, itemColumns);
      const outCols = [...chunk.columns];
      const weightAt = c.weight >= 0 ? c.weight : outCols.push(spec.weight) - 1;
      const labelAt = c.label >= 0 ? c.label : pop ? outCols.push(spec.label!) - 1 : -1;
      if (header === null) {
        header = outCols;
        writer.write(header.map((h) => csvField(h)).join(',') + '\n');
      }
      const fields: string[] = new Array(outCols.length);
      const emit = (w: number) => {
        fields[weightAt] = String(w);
        writer.write(fields.map((f) => csvField(f)).join(',') + '\n');
        rowsOut++;
        weightSum += w;
        if (w > maxWeight) maxWeight = w;
      };
      for (let r = 0; r < chunk.length; r++) {
        const row = parseRow(chunk, r, c, false);
        if (row === null) continue;
        let w = row.weight;
        if (hot) {
          const n = counts.get(row.item)!;
          const keep = hot.t !== undefined ? word2vecKeep(n / rowsIn, hot.t) : capKeep(n, hot.cap!);
          if (keep < 1 && rngHot.next() >= keep) {
            dropped.hot_item!++;
            continue;
          }
          if (hot.correction === 'weight') w /= keep;
        }
        if (neg && row.label === 0) {
          if (rngNeg.next() >= neg.rate) {
            dropped.negative_downsample!++;
            continue;
          }
          if (neg.correction === 'weight') w /= neg.rate;
        }
        for (let k = 0; k < chunk.columns.length; k++) fields[k] = chunk.cell(r, k) ?? '';
        if (!pop) {
          emit(w);
          continue;
        }
        fields[labelAt] = '1';
        emit(w);
        const mine = userItems.get(row.user)!;
        if (mine.size >= itemList.length) {
          noNegUsers.add(row.user);
          continue;
        }
        let mass = userMass.get(row.user);
        if (mass === undefined) {
          mass = 0;
          for (const it of mine) mass += alias!.probs[itemIndex.get(it)!]!;
          userMass.set(row.user, mass);
        }
        for (let k = 0; k < pop.perPositive; k++) {
          let j: number;
          let tries = 0;
          do {
            j = alias!.sample(rngPop);
            if (++tries > 10_000)
              throw new Error(
                `popularity_negatives: could not draw a non-positive item for user "${row.user}" in 10 000 tries (their positives hold ${(mass * 100).toFixed(2)} % of the popularity mass)`,
              );
          } while (mine.has(itemList[j]!));
          const it = itemList[j]!;
          fields[c.item] = it;
          const attrs = itemAttrs.get(it)!;
          c.itemCols.forEach((col, a) => (fields[col] = attrs[a]!));
          fields[labelAt] = '0';
          emit(w * popularityNegativeWeight(alias!.probs[j]!, mass, userRows.get(row.user)!, pop.perPositive));
          generated++;
        }
      }
    }
    writer.commit();
  } finally {
    writer.abort();
  }
  return {
    rowsIn,
    rowsOut,
    items: counts.size,
    dropped,
    generatedNegatives: generated,
    usersWithoutNegatives: noNegUsers.size,
    weightSum,
    maxWeight,
    negativeSampleRate: neg && neg.correction === 'closed_form' ? neg.rate : 1,
    weighted: (hot !== undefined && hot.correction === 'weight') || pop !== undefined || (neg !== undefined && neg.correction === 'weight'),
    badRows: log.summary(),
  };
}
