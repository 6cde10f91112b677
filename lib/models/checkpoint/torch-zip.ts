/**
 * PyTorch `pytorch_model.bin` as `torch.save` writes it since 1.6: a zip archive holding
 * `<archive>/data.pkl` (a pickle of the state dict whose tensors point, by persistent id, at
 * `<archive>/data/<key>` storages), `<archive>/version` and, in newer versions, `<archive>/byteorder`.
 * The pickle is read by pickle.ts with an allow-list of exactly what a state dict needs:
 *   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the
 *   torch.*Storage types.
 * Anything else (a model object, a function, os.system) is refused before it could run; a pickle that
 * is not a flat {name: tensor} dict is refused too. The legacy format of PyTorch before 1.6 (and of
 * `_use_new_zipfile_serialization=False`; many checkpoints on the hub from 2019-2020) is read too: a
 * magic-number pickle, a protocol-version pickle, a sys-info pickle, the state dict's pickle, a pickle of
 * the storage keys, then each storage as an 8-byte element count and its raw bytes, in key order.
 */
import { DataError, show } from "../../core/errors";
import { closeSync, openSync, readFileSync, readSync } from "fs";
import { unpickle, unpickleAt, type PickleCallable } from "./pickle";
import { openZip } from "./zip";
import { CheckpointTensors, decodeElements, DTYPE_BYTES, gatherStrided, isContiguous, numel } from "./tensors";

/** torch storage class -> safetensors dtype name. */
const STORAGE_DTYPES: Readonly<Record<string, string>> = Object.freeze({
  FloatStorage: "F32", HalfStorage: "F16", BFloat16Storage: "BF16", DoubleStorage: "F64", LongStorage: "I64",
  IntStorage: "I32", ShortStorage: "I16", CharStorage: "I8", ByteStorage: "U8", BoolStorage: "BOOL",
});

interface StorageRef { kind: "storage"; dtype: string; key: string; numel: number }
interface TensorRef { kind: "tensor"; storage: StorageRef; offset: number; shape: number[]; stride: number[] }

const EXPECTED = "a state dict (a dict of tensor name -> tensor, as model.state_dict() saved by torch.save)";

/** The allowed globals of a state-dict pickle. */
function stateDictGlobals(file: string): Map<string, PickleCallable | { marker: string }> {
  const globals = new Map<string, PickleCallable | { marker: string }>();
  globals.set("collections OrderedDict", () => new Map());
  globals.set("torch._utils _rebuild_tensor_v2", (a) => rebuildTensor(a, file));
  globals.set("torch._utils _rebuild_parameter", (a) => a[0]);
  for (const [cls, dtype] of Object.entries(STORAGE_DTYPES)) globals.set(`torch ${cls}`, { marker: dtype });
  return globals;
}

/** torch.save's legacy magic number (torch/serialization.py MAGIC_NUMBER). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** True when the file starts like a zip archive (local file header "PK\x03\x04"). */
function isZip(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === 0x04034b50;
  } finally {
    closeSync(fd);
  }
}

/** Read the tensors of a `torch.save` checkpoint (zip format, or the legacy format), converted to float32. */
export function readTorchCheckpoint(file: string): CheckpointTensors {
  if (!isZip(file)) {
    const head = Buffer.alloc(2);
    const fd = openSync(file, "r");
    try { readSync(fd, head, 0, 2, 0); } finally { closeSync(fd); }
    if (head[0] === 0x80) return readLegacyTorchCheckpoint(file);
  }
  const zip = openZip(file);
  try {
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) throw new DataError({ file }, "one <archive>/data.pkl entry (torch.save's zip format)", pkls.length ? pkls.join(", ") : `entries ${[...zip.entries.keys()].slice(0, 5).join(", ")}`);
    const prefix = pkls[0].slice(0, -"data.pkl".length);
    const order = zip.entries.get(`${prefix}byteorder`);
    if (order && zip.read(order.name).toString("latin1").trim() !== "little") throw new DataError({ file, field: `${prefix}byteorder` }, "\"little\"", show(zip.read(order.name).toString("latin1").trim()));
    const state = unpickle(zip.read(pkls[0]), {
      file: `${file} (${pkls[0]})`, globals: stateDictGlobals(file), expected: EXPECTED,
      persistentLoad: (pid) => storageRef(pid, file),
    });
    if (!(state instanceof Map)) throw new DataError({ file, field: pkls[0] }, EXPECTED, describe(state));
    return collectTensors(state, file, (ref, name) => {
      const entry = `${prefix}data/${ref.key}`;
      if (!zip.entries.has(entry)) throw new DataError({ file, field: name }, `its storage ${entry} in the archive`, "no such entry");
      return decodeElements(zip.read(entry), ref.dtype, ref.numel, { file, field: `${name} (storage ${entry})` });
    });
  } finally {
    zip.close();
  }
}

