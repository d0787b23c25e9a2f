/**
 * ONNX export of a trained model (`finerank export model.frk --format onnx -o model.onnx`).
 *
 * The graph is emitted from the model's structure (src/export/onnx/models/: one export per
 * model, composed of block emitters in src/export/onnx/blocks/), in standard opset-17
 * operators. Inputs: the encoded fields the model reads (see `ExportContext`); outputs: one
 * probability float [batch] per task and extra output, named after it, with the artifact's
 * negative-downsampling correction p = p′ / (p′ + (1 − p′)/w) applied as `finerank predict` does.
 */
import type { LoadedArtifact } from '../../serve/artifact.js';
import type { RankingModel } from '../../models/base.js';
import type { FeatureSpec } from '../../features/fields.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { ExportContext } from './context.js';
import { GraphBuilder, ONNX_OPSET, type Value } from './graph.js';
import { modelExportOf } from './models/index.js';
import type { EmittedOutput } from './model-export.js';
import * as op from './ops.js';

/** The opsets and IR version written (see graph.ts). */
export { ONNX_OPSET, ONNX_IR_VERSION, ONNX_ML_OPSET } from './graph.js';
/** Names of the models with an ONNX export. */
export { exportableModels } from './models/index.js';

/** Options of `exportOnnx` / `onnxModelBytes`. */
export interface OnnxExportOptions {
  /** Negative-downsampling rate w the model was trained with (1: none); the outputs are recalibrated. */
  negativeSampleRate?: number;
  /** δ added to each output's logit (`recalibrate: intercept`), by output name. */
  logitOffset?: Record<string, number>;
  /** Extra key/value metadata stored in the ONNX model. */
  metadata?: Record<string, string>;
}

/** What an export wrote. */
export interface OnnxExportSummary {
  bytes: number;
  opset: number;
  inputs: Array<{ name: string; type: string; shape: Array<number | 'batch'> }>;
  outputs: string[];
}

/** The ONNX ModelProto bytes of a model (eval mode) over its input fields; `modelOptions` are its resolved options (`resolveModelOptions`, an artifact's `modelOptions`). */
export function onnxModelBytes(
  model: RankingModel,
  spec: FeatureSpec,
  modelOptions: Readonly<Record<string, unknown>>,
  opts: OnnxExportOptions = {},
): { bytes: Uint8Array; summary: OnnxExportSummary } {
  const exporter = modelExportOf(model.modelName);
  const g = new GraphBuilder();
  const cx = new ExportContext(g, spec, modelOptions);
  const logits = exporter.emit(cx, model);
  const w = opts.negativeSampleRate ?? 1;
  const outputs = model.outputNames();
  for (const name of outputs) {
    const out = logits[name];
    if (out === undefined) throw new Error(`ONNX export of '${model.modelName}' gave no output '${name}'`);
    // σ(z + ln w + δ) = p / (p + (1 − p)/(w·e^δ)): the offset folds into the rate of the closed form.
    g.output(probability(g, out, w * Math.exp(opts.logitOffset?.[name] ?? 0)), name);
  }
  g.orderInputs(cx.inputOrder());
  const inputs = g.graphInputs().map((v) => ({ name: v.name, type: v.type, shape: v.shape.map((d) => (d < 0 ? ('batch' as const) : d)) }));
  const bytes = g.toBytes({
    graphName: model.modelName,
    docString: `finerank model '${model.modelName}': inputs are encoded field ids (int64), numeric values (float) and padded ids with lengths; outputs are probabilities per task`,
    metadata: {
      model: model.modelName,
      outputs: outputs.join(','),
      negative_sample_rate: String(w),
      ...(opts.logitOffset !== undefined ? { logit_offset: JSON.stringify(opts.logitOffset) } : {}),
      ...(opts.metadata ?? {}),
    },
  });
  return { bytes, summary: { bytes: bytes.length, opset: ONNX_OPSET, inputs, outputs } };
}

function probability(g: GraphBuilder, out: EmittedOutput, w: number): Value {
  const p = 'probability' in out ? out.probability : op.sigmoid(g, out);
  if (w === 1) return p;
  // p / (p + (1 − p)/w)
  const rest = op.div(g, op.sub(g, g.scalar(1), p), g.scalar(w));
  return op.div(g, p, op.add(g, p, rest));
}

/** Writes the ONNX file of a loaded artifact (atomically) and returns what it holds. */
export function exportOnnx(artifact: LoadedArtifact, outFile: string, opts: OnnxExportOptions = {}): OnnxExportSummary {
  artifact.model.eval();
  const { bytes, summary } = onnxModelBytes(artifact.model, artifact.meta.inputSpec, artifact.meta.modelOptions, {
    negativeSampleRate: artifact.meta.negativeSampleRate,
    ...(artifact.meta.logitOffset !== undefined ? { logitOffset: artifact.meta.logitOffset } : {}),
    ...opts,
  });
  writeFileAtomic(outFile, bytes);
  return summary;
}
