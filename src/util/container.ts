import { createHash } from 'node:crypto';

/** Typed arrays a container can hold. */
export type StoredArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

const DTYPES = { f32: Float32Array, f64: Float64Array, i32: Int32Array, u32: Uint32Array, u8: Uint8Array } as const;
type DType = keyof typeof DTYPES;

function dtypeOf(a: StoredArray): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Float64Array) return 'f64';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint32Array) return 'u32';
  return 'u8';
}

/**
 * A self-checking binary container for model artifacts and checkpoints:
 *   magic (8 bytes) · header length (u32 LE) · header JSON · array payloads (8-byte aligned)
 *   · SHA-256 of everything before it (32 bytes).
 * The header carries the caller's metadata and, per array, name, dtype, byte offset and length.
 */
export function encodeContainer(magic: string, meta: unknown, arrays: Map<string, StoredArray>): Buffer {
  if (Buffer.byteLength(magic) !== 8) throw new Error('container magic must be 8 bytes');
  const index: Array<{ name: string; dtype: DType; offset: number; length: number }> = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    index.push({ name, dtype: dtypeOf(a), offset, length: a.length });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const header = Buffer.from(JSON.stringify({ meta, arrays: index }));
  const headerPad = Math.ceil((12 + header.length) / 8) * 8 - (12 + header.length);
  const dataStart = 12 + header.length + headerPad;
  const out = Buffer.alloc(dataStart + offset + 32);
  out.write(magic, 0, 'latin1');
  out.writeUInt32LE(header.length + headerPad, 8);
  header.copy(out, 12);
  out.fill(0x20, 12 + header.length, dataStart); // pad header with spaces (valid JSON)
  let i = 0;
  for (const a of arrays.values()) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    out.set(bytes, dataStart + index[i]!.offset);
    i++;
  }
  createHash('sha256')
    .update(out.subarray(0, out.length - 32))
    .digest()
    .copy(out, out.length - 32);
  return out;
}

/** Decoded container: the metadata and the arrays (copies, properly aligned). */
export interface DecodedContainer {
  meta: unknown;
  arrays: Map<string, StoredArray>;
}

/**
 * Reads a container, refusing anything that is not exactly what `encodeContainer` wrote:
 * wrong magic, truncation, or a checksum mismatch (corruption) each give a clear error
 * naming `source`.
 */
export function decodeContainer(buf: Uint8Array, magic: string, source: string): DecodedContainer {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 12 + 32) throw new Error(`${source}: file is truncated (${b.length} bytes) or not a finerank file`);
  if (b.toString('latin1', 0, 8) !== magic) throw new Error(`${source}: not a ${magic.trim()} file (bad magic bytes)`);
  const digest = createHash('sha256')
    .update(b.subarray(0, b.length - 32))
    .digest();
  if (!digest.equals(b.subarray(b.length - 32))) throw new Error(`${source}: checksum mismatch — the file is corrupted or truncated`);
  const headerLen = b.readUInt32LE(8);
  if (12 + headerLen > b.length - 32) throw new Error(`${source}: header length ${headerLen} exceeds the file`);
  let header: { meta: unknown; arrays: Array<{ name: string; dtype: DType; offset: number; length: number }> };
  try {
    header = JSON.parse(b.toString('utf8', 12, 12 + headerLen));
  } catch (e) {
    throw new Error(`${source}: header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 12 + headerLen;
  const dataEnd = b.length - 32;
  const arrays = new Map<string, StoredArray>();
  for (const e of header.arrays) {
    const Ctor = DTYPES[e.dtype];
    if (Ctor === undefined) throw new Error(`${source}: array '${e.name}' has unknown dtype '${e.dtype}'`);
    const start = dataStart + e.offset;
    const bytes = e.length * Ctor.BYTES_PER_ELEMENT;
    if (start + bytes > dataEnd) throw new Error(`${source}: array '${e.name}' runs past the end of the data`);
    const copy = new Uint8Array(bytes);
    copy.set(b.subarray(start, start + bytes));
    arrays.set(e.name, new Ctor(copy.buffer));
  }
  return { meta: header.meta, arrays };
}

/**
 * Splits a JSON-like value holding typed arrays (optimizer or RNG state) into plain JSON,
 * where each typed array is replaced by {"$array": key}, and the arrays under those keys.
 */
export function packState(value: unknown, arrays: Map<string, StoredArray>, prefix: string): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    arrays.set(prefix, value as StoredArray);
    return { $array: prefix };
  }
  if (Array.isArray(value)) return value.map((v, i) => packState(v, arrays, `${prefix}.${i}`));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = packState(v, arrays, `${prefix}.${k}`);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
  return value;
}

/** Inverse of `packState`. */
export function unpackState(value: unknown, arrays: Map<string, StoredArray>): unknown {
  if (Array.isArray(value)) return value.map((v) => unpackState(v, arrays));
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$array === 'string') {
      const a = arrays.get(o.$array);
      if (a === undefined) throw new Error(`state array '${o.$array}' missing`);
      return a;
    }
    if (typeof o.$number === 'string') return Number(o.$number);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = unpackState(v, arrays);
    return out;
  }
  return value;
}