/** The legacy (pre-1.6) torch.save format (see the module comment). */
export function readLegacyTorchCheckpoint(file: string): CheckpointTensors {
  const bytes = readFileSync(file);
  const o = (what: string) => ({ file: `${file} (${what})`, globals: stateDictGlobals(file), expected: EXPECTED, persistentLoad: (pid: unknown) => storageRef(pid, file) });
  const magic = unpickleAt(bytes, 0, { file, globals: new Map(), expected: "torch.save's magic number" });
  if (magic.value !== LEGACY_MAGIC && magic.value !== Number(LEGACY_MAGIC)) throw new DataError({ file }, "a torch.save file (zip archive, or the legacy format's magic number)", `a pickle of ${describe(magic.value)}`);
  const version = unpickleAt(bytes, magic.end, { file, globals: new Map(), expected: "a protocol version" });
  if (version.value !== 1001) throw new DataError({ file, field: "protocol version" }, "1001", describe(version.value));
  const info = unpickleAt(bytes, version.end, { file, globals: new Map(), expected: "sys info" });
  if (info.value instanceof Map && info.value.get("little_endian") === false) throw new DataError({ file, field: "sys_info.little_endian" }, "true", "false");
  const main = unpickleAt(bytes, info.end, o("state dict pickle"));
  const keys = unpickleAt(bytes, main.end, { file, globals: new Map(), expected: "the storage keys" });
  if (!(main.value instanceof Map)) throw new DataError({ file }, EXPECTED, describe(main.value));
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === "string")) throw new DataError({ file, field: "storage keys" }, "a list of storage keys", describe(keys.value));
  // storages follow in key order: int64 element count, then the bytes
  const refs = new Map<string, StorageRef>();
  for (const t of (main.value as Map<unknown, unknown>).values()) {
    const r = t as TensorRef;
    if (r && typeof r === "object" && r.kind === "tensor") refs.set(r.storage.key, r.storage);
  }
  const offsets = new Map<string, number>();
  let p = keys.end;
  for (const key of keys.value as string[]) {
    if (p + 8 > bytes.length) throw new DataError({ file, field: `storage ${key}` }, "an 8-byte element count", "the end of the file (truncated)");
    const n = Number(bytes.readBigInt64LE(p));
    const ref = refs.get(key);
    if (!ref) throw new DataError({ file, field: `storage ${key}` }, "a storage some tensor of the state dict uses", "an unused storage");
    const size = n * DTYPE_BYTES[ref.dtype];
    if (n !== ref.numel) throw new DataError({ file, field: `storage ${key}` }, `${ref.numel} elements`, `${n}`);
    offsets.set(key, p + 8);
    p += 8 + size;
  }
  return collectTensors(main.value as Map<unknown, unknown>, file, (ref, name) => {
    const at = offsets.get(ref.key);
    if (at === undefined) throw new DataError({ file, field: name }, `its storage ${ref.key} among the file's storages`, "none");
    return decodeElements(bytes.subarray(at), ref.dtype, ref.numel, { file, field: `${name} (storage ${ref.key})` });
  });
}

/** The {name: tensor} entries of an unpickled state dict, each storage decoded once by `load`. */
function collectTensors(state: Map<unknown, unknown>, file: string, load: (ref: StorageRef, name: string) => Float32Array): CheckpointTensors {
  const storages = new Map<string, Float32Array>();
  const out: CheckpointTensors = new Map();
  for (const [name, t] of state) {
    if (typeof name !== "string") throw new DataError({ file, field: "state dict" }, EXPECTED, `a dict with the key ${show(String(name))} (${typeof name})`);
    const ref = t as TensorRef;
    if (ref === null || typeof ref !== "object" || ref.kind !== "tensor") throw new DataError({ file, field: name }, EXPECTED, `${show(name)} -> ${describe(t)}`);
    let data = storages.get(ref.storage.key);
    if (!data) {
      data = load(ref.storage, name);
      storages.set(ref.storage.key, data);
    }
    const n = numel(ref.shape);
    let last = ref.offset;
    for (let d = 0; d < ref.shape.length; d++) last += Math.max(0, ref.shape[d] - 1) * ref.stride[d];
    if (n > 0 && last >= data.length) throw new DataError({ file, field: name }, `a view inside its storage of ${data.length} elements`, `offset ${ref.offset}, shape [${ref.shape}], stride [${ref.stride}]`);
    const values = isContiguous(ref.shape, ref.stride) ? data.slice(ref.offset, ref.offset + n) : gatherStrided(data, ref.offset, ref.shape, ref.stride);
    out.set(name, { shape: ref.shape, dtype: ref.storage.dtype, values });
  }
  return out;
}

function storageRef(pid: unknown, file: string): StorageRef {
  // ('storage', <torch.XStorage>, key, location, numel[, view_metadata (legacy format)])
  const t = pid as unknown[];
  const marker = Array.isArray(t) ? (t[1] as { marker?: unknown }) : undefined;
  if (!Array.isArray(t) || t[0] !== "storage" || typeof marker?.marker !== "string" || typeof t[2] !== "string" || typeof t[4] !== "number") {
    throw new DataError({ file, field: "persistent id" }, "('storage', torch.<Type>Storage, key, location, numel)", describe(pid));
  }
  return { kind: "storage", dtype: marker.marker, key: t[2], numel: t[4] };
}

function rebuildTensor(a: unknown[], file: string): TensorRef {
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  const [storage, offset, shape, stride] = a as [StorageRef, number, number[], number[]];
  const ints = (v: unknown): boolean => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
  if (storage?.kind !== "storage" || !Number.isInteger(offset) || !ints(shape) || !ints(stride) || shape.length !== stride.length) {
    throw new DataError({ file, field: "_rebuild_tensor_v2" }, "(storage, offset, size, stride, ...)", describe(a));
  }
  return { kind: "tensor", storage, offset, shape: shape.slice(), stride: stride.slice() };
}

function describe(v: unknown): string {
  if (v === null) return "None";
  if (v instanceof Map) return `a dict of ${v.size} entries`;
  if (Array.isArray(v)) return `a list/tuple of ${v.length} items${v.length && (v[0] as TensorRef)?.kind === "tensor" ? " (tensors)" : ""}`;
  if ((v as TensorRef)?.kind === "tensor") return "a tensor";
  if ((v as StorageRef)?.kind === "storage") return "a storage";
  return `${typeof v} ${show(String(v))}`;
}
