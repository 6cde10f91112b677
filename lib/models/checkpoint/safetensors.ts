/**
 * safetensors reader (huggingface/safetensors, docs "Format"): 8 bytes little-endian u64 N, N bytes of
 * a UTF-8 JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then
 * the data, with offsets relative to the byte after the header. Every entry is checked against the
 * header and the file size before any tensor is read, so a truncated or inconsistent file fails with a
 * DataError naming the file and the tensor. Sharded checkpoints: `model.safetensors.index.json`
 * (`weight_map`: tensor name -> shard file).
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "fs";
import { dirname, join } from "path";
import { DataError, show } from "../../core/errors";
import { CheckpointTensors, decodeElements, DTYPE_BYTES, numel } from "./tensors";

/** The spec's cap on the header size (100 MB). */
const MAX_HEADER = 100_000_000;

/** A header entry. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** [begin, end) in bytes, relative to the data section. */
  dataOffsets: [number, number];
}

/** The parsed header of a safetensors file. */
export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + N). */
  dataStart: number;
}

function readExactly(fd: number, length: number, position: number, file: string, what: string): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new DataError({ file }, `${length} bytes of ${what} at byte ${position}`, `the end of the file after ${got} bytes (the file is truncated)`);
    got += n;
  }
  return buf;
}

/** Parse and check the header of a safetensors file against its size. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openSync(file, "r");
  try {
    return parseHeader(fd, fstatSync(fd).size, file);
  } finally {
    closeSync(fd);
  }
}

function parseHeader(fd: number, size: number, file: string): SafetensorsHeader {
  if (size < 8) throw new DataError({ file }, "a safetensors file (8-byte header length, JSON header, data)", `${size} bytes`);
  const n = Number(readExactly(fd, 8, 0, file, "header length").readBigUInt64LE(0));
  if (n > MAX_HEADER || 8 + n > size) {
    throw new DataError({ file, field: "header length" }, `a JSON header of at most ${Math.min(MAX_HEADER, size - 8)} bytes`, `${n} bytes in a file of ${size} bytes (truncated, or not a safetensors file)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readExactly(fd, n, 8, file, "JSON header").toString("utf8"));
  } catch (e) {
    throw new DataError({ file, field: "header" }, "a JSON object", `unparsable JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new DataError({ file, field: "header" }, "a JSON object", show(json));
  const dataSize = size - 8 - n;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const where = { file, field: name };
    if (e === null || typeof e !== "object") throw new DataError(where, "{dtype, shape, data_offsets}", show(raw));
    if (typeof e.dtype !== "string" || DTYPE_BYTES[e.dtype] === undefined) throw new DataError({ file, field: `${name}.dtype` }, `one of ${Object.keys(DTYPE_BYTES).join(", ")}`, show(e.dtype));
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new DataError({ file, field: `${name}.shape` }, "a list of non-negative integers", show(JSON.stringify(e.shape)));
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[1] < off[0]) {
      throw new DataError({ file, field: `${name}.data_offsets` }, "[begin, end] with 0 <= begin <= end", show(JSON.stringify(off)));
    }
    const want = numel(e.shape as number[]) * DTYPE_BYTES[e.dtype];
    if (off[1] - off[0] !== want) {
      throw new DataError({ file, field: `${name}.data_offsets` }, `${want} bytes for ${e.dtype} [${(e.shape as number[]).join(", ")}]`, `${off[1] - off[0]} bytes [${off[0]}, ${off[1]})`);
    }
    if (off[1] > dataSize) {
      throw new DataError({ file, field: `${name}.data_offsets` }, `a range inside the ${dataSize} data bytes`, `[${off[0]}, ${off[1]}) (the file is truncated)`);
    }
    entries.set(name, { dtype: e.dtype, shape: (e.shape as number[]).slice(), dataOffsets: [off[0], off[1]] });
  }
  return { entries, metadata, dataStart: 8 + n };
}

/** Read every tensor (or those `names` selects) of a safetensors file, converted to float32. */
export function readSafetensors(file: string, names?: readonly string[]): CheckpointTensors {
  const fd = openSync(file, "r");
  try {
    const header = parseHeader(fd, fstatSync(fd).size, file);
    const out: CheckpointTensors = new Map();
    for (const [name, e] of header.entries) {
      if (names && !names.includes(name)) continue;
      const [b, end] = e.dataOffsets;
      const bytes = readExactly(fd, end - b, header.dataStart + b, file, name);
      out.set(name, { shape: e.shape, dtype: e.dtype, values: decodeElements(bytes, e.dtype, numel(e.shape), { file, field: name }) });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Read a sharded checkpoint through its `*.safetensors.index.json` (weight_map: name -> shard file). */
export function readShardedSafetensors(indexFile: string): CheckpointTensors {
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(readFileSync(indexFile, "utf8"));
  } catch (e) {
    throw new DataError({ file: indexFile }, "a JSON index {metadata, weight_map}", `unparsable JSON (${(e as Error).message})`);
  }
  const map = index?.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) throw new DataError({ file: indexFile, field: "weight_map" }, "an object tensor name -> shard file", show(map));
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard.includes("/") || shard.includes("\\")) throw new DataError({ file: indexFile, field: `weight_map[${JSON.stringify(name)}]` }, "a shard file name in the same folder", show(shard));
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  const out: CheckpointTensors = new Map();
  for (const [shard, names] of byShard) {
    const file = join(dirname(indexFile), shard);
    const got = readSafetensors(file, names);
    const missing = names.filter((n) => !got.has(n));
    if (missing.length) throw new DataError({ file, field: "tensors" }, `the tensors ${indexFile} maps to it`, `a shard without ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`);
    for (const [n, t] of got) if (names.includes(n)) out.set(n, t);
  }
  return out;
}
