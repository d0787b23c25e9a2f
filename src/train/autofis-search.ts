import type { Rng } from '../engine/random.js';
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

/**
 * AutoFIS's search stage: trains the search-stage model for `search_epochs` epochs (the
 * training options otherwise, without checkpoints: a resumed run repeats this deterministic
 * stage) with its gates under GRDA (`grda_c`, `grda_mu`, `grda_lr`) and every other
 * parameter under the configured optimizers; returns the pairs whose gate is not exactly 0.
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
  const grda = new GRDA([gates], { lr: o.grdaLr as number, c: o.grdaC as number, mu: o.grdaMu as number });
  const trainer = new Trainer(model, { ...opts, epochs: o.searchEpochs as number, checkpointDir: '' }, tasks, hooks, rngs, [
    { params: [gates], optimizer: grda },
  ]);
  await trainer.fit(train, valid);
  return model.keptPairs();
}

/** The options of the retrain stage: the user's options with `stage: retrain` and the kept pairs. */
export function retrainOptions(modelOptions: Record<string, unknown>, kept: string[]): Record<string, unknown> {
  const rest = Object.fromEntries(
    Object.entries(modelOptions).filter(([k]) => !['stage', 'keptPairs'].includes(modelOptionName('autofis', k) ?? '')),
  );
  return { ...rest, stage: 'retrain', kept_pairs: kept };
}
