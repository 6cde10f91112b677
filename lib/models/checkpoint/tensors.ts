/**
 * The tensors of a checkpoint file as plain float32 arrays, whatever the file stored: the dtypes of
 * safetensors and PyTorch storages (F32, F16, BF16, F64, integer and bool) are converted to float32 on
 * read, and strided PyTorch views are copied out row-major. Integer tensors (position_ids buffers,
 * causal-mask buffers) come through as float32 too; the architecture mapping decides what to keep.
 */
import { DataError } from "../../core/errors";

/** One tensor read from a checkpoint, converted to float32, row-major. */
export interface CheckpointTensor {
  shape: number[];
  /** The dtype the file stored ("F32", "F16", "BF16", "F64", "I64", ...; safetensors' names). */
  dtype: string;
  values: Float32Array;
}

/** Tensors by their name in the file (Hugging Face state-dict names). */
export type CheckpointTensors = Map<string, CheckpointTensor>;

/** Bytes per element of each supported dtype (safetensors names). */
export const DTYPE_BYTES: Readonly<Record<string, number>> = Object.freeze({
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
});

/** float32 value of an IEEE 754 half (binary16) bit pattern. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal (or zero)
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/**
 * Decode `count` elements of `dtype` starting at element `offset` of a little-endian buffer into float32
 * (`where` names the file and tensor in errors).
 */
export function decodeElements(bytes: Uint8Array, dtype: string, count: number, where: { file: string; field: string }, offset = 0): Float32Array {
  const size = DTYPE_BYTES[dtype];
  if (size === undefined) throw new DataError(where, `a dtype among ${Object.keys(DTYPE_BYTES).join(", ")}`, JSON.stringify(dtype));
  if ((offset + count) * size > bytes.byteLength) {
    throw new DataError(where, `${(offset + count) * size} bytes of ${dtype} data`, `${bytes.byteLength} bytes (the file is truncated or its offsets are wrong)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const base = offset * size;
  switch (dtype) {
    case "F32": for (let i = 0; i < count; i++) out[i] = view.getFloat32(base + 4 * i, true); break;
    case "F64": for (let i = 0; i < count; i++) out[i] = view.getFloat64(base + 8 * i, true); break;
    case "F16": for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(base + 2 * i, true)); break;
    // bfloat16 is the upper half of a float32.
    case "BF16": {
      const u = new Uint32Array(1), f = new Float32Array(u.buffer);
      for (let i = 0; i < count; i++) { u[0] = view.getUint16(base + 2 * i, true) << 16; out[i] = f[0]; }
      break;
    }
    case "I64": for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(base + 8 * i, true)); break;
    case "I32": for (let i = 0; i < count; i++) out[i] = view.getInt32(base + 4 * i, true); break;
    case "I16": for (let i = 0; i < count; i++) out[i] = view.getInt16(base + 2 * i, true); break;
    case "I8": for (let i = 0; i < count; i++) out[i] = view.getInt8(base + i); break;
    default: for (let i = 0; i < count; i++) out[i] = view.getUint8(base + i); // U8, BOOL
  }
  return out;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major copy of a strided view (PyTorch size/stride in elements) of a flat float32 storage. */
export function gatherStrided(storage: Float32Array, offset: number, shape: readonly number[], stride: readonly number[]): Float32Array {
  const n = numel(shape);
  const out = new Float32Array(n);
  if (n === 0) return out;
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    out[i] = storage[src];
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < shape[d]) break;
      src -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** True when size/stride describe a contiguous row-major view. */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}
