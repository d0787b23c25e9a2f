/**
 * What every emitter receives: the graph under construction, the model's input fields and
 * options, and the graph inputs, declared the first time an emitter reads a field.
 *
 * Graph inputs (the batch axis is the symbolic dimension `batch`):
 * - a single-id (sparse) field `<name>`: int64 [batch], the encoded id;
 * - a numeric field `<name>`: float [batch], the transformed value;
 * - a multi-value or sequence field `<name>`: int64 [batch, maxLen], ids padded with 0, and
 *   `<name>_length`: int64 [batch], the true lengths.
 */
import type { FeatureSpec, FieldDef } from '../../features/fields.js';
import { Module } from '../../nn/module.js';
import type { Tensor } from '../../engine/tensor.js';
import type { GraphBuilder, Value } from './graph.js';

/** A padded multi-value / sequence input: ids [B, L] and true lengths [B]. */
export interface PaddedInput {
  ids: Value;
  lengths: Value;
  maxLen: number;
}

/** The name of the lengths input of a multi-value or sequence field. */
export function lengthInputName(field: string): string {
  return `${field}_length`;
}

/** Emitter state: the graph, the input fields and the lazily declared graph inputs. */
export class ExportContext {
  private readonly declared = new Map<string, Value | PaddedInput>();

  constructor(
    readonly g: GraphBuilder,
    readonly spec: FeatureSpec,
    /** The model's resolved options (camelCase), for choices its weights do not show (heads, scaling). */
    readonly options: Readonly<Record<string, unknown>>,
    /** Single-id fields computed inside the graph (GBDT+LR's leaf fields) instead of read from an input. */
    private readonly provided: ReadonlyMap<string, Value> = new Map(),
    /** The context whose graph inputs this one shares (a model inside a model). */
    private readonly parent: ExportContext | null = null,
  ) {}

  /** A context for a model inside this one (GBDT+LR's second model): its own fields and options, `provided` fields computed in the graph, every other field read from this context's inputs. */
  derived(spec: FeatureSpec, options: Readonly<Record<string, unknown>>, provided: ReadonlyMap<string, Value>): ExportContext {
    return new ExportContext(this.g, spec, options, provided, this);
  }

  /** A model option the export depends on (an error naming it when absent). */
  option<T extends number | boolean | string>(name: string, type: 'number' | 'boolean' | 'string'): T {
    const v = this.options[name];
    if (typeof v !== type) throw new Error(`ONNX export: model option '${name}' is ${JSON.stringify(v)}, expected a ${type}`);
    return v as T;
  }

  /** The field definition of `name` (an error naming the fields when absent). */
  field(name: string): FieldDef {
    const f = this.spec.fields.find((x) => x.name === name);
    if (f === undefined) throw new Error(`ONNX export: no input field '${name}'; fields: ${this.spec.fields.map((x) => x.name).join(', ')}`);
    return f;
  }

  /** A list-of-names model option (e.g. `dinSequenceField`). */
  optionNames(name: string): string[] {
    const v = this.options[name];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      throw new Error(`ONNX export: model option '${name}' is ${JSON.stringify(v)}, expected a list of names`);
    return v as string[];
  }

  /** A list-of-integers model option (e.g. FGCNN's `kernelHeights`). */
  optionIntegers(name: string): number[] {
    const v = this.options[name];
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x)))
      throw new Error(`ONNX export: model option '${name}' is ${JSON.stringify(v)}, expected a list of integers`);
    return v as number[];
  }

  /** The int64 [B] id input of a single-id field. */
  sparse(name: string): Value {
    const f = this.field(name);
    if (f.kind !== 'sparse') throw new Error(`ONNX export: field '${name}' is ${f.kind}, not sparse`);
    const given = this.provided.get(name);
    if (given !== undefined) return given;
    if (this.parent !== null) return this.parent.sparse(name);
    return this.once(name, () => this.g.input(name, 'int64', [-1])) as Value;
  }

  /** The float [B] input of a numeric field. */
  dense(name: string): Value {
    const f = this.field(name);
    if (f.kind !== 'dense') throw new Error(`ONNX export: field '${name}' is ${f.kind}, not dense`);
    if (this.parent !== null) return this.parent.dense(name);
    return this.once(name, () => this.g.input(name, 'float', [-1])) as Value;
  }

  /** The padded ids [B, maxLen] and lengths [B] inputs of a multi-value or sequence field. */
  padded(name: string): PaddedInput {
    const f = this.field(name);
    if (f.kind !== 'varlen' && f.kind !== 'sequence') throw new Error(`ONNX export: field '${name}' is ${f.kind}, not varlen/sequence`);
    const maxLen = f.maxLen;
    if (maxLen === undefined || !(maxLen > 0)) throw new Error(`ONNX export: field '${name}' has no max length`);
    if (this.parent !== null) return this.parent.padded(name);
    return this.once(name, () => ({
      ids: this.g.input(name, 'int64', [-1, maxLen]),
      lengths: this.g.input(lengthInputName(name), 'int64', [-1]),
      maxLen,
    })) as PaddedInput;
  }

  /** The graph input names in schema order (ids before lengths). */
  inputOrder(): string[] {
    return this.spec.fields.flatMap((f) => (f.kind === 'varlen' || f.kind === 'sequence' ? [f.name, lengthInputName(f.name)] : [f.name]));
  }

  /** A tensor of the model as an initializer (named after `hint`). */
  weight(hint: string, t: Tensor): Value {
    return this.g.weight(hint, t.data, t.shape.slice());
  }

  private once(name: string, make: () => Value | PaddedInput): Value | PaddedInput {
    let v = this.declared.get(name);
    if (v === undefined) {
      v = make();
      this.declared.set(name, v);
    }
    return v;
  }
}

/** The child module `name` of `m`, checked to be a `cls` (the model's structure as the exporter expects it). */
export function childOf<T extends Module>(m: Module, name: string, cls: abstract new (...args: never[]) => T): T {
  const c = m.namedChildren().find(([n]) => n === name)?.[1];
  if (c === undefined) throw new Error(`ONNX export: ${m.constructor.name} has no child '${name}'`);
  if (!(c instanceof cls)) throw new Error(`ONNX export: ${m.constructor.name}.${name} is a ${c.constructor.name}, expected ${cls.name}`);
  return c;
}

/** The child module `name` of `m` when present (null otherwise), checked to be a `cls`. */
export function maybeChild<T extends Module>(m: Module, name: string, cls: abstract new (...args: never[]) => T): T | null {
  return m.namedChildren().some(([n]) => n === name) ? childOf(m, name, cls) : null;
}

/** The own (not a child's) parameter or buffer `name` of `m`. */
export function paramOf(m: Module, name: string): Tensor {
  const p = [...m.namedParameters(), ...m.namedBuffers()].find(([n]) => n === name)?.[1];
  if (p === undefined) throw new Error(`ONNX export: ${m.constructor.name} has no parameter '${name}'`);
  return p;
}

/** Whether `m` has its own parameter `name`. */
export function hasParam(m: Module, name: string): boolean {
  return m.namedParameters().some(([n]) => n === name);
}
