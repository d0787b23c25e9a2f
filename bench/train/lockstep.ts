/**
 * `node dist/bench/train/lockstep.js` — DCNv2 or xDeepFM in lockstep: finerank and its PyTorch
 * twin (torch_zoo.py) from the SAME initial weights on the SAME batches, to tell an
 * implementation difference from run-to-run noise (bench/train/README.md, "DCNv2's AUC gap",
 * "xDeepFM in lockstep").
 *
 * 1. Encodes the dataset with finerank's own pipeline (feature map fitted on the training
 *    file, shuffled batches of the BARS protocol: 4096 rows, seed `--shuffle-seed`).
 * 2. Builds finerank's model (`--model dcnv2 | xdeepfm`) with bench/train/config.json's options, its weights
 *    drawn from `Rng.derive(--init-seed, 'model')` (what `finerank train` draws with seed
 *    --init-seed), and writes them with the batches under bench/out/lockstep/.
 * 3. Trains finerank for `--epochs` epochs at a constant learning rate (the protocol's
 *    optimizers, table L2, clipping; no schedule, no early stopping), then runs
 *    torch_lockstep.py, which loads the same weights into the twin and trains it on the same
 *    batches with torch_ctr.py's step. With `--torch-init S` the twin keeps its own
 *    initialization (torch seed S) instead: the same batches from different starts.
 * 4. Prints each side's mean train loss per epoch, the loss of each of the first
 *    `--steps-shown` steps (and the largest difference between the sides there) and its
 *    validation AUC / logloss after the last epoch; the last line is one JSON object.
 *    With dropout 0 both sides compute the same function from the same weights, so their
 *    step losses agree to float rounding until rounding differences grow; a different
 *    forward pass shows at step 1, a different gradient or update from step 2 on.
 *
 * Options: --model dcnv2 (default) | xdeepfm  --data DIR (default bench/out/frappe-like-50000)
 *          --epochs 12  --init-seed 2021  --shuffle-seed 2021  --torch-init S
 *          --dropout P (default: config.json's)  --steps-shown 10
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, intOption } from '../common/args.js';
import { runProcess, requireSuccess, lastJsonLine } from '../common/process.js';
import { torchPython } from '../common/python.js';
import { repoRoot } from '../common/paths.js';
import { machineInfo } from '../common/machine.js';
import { Rng } from '../../src/engine/random.js';
import { noGrad } from '../../src/engine/tensor.js';
import { bceWithLogits } from '../../src/engine/ops/index.js';
import { createModel } from '../../src/models/registry.js';
import { fitFeatureMap } from '../../src/data/stream.js';
import { openSplits } from '../../src/train/streaming-choice.js';
import { BadRowLog } from '../../src/readers/errors.js';
import { libfmSchema } from '../../src/cli/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { BARS_PRESET } from '../../src/train/options.js';
import { auc as rocAuc } from '../../src/metrics/auc.js';
import type { Batch } from '../../src/features/batch.js';

/** Models torch_lockstep.py can load finerank's weights into. */
const LOCKSTEP_MODELS = ['dcnv2', 'xdeepfm'];

interface Config {
  dataset: { fields: Array<{ name: string; range: [number, number] }>; min_count: number };
  models: Record<string, Record<string, unknown>>;
}

