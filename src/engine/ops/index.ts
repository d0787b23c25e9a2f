/**
 * All autograd ops of the engine, in one import. Each op validates its inputs, computes its
 * result into a new output buffer (possibly recycled from the engine's buffer pool; see
 * `tidy` in ../tensor.ts) and, when recording, a backward closure that adds the
 * gradient contributions to the parents that require one (see ../tensor.ts).
 */
export {
  add,
  sub,
  mul,
  div,
  neg,
  scale,
  addScalar,
  exp,
  log,
  square,
  sqrt,
  pow,
  abs,
  where,
  maskedFill,
  broadcastShapes,
  sumToShape,
} from './elementwise.js';
export * from './activation.js';
export * from './reduce.js';
export * from './shape.js';
export * from './softmax.js';
export * from './dropout.js';
export * from './loss.js';
export * from './matmul.js';
export * from './norm.js';
export * from './conv.js';
export * from './attention.js';
export * from './activation-unit.js';
export * from './experts.js';
export * from './pairs.js';
export * from './norm-fused.js';
export * from './cin.js';
