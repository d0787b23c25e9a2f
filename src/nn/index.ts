/** Neural-network modules: the Module base and the layers models compose. */
export { Module, type EmbeddingLike } from './module.js';
export { Linear, type LinearOptions, type LinearInit } from './linear.js';
export { MLP, MLPLayer, type MLPOptions } from './mlp.js';
export { BatchNorm, type BatchNormModuleOptions } from './batchnorm.js';
export { LayerNorm, type LayerNormOptions } from './layernorm.js';
export { Dropout } from './dropout.js';
export {
  ReLU,
  Sigmoid,
  Tanh,
  LeakyReLU,
  Identity,
  PReLU,
  Dice,
  makeActivation,
  ACTIVATION_LAYER_NAMES,
  type Layer,
  type ActivationLayerName,
  type DiceModuleOptions,
} from './activations.js';
export * as init from './init.js';
export { prepareForInference } from './inference.js';