/** Mean binary log loss of logits against 0/1 labels, p clipped to [1e-7, 1 − 1e-7]. */
function logloss(logits: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const p = Math.min(Math.max(1 / (1 + Math.exp(-logits[i]!)), 1e-7), 1 - 1e-7);
    s -= y[i]! > 0 ? Math.log(p) : Math.log(1 - p);
  }
  return s / y.length;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2), {
    data: 'string',
    epochs: 'string',
    'init-seed': 'string',
    'shuffle-seed': 'string',
    'torch-init': 'string',
    dropout: 'string',
    model: 'string',
    'steps-shown': 'string',
  });
  const modelName = typeof opts.model === 'string' ? opts.model : 'dcnv2';
  if (!LOCKSTEP_MODELS.includes(modelName)) throw new Error(`--model must be one of ${LOCKSTEP_MODELS.join(', ')}, got '${modelName}'`);
  const stepsShown = intOption(opts, 'steps-shown', 10, 1);
  const root = repoRoot();
  const dataDir = typeof opts.data === 'string' ? resolve(opts.data) : join(root, 'bench', 'out', 'frappe-like-50000');
  const epochs = intOption(opts, 'epochs', 12);
  const initSeed = intOption(opts, 'init-seed', 2021, 0);
  const shuffleSeed = intOption(opts, 'shuffle-seed', 2021, 0);
  const torchInit = opts['torch-init'] === undefined ? null : intOption(opts, 'torch-init', 0, 0);
  const cfg = JSON.parse((await import('node:fs')).readFileSync(join(root, 'bench', 'train', 'config.json'), 'utf8')) as Config;
  const modelOptions = { ...cfg.models[modelName]! };
  for (const k of ['source', 'embedding_regularizer']) delete modelOptions[k];
  if (opts.dropout !== undefined) {
    const p = Number(opts.dropout);
    if (!(p >= 0 && p < 1)) throw new Error(`--dropout must be in [0, 1), got ${String(opts.dropout)}`);
    modelOptions.net_dropout = p;
  }
  const l2 = cfg.models[modelName]!.embedding_regularizer as number;

  const schema = libfmSchema('libfm', cfg.dataset.fields, cfg.dataset.min_count, 'bench/train/config.json');
  const load = { onBadRow: 'error' as const, badRows: new BadRowLog() };
  const files = { train: join(dataDir, 'train.libfm'), valid: join(dataDir, 'valid.libfm'), test: null };
  const fm = await fitFeatureMap(files.train, schema, load);
  const spec = fm.featureSpec();
  const { train, valid } = await openSplits(fm, files, load);
  const names = spec.fields.map((f) => f.name);

  const batches: Batch[] = [];
  for (let e = 0; e < epochs; e++)
    for await (const b of train.batches({ batchSize: 4096, shuffle: true, seed: shuffleSeed, epoch: e })) batches.push(b);
  let held: Batch | null = null;
  for await (const b of valid!.batches({ batchSize: 1 << 30, shuffle: false, seed: 0, epoch: 0 })) held = b;
  const stepsPerEpoch = Math.ceil(train.rows! / 4096);

  const model = createModel(modelName, { spec, rng: Rng.derive(initSeed, 'model') }, { embedding_init_std: 1e-4, ...modelOptions });
  const outDir = join(root, 'bench', 'out', 'lockstep');
  mkdirSync(outDir, { recursive: true });
  // Batches: per batch its row count, then field-major ids (int32), then labels (float32).
  const parts: Buffer[] = [];
  for (const b of [...batches, held!]) {
    parts.push(Buffer.from(Int32Array.of(b.size).buffer));
    for (const n of names) parts.push(Buffer.from(b.sparse[n]!.slice().buffer));
    parts.push(Buffer.from(Object.values(b.labels)[0]!.slice().buffer));
  }
  writeFileSync(join(outDir, 'batches.bin'), Buffer.concat(parts));
  const init: Record<string, number[]> = {};
  for (const [n, t] of model.stateDict()) init[n] = Array.from(t);
  // Gradient probe: a second model with the same weights, the mean BCE of the first batch
  // (train mode, no penalty) and its gradients of the dense parameters (the tables' gradients
  // are sparse accumulators; the penalty only touches the tables).
  const probe = createModel(modelName, { spec, rng: Rng.derive(initSeed, 'model') }, { embedding_init_std: 1e-4, ...modelOptions });
  probe.train();
  const probeLoss = bceWithLogits(probe.forwardOutputs(batches[0]!)[probe.tasks[0]!]!, Object.values(batches[0]!.labels)[0]!);
  probeLoss.backward();
  const gradProbe: Record<string, number[]> = {};
  for (const [n, p] of probe.namedParameters()) if (p.grad !== null) gradProbe[n] = Array.from(p.grad);
  writeFileSync(
    join(outDir, 'setup.json'),
    JSON.stringify({
      model: modelName,
      fields: names,
      sizes: spec.fields.map((f) => (f as { vocabSize: number }).vocabSize),
      batches: batches.length,
      steps_per_epoch: stepsPerEpoch,
      options: modelOptions,
      embedding_regularizer: l2,
      init,
      grad_probe: { loss: probeLoss.item(), grads: gradProbe },
    }),
  );

  const loadBefore = machineInfo().load_avg_1m;
  const trainer = new Trainer(
    model,
    { ...BARS_PRESET, embeddingL2: l2, progress: false },
    'click' in held!.labels ? 'click' : Object.keys(held!.labels)[0]!,
  );
  model.train();
  const losses = batches.map((b) => trainer.step(b));
  model.eval();
  const logits = noGrad(() => model.forwardOutputs(held!))[model.tasks[0]!]!.data;
  const y = Object.values(held!.labels)[0]!;
  const perEpoch = (l: number[]) =>
    Array.from({ length: epochs }, (_, e) => {
      const s = l.slice(e * stepsPerEpoch, (e + 1) * stepsPerEpoch);
      return Number((s.reduce((a, b) => a + b, 0) / s.length).toFixed(4));
    });
  const finerank = {
    train_loss: perEpoch(losses),
    step_loss: losses.slice(0, stepsShown),
    valid_auc: rocAuc(logits, y),
    valid_logloss: logloss(logits, y),
  };
  process.stdout.write(
    `finerank: train loss per epoch ${finerank.train_loss.join(' ')}; valid AUC ${finerank.valid_auc.toFixed(6)}, logloss ${finerank.valid_logloss.toFixed(6)}\n` +
      `finerank: loss of steps 1…${stepsShown} ${finerank.step_loss.map((v) => v.toFixed(6)).join(' ')}\n`,
  );

  const py = torchPython();
  const args = [
    join(root, 'bench', 'train', 'torch_lockstep.py'),
    '--dir',
    outDir,
    '--steps-shown',
    String(stepsShown),
    ...(torchInit !== null ? ['--torch-init', String(torchInit)] : []),
  ];
  const r = await runProcess(py, args, { cwd: root, env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' }, echoStdout: true });
  requireSuccess('torch_lockstep.py', py, args, r);
  const torch = lastJsonLine(r.stdout, 'torch_lockstep.py');
  const torchSteps = torch.step_loss as number[];
  const stepDiff = finerank.step_loss.map((v, i) => Math.abs(v - torchSteps[i]!));
  const gradDiff = torch.grad_probe as { params: number; max_rel_diff: number; worst: string; pre_bn_bias_max_abs: number } | null;
  if (gradDiff !== null && gradDiff !== undefined) {
    process.stdout.write(
      `first-batch gradients of ${gradDiff.params} dense parameters: largest |finerank − pytorch| / max|pytorch| ` +
        `${gradDiff.max_rel_diff.toExponential(1)} (${gradDiff.worst}); Linear biases before BatchNorm (exactly 0): ` +
        `both sides ≤ ${gradDiff.pre_bn_bias_max_abs.toExponential(1)}\n`,
    );
  }
  process.stdout.write(`|finerank − pytorch| of steps 1…${stepsShown}: ${stepDiff.map((v) => v.toExponential(1)).join(' ')}\n`);
  process.stdout.write(
    JSON.stringify({
      bench: 'lockstep',
      model: modelName,
      dataset: dataDir,
      epochs,
      init_seed: initSeed,
      shuffle_seed: shuffleSeed,
      torch_init: torchInit === null ? 'finerank weights' : `torch seed ${torchInit}`,
      load_avg_1m_before: loadBefore,
      load_avg_1m_after: machineInfo().load_avg_1m,
      finerank,
      pytorch: torch,
      max_step_loss_diff: Number(Math.max(...stepDiff).toExponential(3)),
      valid_auc_diff: Number((finerank.valid_auc - (torch.valid_auc as number)).toFixed(6)),
    }) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`lockstep: ${(e as Error).message}\n`);
  process.exit(1);
});
