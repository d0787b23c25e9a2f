/**
 * Micro-benchmark of the dense ops that dominate a BARS DeepFM training step
 * (batch 4096, MLP 100 → [400, 400, 400] → 1 with Linear → BatchNorm → ReLU → Dropout(0.2)):
 * each op's forward and backward alone on [4096, 400], then a whole MLP forward + backward
 * + Adam step, as nn's MLP runs it, with BatchNorm → ReLU → Dropout fused into one op, and
 * that inside `tidy` (activations recycled). Times are per call, the median of --reps calls after --warmup, in wall
 * milliseconds and in process-CPU milliseconds (the steadier figure on a shared machine).
 * The backend is the active one (FINERANK_BACKEND=typescript forces the portable kernels).
 *
 *   npx tsc -p . && node dist/bench/engine/ops.js [--rows 4096] [--reps 20] [--warmup 3]
 *
 * Prints a table and one JSON line last: {"bench":"ops","backend":…,"results":{name:{wall_ms,cpu_ms}}}.
 */
import { parseArgs, intOption } from '../common/args.js';
import { formatTable, fmt } from '../common/table.js';
import { Tensor, tidy } from '../../src/engine/tensor.js';
import { Rng } from '../../src/engine/random.js';
import { kernels } from '../../src/engine/kernels/index.js';
import { linear, batchNorm, dropout, relu, sum, bceWithLogits, reshape } from '../../src/engine/ops/index.js';
import { MLP } from '../../src/nn/index.js';
import { Adam } from '../../src/train/optim.js';

interface Timing {
  wall_ms: number;
  cpu_ms: number;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall and CPU milliseconds of `fn` over `reps` calls after `warmup` calls. */
function time(fn: () => void, reps: number, warmup: number): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const wall: number[] = [],
    cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage(),
      t0 = performance.now();
    fn();
    const t1 = performance.now(),
      c1 = process.cpuUsage(c0);
    wall.push(t1 - t0);
    cpu.push((c1.user + c1.system) / 1000);
  }
  return { wall_ms: median(wall), cpu_ms: median(cpu) };
}

function randTensor(rng: Rng, shape: number[], requiresGrad: boolean): Tensor {
  const t = Tensor.zeros(shape, requiresGrad);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2), { rows: 'string', reps: 'string', warmup: 'string' });
  const rows = intOption(args, 'rows', 4096);
  const reps = intOption(args, 'reps', 20);
  const warmup = intOption(args, 'warmup', 3);
  const width = 400,
    inDim = 100;
  const rng = new Rng(2024);
  const results: Record<string, Timing> = {};
  const x = randTensor(rng, [rows, width], true);
  const w = randTensor(rng, [width, width], true);
  const b = randTensor(rng, [width], true);
  const g = randTensor(rng, [rows, width], false).data;
  const gamma = Tensor.full([width], 1, true),
    beta = Tensor.zeros([width], true);
  const rm = new Float32Array(width),
    rv = new Float32Array(width).fill(1);
  const drng = new Rng(7);
  const clear = () => {
    x.grad = null;
    w.grad = null;
    b.grad = null;
    gamma.grad = null;
    beta.grad = null;
  };

  results['linear.fwd'] = time(
    () => {
      linear(x, w, b);
    },
    reps,
    warmup,
  );
  results['linear.fwd+bwd'] = time(
    () => {
      clear();
      linear(x, w, b).backward(g);
    },
    reps,
    warmup,
  );
  const bnOpts = { training: true, runningMean: rm, runningVar: rv, relu: true };
  results['bnrelu.fwd'] = time(
    () => {
      batchNorm(x, gamma, beta, bnOpts);
    },
    reps,
    warmup,
  );
  results['bnrelu.fwd+bwd'] = time(
    () => {
      clear();
      batchNorm(x, gamma, beta, bnOpts).backward(g);
    },
    reps,
    warmup,
  );
  const bnDropOpts = { ...bnOpts, dropout: { p: 0.2, rng: drng } };
  results['bnrelu+dropout.fwd+bwd'] = time(
    () => {
      clear();
      batchNorm(x, gamma, beta, bnDropOpts).backward(g);
    },
    reps,
    warmup,
  );
  results['dropout.fwd'] = time(
    () => {
      dropout(x, 0.2, drng, true);
    },
    reps,
    warmup,
  );
  results['dropout.fwd+bwd'] = time(
    () => {
      clear();
      dropout(x, 0.2, drng, true).backward(g);
    },
    reps,
    warmup,
  );
  results['relu.fwd+bwd'] = time(
    () => {
      clear();
      relu(x).backward(g);
    },
    reps,
    warmup,
  );
  results['alloc+touch'] = time(
    () => {
      const a = new Float32Array(rows * width);
      for (let i = 0; i < a.length; i += 1024) a[i] = 1;
    },
    reps,
    warmup,
  );

  const mlp = new MLP({ inputDim: inDim, hiddenUnits: [width, width, width], dropout: 0.2, batchNorm: true, outputDim: 1, rng: new Rng(1) });
  mlp.train();
  const params = mlp.parameters();
  const adam = new Adam(params, { lr: 1e-3 });
  const input = randTensor(rng, [rows, inDim], false);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) labels[i] = rng.next() < 0.3 ? 1 : 0;
  const step = (forward: () => Tensor) => () => {
    const logits = reshape(forward(), [rows]);
    const loss = bceWithLogits(logits, labels);
    loss.backward();
    adam.step();
    for (const p of params) p.grad = null; // as the trainer's optimizers do
  };
  results['mlp.step'] = time(
    step(() => mlp.forward(input)),
    reps,
    warmup,
  );
  // The same layers with BatchNorm → ReLU → Dropout as one op (batchNorm's `dropout` option).
  const fusedRng = new Rng(3);
  const fusedForward = (): Tensor => {
    let h = input;
    for (const layer of mlp.layers) {
      h = linear(h, layer.linear.weight, layer.linear.bias);
      const bn = layer.bn!;
      h = batchNorm(h, bn.gamma, bn.beta, {
        training: true,
        runningMean: bn.runningMean.data,
        runningVar: bn.runningVar.data,
        momentum: bn.momentum,
        eps: bn.eps,
        relu: true,
        dropout: { p: layer.dropout!.p, rng: fusedRng },
      });
    }
    return linear(h, mlp.out!.weight, mlp.out!.bias);
  };
  results['mlp.step fused bn+relu+dropout'] = time(step(fusedForward), reps, warmup);
  // …and the forward + backward inside tidy(), which recycles the activations.
  const fusedStep = step(fusedForward);
  results['mlp.step fused + tidy'] = time(() => tidy(fusedStep), reps, warmup);
  void sum;

  const K = kernels();
  console.log(`backend: ${K.name} (${K.detail}); rows ${rows}, width ${width}; median of ${reps}`);
  console.log(
    formatTable(
      ['op', 'wall ms', 'cpu ms'],
      Object.entries(results).map(([k, v]) => [k, fmt(v.wall_ms, 2), fmt(v.cpu_ms, 2)]),
    ),
  );
  console.log(JSON.stringify({ bench: 'ops', backend: K.name, rows, results }));
}

main();
