/**
 * The finerank side of `npm run bench:train:seq` (one model per process, so that peak RSS is
 * the model's own): trains DIN or DIEN on the `sequence` CSV written by bench/train/sequence.ts
 * under the protocol of bench/train/torch_seq.py (embeddings dim 16 N(0, 1e-4), Adam 1e-3,
 * batch 4096, grad-norm clip 10, a fixed number of epochs, no early stopping) and prints one
 * JSON line: samples/s (training steps only), test AUC / logloss, peak RSS.
 *
 *   node dist/bench/train/seq_finerank.js --model din|dien --dir DIR [--epochs 1] [--batch-size 4096]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, intOption } from '../common/args.js';
import { peakRssBytes } from '../common/rss.js';
import type { SynthMeta } from '../../src/data/synth/index.js';
import { loadSchema } from '../../src/features/schema.js';
import { resolveModelOptions, acceptedOptions } from '../../src/models/registry.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { trainOnFiles } from '../../src/train/run.js';
import { kernels } from '../../src/engine/kernels/index.js';
import { gruKernels } from '../../src/blocks/sequence/gru-kernels.js';

const opts = parseArgs(process.argv.slice(2), { model: 'string', dir: 'string', epochs: 'string', 'batch-size': 'string' });
const model = String(opts.model ?? '');
if (model !== 'din' && model !== 'dien') throw new Error(`--model must be din or dien, got '${model}'`);
if (typeof opts.dir !== 'string') throw new Error('--dir DIR (a sequence dataset written by bench/train/sequence.ts) is required');
const dir = opts.dir;
const epochs = intOption(opts, 'epochs', 1);
const batchSize = intOption(opts, 'batch-size', 4096);
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SynthMeta;
const histories = ['hist_item_id', 'hist_cate_id'];
const options = model === 'din' ? { dinSequenceField: histories } : { dienSequenceField: histories };
const out = await trainOnFiles({
  data: {
    train: join(dir, meta.splits.train.file),
    valid: join(dir, meta.splits.valid.file),
    test: join(dir, meta.splits.test.file),
    onBadRow: 'error',
  },
  schema: loadSchema(join(dir, meta.schemaFile)),
  label: null,
  model,
  modelOptions: resolveModelOptions(model, acceptedOptions(model, { embeddingDim: 16, ...options })),
  train: {
    ...TRAIN_DEFAULTS,
    epochs,
    batchSize,
    optimizer: { type: 'adam', lr: 1e-3 },
    clipNorm: 10,
    patience: epochs + 1,
    seed: 2019,
    progress: false,
  },
});
console.log(
  JSON.stringify({
    impl: 'finerank',
    model,
    samples_per_sec: out.result.samplesPerSec,
    test_auc: out.test!.auc,
    test_logloss: out.test!.logloss,
    peak_rss_bytes: peakRssBytes(),
    epochs: out.result.epochs,
    backend: kernels().name,
    gru_kernels: gruKernels().name,
  }),
);
