/**
 * Named synthetic datasets (`finerank gen <preset>`): each preset is a generator with its
 * documented parameters, a default row count and the formats it can write.
 */
import { generateFieldCtr } from './criteo.js';
import { CRITEO_DEFAULTS, CRITEO_DEMO_DEFAULTS, CRITEO_SMALL_DEFAULTS, criteoSpec, FRAPPE_DEFAULTS, frappeSpec } from './criteo-presets.js';
import type { GenerateOptions, SynthFormat, SynthMeta } from './common.js';
import { generateMultitask, MULTITASK_DEFAULTS } from './multitask.js';
import { generateSequence, SEQUENCE_DEFAULTS } from './sequence.js';
import { generateSequenceMatch, SEQUENCE_MATCH_DEFAULTS } from './sequence-match.js';

/** A named dataset. */
export interface SynthPreset {
  name: string;
  description: string;
  /** Rows when `rows` is not given. */
  defaultRows: number;
  formats: readonly SynthFormat[];
  defaultFormat: SynthFormat;
  generate(opts: GenerateOptions): SynthMeta;
}

/** The presets by name. */
export const SYNTH_PRESETS: Readonly<Record<string, SynthPreset>> = {
  'criteo-small': {
    name: 'criteo-small',
    description: 'Criteo-shaped, 13 numeric + 26 categorical fields (3 to 10k values), interactions among the 8 small fields; for tests and the demo',
    defaultRows: 50_000,
    formats: ['csv', 'libfm'],
    defaultFormat: 'csv',
    generate: (o) => generateFieldCtr(criteoSpec('criteo-small', CRITEO_SMALL_DEFAULTS), o),
  },
  'criteo-demo': {
    name: 'criteo-demo',
    description:
      'criteo-small with vocabularies compressed above 10 values (largest 317): the demo dataset, where DeepFM gets within 0.005 of the oracle from 800k rows',
    defaultRows: 800_000,
    formats: ['csv', 'libfm'],
    defaultFormat: 'csv',
    generate: (o) => generateFieldCtr(criteoSpec('criteo-demo', CRITEO_DEMO_DEFAULTS), o),
  },
  criteo: {
    name: 'criteo',
    description: 'Criteo-shaped at scale: vocabularies up to 200k values, pairwise and third-order interactions; any number of rows (streamed)',
    defaultRows: 1_000_000,
    formats: ['csv', 'libfm'],
    defaultFormat: 'csv',
    generate: (o) => generateFieldCtr(criteoSpec('criteo', CRITEO_DEFAULTS), o),
  },
  'frappe-like': {
    name: 'frappe-like',
    description: 'Frappe-shaped: 10 categorical fields (user, item, 8 context fields, 5382 features), one-hot libfm, splits 7:2:1',
    defaultRows: 288_609,
    formats: ['libfm', 'csv'],
    defaultFormat: 'libfm',
    generate: (o) => generateFieldCtr(frappeSpec(FRAPPE_DEFAULTS), o),
  },
  sequence: {
    name: 'sequence',
    description: 'User behaviour histories; click depends on candidate-history similarity (DIN)',
    defaultRows: 100_000,
    formats: ['csv'],
    defaultFormat: 'csv',
    generate: (o) => generateSequence(SEQUENCE_DEFAULTS, o),
  },
  'sequence-match': {
    name: 'sequence-match',
    description:
      "User behaviour histories over many diverse interests; click depends on whether the candidate's category occurs among the behaviours (DIN), plus the current interest (DIEN)",
    defaultRows: 100_000,
    formats: ['csv'],
    defaultFormat: 'csv',
    generate: (o) => generateSequenceMatch(SEQUENCE_MATCH_DEFAULTS, o),
  },
  multitask: {
    name: 'multitask',
    description: 'Click then conversion (observed only after a click) with selection bias (ESMM)',
    defaultRows: 100_000,
    formats: ['csv'],
    defaultFormat: 'csv',
    generate: (o) => generateMultitask(MULTITASK_DEFAULTS, o),
  },
};

/** Options of `generatePreset`: rows and format default to the preset's. */
export type PresetOptions = Omit<GenerateOptions, 'rows'> & { rows?: number };

/** Generates a named preset into `opts.outDir` and returns its meta. */
export function generatePreset(name: string, opts: PresetOptions): SynthMeta {
  const p = SYNTH_PRESETS[name];
  if (!p) throw new Error(`unknown dataset preset "${name}" (available: ${Object.keys(SYNTH_PRESETS).join(', ')})`);
  return p.generate({ ...opts, rows: opts.rows ?? p.defaultRows, format: opts.format ?? p.defaultFormat });
}
