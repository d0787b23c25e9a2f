/**
 * The weights file of the in-browser scorer (`model.bin`): everything needed to rebuild a
 * model without finerank's artifact reader (which needs node:crypto) in one fetch.
 *
 * Layout: 8 bytes magic `FRNKWEB1`; u32 little-endian byte length H of the header; H bytes
 * of UTF-8 JSON (`WebModelHeader`); zero bytes up to a multiple of 4; then the weights as
 * float32 little-endian, each array at `offset` (in floats, from the start of the data).
 */
import type { FeatureSpec } from '../../features/fields.js';
import type { PortableFeatureMap } from '../featuremap-json.js';

const MAGIC = 'FRNKWEB1';
/** Whether this platform stores float32 little-endian (then arrays are copied whole, not float by float). */
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/** The JSON header of model.bin. */
export interface WebModelHeader {
  format: 'finerank.web';
  version: 1;
  /** Registry name and resolved options of the model. */
  model: string;
  modelOptions: Record<string, unknown>;
  /** The model's input fields (what the registry builds it from). */
  inputSpec: FeatureSpec;
  /** Task names the model was built with. */
  tasks: string[];
  /** Negative-downsampling rate of training (probabilities are recalibrated). */
  negativeSampleRate: number;
  /** δ added to each output's logit (`recalibrate: intercept`); absent: none. */
  logitOffset?: Record<string, number>;
  /** How raw values become the model's inputs. */
  featureMap: PortableFeatureMap;
  /** Every weight (parameters and buffers) by state-dict name. */
  weights: Array<{ name: string; offset: number; length: number }>;
}

/** Packs a header (weights list filled in here) and the state dict into model.bin bytes. */
export function packWebModel(header: Omit<WebModelHeader, 'weights'>, state: ReadonlyMap<string, Float32Array>): Uint8Array {
  const weights: WebModelHeader['weights'] = [];
  let floats = 0;
  for (const [name, a] of state) {
    weights.push({ name, offset: floats, length: a.length });
    floats += a.length;
  }
  const json = new TextEncoder().encode(JSON.stringify({ ...header, weights }));
  const dataStart = Math.ceil((12 + json.length) / 4) * 4;
  const out = new Uint8Array(dataStart + 4 * floats);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const view = new DataView(out.buffer, dataStart);
  const floatsOut = LITTLE_ENDIAN ? new Float32Array(out.buffer, dataStart, floats) : null;
  let k = 0;
  for (const a of state.values()) {
    if (floatsOut !== null) floatsOut.set(a, k);
    else for (let i = 0; i < a.length; i++) view.setFloat32(4 * (k + i), a[i]!, true);
    k += a.length;
  }
  return out;
}

/** Reads model.bin bytes: the header and the weights (copies, so the bytes may be dropped). */
export function unpackWebModel(bytes: Uint8Array): { header: WebModelHeader; state: Map<string, Float32Array> } {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    throw new Error(`model.bin: not a finerank web model (magic ${MAGIC} missing)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = view.getUint32(8, true);
  if (12 + h > bytes.length) throw new Error('model.bin: truncated header');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + h))) as WebModelHeader;
  if (header.format !== 'finerank.web' || header.version !== 1)
    throw new Error(`model.bin: unsupported format ${String(header.format)} v${String(header.version)}`);
  const dataStart = Math.ceil((12 + h) / 4) * 4;
  const state = new Map<string, Float32Array>();
  for (const w of header.weights) {
    const at = dataStart + 4 * w.offset;
    if (at + 4 * w.length > bytes.length) throw new Error(`model.bin: truncated (weight '${w.name}' ends past the file)`);
    const a = new Float32Array(w.length);
    if (LITTLE_ENDIAN && (bytes.byteOffset + at) % 4 === 0) a.set(new Float32Array(bytes.buffer, bytes.byteOffset + at, w.length));
    else for (let i = 0; i < w.length; i++) a[i] = view.getFloat32(at + 4 * i, true);
    state.set(w.name, a);
  }
  return { header, state };
}
