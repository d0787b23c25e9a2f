import { Tensor } from '../../src/engine/tensor.js';
import type { Module } from '../../src/nn/module.js';
import { gradcheck, type GradcheckOptions } from '../support/gradcheck.js';

/** A module with a forward pass. */
export type Forward = Module & { forward(x: Tensor): Tensor };

/**
 * Gradient check of a module: the input and every parameter against finite differences.
 * `before` runs before each forward (e.g. to replay a dropout mask).
 */
export function gradcheckModule(m: Forward, x: Tensor, opts: GradcheckOptions & { before?: () => void } = {}): void {
  const params = m.parameters();
  gradcheck(
    () => {
      opts.before?.();
      return m.forward(x);
    },
    [x, ...params],
    opts,
  );
}

/** Copies of every state-dict array. */
export function snapshot(m: Module): Map<string, Float32Array> {
  return new Map([...m.stateDict()].map(([k, v]) => [k, v.slice()]));
}
