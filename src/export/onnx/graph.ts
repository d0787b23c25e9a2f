/**
 * An ONNX graph under construction, serialized with the `onnx-proto` message classes
 * (protobufjs code generated from onnx.proto; no hand-written protobuf).
 *
 * Every value carries its static shape, with -1 for the batch axis (the one symbolic
 * dimension, named `batch` on the graph's inputs and outputs), so that emitters can
 * compute Reshape targets and check what they wire. Weights become initializers.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

/** Default-domain operator set the exporter writes (ONNX 1.12+, IR version 8). */
export const ONNX_OPSET = 17;
/** IR version of the written model (ONNX 1.10–1.12). */
export const ONNX_IR_VERSION = 8;
/** Opset of the ai.onnx.ml domain (TreeEnsembleRegressor) when a graph uses it. */
export const ONNX_ML_OPSET = 3;

/** Largest serialized protobuf message (2 GiB − 1), less a margin for the graph itself. */
const MAX_PROTO_BYTES = 2 ** 31 - 1 - 64 * 2 ** 20;

/** Element types the exporter uses. */
export type ElemType = 'float' | 'int64' | 'bool';

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A value of the graph: its name, element type and static shape (-1 = the batch axis). */
export interface Value {
  readonly name: string;
  readonly type: ElemType;
  readonly shape: readonly number[];
}

/** An attribute value: numbers are INT unless listed in `floats`, arrays INTS / FLOATS likewise; strings STRING. */
export type AttrValue = number | string | number[] | string[] | { floats: number[] } | { float: number };

function attribute(name: string, v: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute '${name}': ${v} is not an integer (use { float: x })`);
    return { name, type: T.INT, i: v };
  }
  if (Array.isArray(v)) {
    if (v.every((x): x is string => typeof x === 'string')) return { name, type: T.STRINGS, strings: v.map((x) => new TextEncoder().encode(x)) };
    const ints = v as number[];
    if (!ints.every(Number.isInteger)) throw new Error(`ONNX attribute '${name}': not all integers (use { floats: [...] })`);
    return { name, type: T.INTS, ints };
  }
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.FLOAT, f: v.float };
}

function valueInfo(v: Value): ValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM[v.type],
        shape: { dim: v.shape.map((d) => (d < 0 ? { dimParam: 'batch' } : { dimValue: d })) },
      },
    },
  };
}

/** Builds one ONNX graph: inputs, initializers, nodes, outputs; `toBytes()` serializes the model. */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: Value[] = [];
  private readonly outputs: Value[] = [];
  private readonly names = new Set<string>();
  private readonly domains = new Set<string>();
  private readonly weightCache = new Map<Float32Array, Map<string, Value>>();

  /** A name not used yet, derived from `hint`. */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'v';
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Declares a graph input under exactly `name` (an error if the name is taken). */
  input(name: string, type: ElemType, shape: number[]): Value {
    if (this.names.has(name)) throw new Error(`ONNX export: two graph inputs named '${name}'`);
    this.names.add(name);
    const v: Value = { name, type, shape };
    this.inputs.push(v);
    return v;
  }

  /** Publishes `v` as the graph output `name` (through an Identity node, so any value can be an output). */
  output(v: Value, name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX export: output name '${name}' is already a value of the graph`);
    this.names.add(name);
    this.nodes.push({ opType: 'Identity', input: [v.name], output: [name], name: `out_${name}` });
    this.outputs.push({ name, type: v.type, shape: v.shape });
  }

  /** A float initializer holding a copy of `data` with `shape`; the same array and shape give the same initializer. */
  weight(hint: string, data: Float32Array, shape: number[]): Value {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`ONNX export: weight '${hint}' has ${data.length} values, shape [${shape}] needs ${n}`);
    const key = shape.join(',');
    const cached = this.weightCache.get(data)?.get(key);
    if (cached !== undefined) return cached;
    const name = this.fresh(hint);
    const bytes = new Uint8Array(data.byteLength);
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.initializers.push({ name, dims: shape, dataType: ELEM.float, rawData: bytes });
    const v: Value = { name, type: 'float', shape };
    if (!this.weightCache.has(data)) this.weightCache.set(data, new Map());
    this.weightCache.get(data)!.set(key, v);
    return v;
  }

  /** A float constant (copied). */
  floats(hint: string, values: ArrayLike<number>, shape: number[] = [values.length]): Value {
    return this.weight(hint, Float32Array.from(values), shape);
  }

  /** A float scalar constant (shape []). */
  scalar(x: number): Value {
    return this.weight('const', Float32Array.of(x), []);
  }

  /** An int64 constant (Reshape targets, axes, indices). */
  ints(hint: string, values: readonly number[], shape: number[] = [values.length]): Value {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims: shape, dataType: ELEM.int64, int64Data: values.slice() });
    return { name, type: 'int64', shape };
  }

  /** Adds a node with one output of the given type and shape. */
  node(
    opType: string,
    inputs: Array<Value | null>,
    out: { type: ElemType; shape: readonly number[] },
    attrs: Record<string, AttrValue> = {},
    domain = '',
  ): Value {
    return this.nodeMulti(opType, inputs, [out], attrs, domain)[0]!;
  }

  /** Adds a node with several outputs (`null` inputs are omitted optional inputs). */
  nodeMulti(
    opType: string,
    inputs: Array<Value | null>,
    outs: Array<{ type: ElemType; shape: readonly number[] }>,
    attrs: Record<string, AttrValue> = {},
    domain = '',
  ): Value[] {
    const results = outs.map((o) => ({ name: this.fresh(opType.toLowerCase()), type: o.type, shape: o.shape.slice() }));
    if (domain !== '') this.domains.add(domain);
    this.nodes.push({
      opType,
      domain,
      name: this.fresh(`n_${opType}`),
      input: inputs.map((v) => (v === null ? '' : v.name)),
      output: results.map((r) => r.name),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return results;
  }

  /** Reorders the graph inputs (e.g. into schema order); names not listed keep their order at the end. */
  orderInputs(order: readonly string[]): void {
    const rank = (v: Value) => {
      const i = order.indexOf(v.name);
      return i < 0 ? order.length : i;
    };
    this.inputs.sort((a, b) => rank(a) - rank(b));
  }

  /** The graph inputs declared so far. */
  graphInputs(): readonly Value[] {
    return this.inputs;
  }

  /** The serialized ModelProto; refuses weights beyond protobuf's 2 GiB message limit (ONNX external data is not written). */
  toBytes(meta: { graphName: string; docString: string; metadata: Record<string, string> }): Uint8Array {
    const weightBytes = this.initializers.reduce((s, t) => s + (t.rawData?.length ?? 0), 0);
    if (weightBytes > MAX_PROTO_BYTES) {
      throw new Error(
        `ONNX export: the weights take ${(weightBytes / 2 ** 30).toFixed(2)} GiB, more than one protobuf message holds (2 GiB); ONNX external-data files are not supported yet`,
      );
    }
    const opsetImport = [{ domain: '', version: ONNX_OPSET }];
    if (this.domains.has('ai.onnx.ml')) opsetImport.push({ domain: 'ai.onnx.ml', version: ONNX_ML_OPSET });
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: 'finerank',
      producerVersion: '0.1.0',
      docString: meta.docString,
      opsetImport,
      metadataProps: Object.entries(meta.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
