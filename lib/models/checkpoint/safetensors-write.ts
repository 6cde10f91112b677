/**
 * safetensors writer, the mirror of safetensors.ts (huggingface/safetensors, docs "Format"): 8 bytes
 * little-endian u64 N, an N-byte UTF-8 JSON header `{name: {dtype, shape, data_offsets}, "__metadata__":
 * {string: string}}` padded with spaces to a multiple of 8 bytes (as the reference implementation does, so
 * the data section is 8-byte aligned), then the tensors' bytes back to back in header order. Tensors are
 * written as F32 in the order given; the file is written atomically (core/files.ts), so a failed write
 * leaves no half file.
 */
import { ShapeError, show } from "../../core/errors";
import { writeFileAtomic } from "../../core/files";
import { numel } from "./tensors";

/** One tensor to write: its name in the file, its shape and its float32 values (row-major). */
export interface TensorToWrite {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** The bytes of a safetensors file holding `tensors` (F32) and string `metadata`. */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== "string") throw new ShapeError(`encodeSafetensors: metadata ${show(k)} must be a string, got ${show(v)}`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__" || t.name in header) throw new ShapeError(`encodeSafetensors: tensor name ${show(t.name)} ${t.name === "__metadata__" ? "is reserved" : "appears twice"}`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ShapeError(`encodeSafetensors: ${t.name} has shape [${t.shape}], expected non-negative integers`);
    if (numel(t.shape) !== t.values.length) throw new ShapeError(`encodeSafetensors: ${t.name} has ${t.values.length} values for shape [${t.shape}] (${numel(t.shape)})`);
    const bytes = t.values.length * 4;
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (8 - (json.byteLength % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.byteLength + offset);
  out.writeBigUInt64LE(BigInt(json.byteLength), 0);
  json.copy(out, 8);
  let at = 8 + json.byteLength;
  for (const t of tensors) {
    // little-endian float32, whatever the host's byte order
    for (let i = 0; i < t.values.length; i++, at += 4) out.writeFloatLE(t.values[i], at);
  }
  return out;
}

/** Write `tensors` as a safetensors file (atomically; see the module comment). */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
