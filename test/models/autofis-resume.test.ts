import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateFieldCtr } from '../../src/data/synth/criteo.js';
import { splitFiles } from '../../src/data/synth/common.js';
import { loadSchema, type Schema } from '../../src/features/schema.js';
import { trainOnFiles, type TrainJob, type TrainOutcome } from '../../src/train/run.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { SEARCH_CHECKPOINT_DIR, SEARCH_RESULT_FILE } from '../../src/train/autofis-search.js';
import { twoTruePairsSpec } from '../support/two-true-pairs.js';

/**
 * AutoFIS's two stages under checkpoints: a `finerank train --model autofis` run (trainOnFiles,
 * what the CLI calls) killed in its search stage or in its retrain stage, then started again
 * on the same checkpoint folder, ends with the weights, kept pairs and test AUC of a run that
 * was never interrupted. 4,000 rows: 13 steps per epoch, 2 search + 2 retrain epochs; the DNN
 * has dropout, so the generators' states must be restored too.
 */
const STEPS_PER_EPOCH = 13;

function setup(): { dir: string; job: (checkpointDir: string) => TrainJob } {
  const dir = mkdtempSync(join(tmpdir(), 'finerank-autofis-resume-'));
  const meta = generateFieldCtr(twoTruePairsSpec('autofis-resume-test'), { outDir: dir, rows: 4000, seed: 9 });
  const schema: Schema = loadSchema(join(dir, meta.schemaFile));
  const job = (checkpointDir: string): TrainJob => ({
    data: { ...splitFiles(dir, meta), onBadRow: 'error' },
    schema,
    label: null,
    model: 'autofis',
    modelOptions: { embedding_dim: 4, embedding_init_std: 0.01, hidden_units: [8], net_dropout: 0.2, search_epochs: 2, grda_c: 0.04 },
    train: {
      ...TRAIN_DEFAULTS,
      epochs: 2,
      batchSize: 256,
      progress: false,
      optimizer: { type: 'adam' as const, lr: 3e-3 },
      checkpointDir,
      checkpointEverySteps: 5,
    },
  });
  return { dir, job };
}

/** Runs the job, throwing from the step hook at the `killAt`-th optimizer step of the whole run (both stages). */
async function killedRun(job: TrainJob, killAt: number): Promise<void> {
  let calls = 0;
  await assert.rejects(
    trainOnFiles(job, {
      afterStep: () => {
        if (++calls === killAt) throw new Error('simulated crash');
      },
    }),
    /simulated crash/,
  );
}

function assertSameOutcome(a: TrainOutcome, b: TrainOutcome, what: string): void {
  assert.deepEqual(b.modelOptions?.kept_pairs, a.modelOptions?.kept_pairs, `${what}: kept pairs`);
  const wa = a.model.stateDict(),
    wb = b.model.stateDict();
  assert.deepEqual([...wb.keys()], [...wa.keys()], `${what}: parameter names`);
  for (const [k, v] of wa) assert.deepEqual(wb.get(k), v, `${what}: weights of ${k} differ from the uninterrupted run`);
  assert.equal(b.test!.auc, a.test!.auc, `${what}: test AUC`);
}

test('AutoFIS killed in its search stage resumes the search from its checkpoint and ends as an uninterrupted run', async () => {
  const { dir, job } = setup();
  try {
    const whole = await trainOnFiles(job(''));
    assert.ok(((whole.modelOptions?.kept_pairs ?? []) as string[]).length > 0, 'the search keeps some pairs');
    const ckpt = join(dir, 'ckpt');
    await killedRun(job(ckpt), STEPS_PER_EPOCH + 4); // search epoch 2, after the checkpoint at step 15
    assert.ok(existsSync(join(ckpt, SEARCH_CHECKPOINT_DIR, 'checkpoint.frk')), 'the search stage wrote its checkpoint');
    assert.ok(!existsSync(join(ckpt, SEARCH_RESULT_FILE)), 'no search record before the search ends');
    const lines: string[] = [];
    const resumed = await trainOnFiles(job(ckpt), { log: (l) => lines.push(l) });
    assert.ok(
      lines.some((l) => l.startsWith('resumed from checkpoint at epoch 2, step 15')),
      lines.join('\n'),
    );
    assertSameOutcome(whole, resumed, 'killed in search');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('AutoFIS killed in its retrain stage skips the finished search and resumes the retrain', async () => {
  const { dir, job } = setup();
  try {
    const whole = await trainOnFiles(job(''));
    // Retrain step 3 (before its first checkpoint: the retrain model is drawn again from the
    // generators recorded after the search), then retrain epoch 2 (after its checkpoint at step 15).
    for (const [retrainStep, resumeLine] of [
      [3, null],
      [STEPS_PER_EPOCH + 3, 'resumed from checkpoint at epoch 2, step 15'],
    ] as const) {
      const ckpt = join(dir, `ckpt-${retrainStep}`);
      await killedRun(job(ckpt), 2 * STEPS_PER_EPOCH + retrainStep);
      assert.ok(existsSync(join(ckpt, SEARCH_RESULT_FILE)), 'the finished search is recorded');
      const lines: string[] = [];
      let steps = 0;
      const resumed = await trainOnFiles(job(ckpt), { log: (l) => lines.push(l), afterStep: () => void steps++ });
      assert.ok(
        lines.some((l) => l.startsWith('search stage already finished')),
        lines.join('\n'),
      );
      if (resumeLine !== null)
        assert.ok(
          lines.some((l) => l.startsWith(resumeLine)),
          lines.join('\n'),
        );
      assert.equal(steps, 2 * STEPS_PER_EPOCH - (resumeLine === null ? 0 : 15), 'only the retrain steps after the checkpoint run again');
      assertSameOutcome(whole, resumed, `killed at retrain step ${retrainStep}`);
    }

    // A record of another field set, or a broken one, is refused with the file named.
    const ckpt = join(dir, `ckpt-${STEPS_PER_EPOCH + 3}`);
    writeFileSync(join(ckpt, SEARCH_RESULT_FILE), '{"pairs": ["x:y"], "kept": [], "rngs": []}');
    await assert.rejects(trainOnFiles(job(ckpt)), /autofis-search\.json: the recorded search gated the pairs x:y/);
    writeFileSync(join(ckpt, SEARCH_RESULT_FILE), '{"pairs": ');
    await assert.rejects(trainOnFiles(job(ckpt)), /autofis-search\.json: not a readable AutoFIS search record/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
