/**
 * How a model declares its ONNX export: `modelExport(name, Class, emit)` next to its
 * siblings in src/export/onnx/models/, where `emit` composes the block emitters the way
 * the model's `forwardOutputs` composes its blocks and returns one logit [B] per output
 * (the tasks, then extra outputs such as ESMM's cvr). The exporter adds the sigmoid.
 */
import type { RankingModel } from '../../models/base.js';
import type { ExportContext } from './context.js';
import type { Value } from './graph.js';
import * as op from './ops.js';

/** An output given as a probability rather than a logit (ESMM's pCTCVR = pCTR·pCVR): the exporter adds no sigmoid. */
export interface Probability {
  probability: Value;
}

/** What a model export gives per output: its logit [B], or its probability. */
export type EmittedOutput = Value | Probability;

/** The export of one registered model. */
export interface ModelExport {
  /** Registry name of the model. */
  readonly model: string;
  /** The outputs [B] by output name (`model.outputNames()` order): logits, or probabilities where marked. */
  emit(cx: ExportContext, model: RankingModel): Record<string, EmittedOutput>;
}

/** Declares the export of a model class: `emit` gets the model typed as its class. */
export function modelExport<M extends RankingModel>(
  model: string,
  cls: abstract new (...args: never[]) => M,
  emit: (cx: ExportContext, m: M) => Record<string, EmittedOutput> | Value,
): ModelExport {
  return {
    model,
    emit(cx, m) {
      if (!(m instanceof cls)) throw new Error(`ONNX export of '${model}': expected a ${cls.name}, got ${m.constructor.name}`);
      const out = emit(cx, m);
      if (!('shape' in out)) return out as Record<string, EmittedOutput>;
      const v = out as Value;
      return { [m.outputNames()[0]!]: v.shape.length === 1 ? v : op.reshape(cx.g, v, [-1]) };
    },
  };
}
