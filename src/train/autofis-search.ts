import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rng } from '../engine/random.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { DataSource } from '../data/data-source.js';
import type { TaskDef } from '../features/tasks.js';
import { AutoFIS } from '../models/autofis.js';
import { modelOptionName, resolveModelOptions } from '../models/registry.js';
import type { RankingModel } from '../models/base.js';
import { GRDA } from './optim.js';
import type { TrainOptions } from './options.js';
import { Trainer, type TrainHooks } from './trainer.js';

/** True for a model that must search its interactions before training (AutoFIS in stage 'search'). */
export function needsInteractionSearch(model: RankingModel): model is AutoFIS {
  return model instanceof AutoFIS && model.stage === 'search';
}

/** Sub-folder of the run's checkpoint folder holding the search stage's own checkpoint. */
export const SEARCH_CHECKPOINT_DIR = 'search';
/** File, in the run's checkpoint folder, recording a finished search: the kept pairs and the generators after it. */
export const SEARCH_RESULT_FILE = 'autofis-search.json';

/** What a finished search leaves in the checkpoint folder (`SEARCH_RESULT_FILE`). */
interface SearchRecord {
  /** Every gated pair of the search model, to refuse a folder of another field set. */
  pairs: string[];
  kept: string[];
  /** `Rng.getState()` of each generator when the search ended (the retrain model is drawn from them). */
  rngs: number[][];
}

/** The record of a finished search in `dir`, or null; a malformed or foreign record is an error naming the file. */
function readSearchRecord(dir: string, model: AutoFIS, rngs: Rng[]): SearchRecord | null {
  const path = join(dir, SEARCH_RESULT_FILE);
  if (!existsSync(path)) return null;
  let r: SearchRecord;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as SearchRecord;
  } catch (e) {
    throw new Error(`${path}: not a readable AutoFIS search record (${(e as Error).message}); delete it to search again`);
  }
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (r === null || typeof r !== 'object' || !strings(r.pairs) || !strings(r.kept) || !Array.isArray(r.rngs))
    throw new Error(`${path}: an AutoFIS search record needs 'pairs', 'kept' (lists of pair names) and 'rngs'; delete it to search again`);
  if (r.pairs.join(',') !== model.pairNames.join(','))
    throw new Error(
      `${path}: the recorded search gated the pairs ${r.pairs.join(', ')}, this model gates ${model.pairNames.join(', ')}; use another checkpoint folder`,
    );
  if (r.rngs.length !== rngs.length) throw new Error(`${path}: the record holds ${r.rngs.length} generators, the run has ${rngs.length}`);
  const unknown = r.kept.filter((k) => !r.pairs.includes(k));
  if (unknown.length > 0) throw new Error(`${path}: kept pairs ${unknown.join(', ')} are not among the searched pairs`);
  return r;
}

/**
 * AutoFIS's search stage: trains the search-stage model for `search_epochs` epochs (the
 * training options otherwise) with its gates under GRDA (`grda_c`, `grda_mu`, `grda_lr`)
 * and every other parameter under the configured optimizers; returns the pairs whose gate
 * is not exactly 0.
 *
 * With a checkpoint folder (`opts.checkpointDir`), the stage checkpoints into its
 * `search/` sub-folder (GRDA's state included) and, once finished, records the kept pairs
 * and the generators' states in `autofis-search.json` (written atomically). A resumed run
 * then continues an unfinished search from its checkpoint, or skips a finished one: the
 * generators are set to their state after the search, so the retrain model (drawn from
 * them) and its own checkpoint in the folder itself are those of an uninterrupted run.
 */
export async function searchInteractions(
  model: AutoFIS,
  modelOptions: Record<string, unknown>,
  train: DataSource,
  valid: DataSource | null,
  opts: TrainOptions,
  tasks: readonly TaskDef[],
  hooks: TrainHooks,
  rngs: Rng[],
): Promise<string[]> {
  const o = resolveModelOptions('autofis', modelOptions);
  const gates = model.gates;
  if (gates === null) return [];
  const dir = opts.checkpointDir;
  if (dir !== '') {
    const done = readSearchRecord(dir, model, rngs);
    if (done !== null) {
      done.rngs.forEach((st, i) => rngs[i]!.setState(st));
      hooks.log?.(`search stage already finished (${join(dir, SEARCH_RESULT_FILE)}): kept ${done.kept.length} of ${done.pairs.length} pairs`);
      return done.kept;
    }
  }
  const grda = new GRDA([gates], { lr: o.grdaLr as number, c: o.grdaC as number, mu: o.grdaMu as number });
  const searchOpts = { ...opts, epochs: o.searchEpochs as number, checkpointDir: dir === '' ? '' : join(dir, SEARCH_CHECKPOINT_DIR) };
  const trainer = new Trainer(model, searchOpts, tasks, hooks, rngs, [{ params: [gates], optimizer: grda }]);
  await trainer.fit(train, valid);
  const kept = model.keptPairs();
  if (dir !== '') {
    mkdirSync(dir, { recursive: true });
    const record: SearchRecord = { pairs: model.pairNames, kept, rngs: rngs.map((r) => r.getState()) };
    writeFileAtomic(join(dir, SEARCH_RESULT_FILE), JSON.stringify(record) + '\n');
  }
  return kept;
}

/** The options of the retrain stage: the user's options with `stage: retrain` and the kept pairs. */
export function retrainOptions(modelOptions: Record<string, unknown>, kept: string[]): Record<string, unknown> {
  const rest = Object.fromEntries(
    Object.entries(modelOptions).filter(([k]) => !['stage', 'keptPairs'].includes(modelOptionName('autofis', k) ?? '')),
  );
  return { ...rest, stage: 'retrain', kept_pairs: kept };
}
