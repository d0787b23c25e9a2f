import type { Module } from './module.js';
import { MLPLayer } from './mlp.js';

/**
 * Prepares a model in eval mode for inference: every MLP layer's batch norm is folded into
 * its Linear (`MLPLayer.foldForInference`), so eval-mode forward runs one GEMM with fused
 * bias + ReLU per hidden layer. Returns the number of layers with a folded batch norm.
 * Weights and state dict are unchanged; call it again after changing weights (e.g. a
 * reload), and `train()` undoes it.
 */
export function prepareForInference(model: Module): number {
  if (model.training) throw new Error('prepareForInference: the model must be in eval mode (model.eval())');
  let folded = 0;
  for (const m of model.modules()) {
    if (m instanceof MLPLayer) {
      m.foldForInference();
      if (m.bn !== null) folded++;
    }
  }
  return folded;
}
