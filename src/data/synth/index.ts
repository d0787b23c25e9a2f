/** Synthetic datasets with known click probabilities (docs/synthetic.md). */
export { generatePreset, SYNTH_PRESETS, type PresetOptions, type SynthPreset } from './presets.js';
export {
  generateFieldCtr,
  fieldCtrSchema,
  FieldCtrModel,
  type FieldCtrSpec,
  type CategoricalFieldSpec,
  type NumericFieldSpec,
  type InteractionPair,
  type InteractionTriple,
} from './criteo.js';
export {
  criteoSpec,
  frappeSpec,
  CRITEO_DEFAULTS,
  CRITEO_SMALL_DEFAULTS,
  FRAPPE_DEFAULTS,
  type CriteoPresetOptions,
  type FrappePresetOptions,
} from './criteo-presets.js';
export { generateSequence, SequenceModel, SEQUENCE_DEFAULTS, type SequenceSpec, type SequenceRow } from './sequence.js';
export {
  generateSequenceMatch,
  SequenceMatchModel,
  SEQUENCE_MATCH_DEFAULTS,
  type SequenceMatchSpec,
  type SequenceMatchRow,
} from './sequence-match.js';
export { generateMultitask, MultitaskModel, MULTITASK_DEFAULTS, type MultitaskSpec, type MultitaskRow } from './multitask.js';
export { OracleAccumulator, type OracleStats } from './oracle.js';
export { SPLITS, type GenerateOptions, type SynthFormat, type SynthMeta, type SplitMeta, type SplitName } from './common.js';
