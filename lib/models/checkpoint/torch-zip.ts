/**
 * PyTorch `pytorch_model.bin` as `torch.save` writes it since 1.6: a zip archive holding
 * `<archive>/data.pkl` (a pickle of the state dict whose tensors point, by persistent id, at
 * `<archive>/data/<key>` storages), `<archive>/version` and, in newer versions, `<archive>/byteorder`.
 * The pickle is read by pickle.ts with an allow-list of exactly what a state dict needs:
 *   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the
 *   torch.*Storage types.
 * Anything else (a model object, a function, os.system) is refused before it could run; a pickle that
 * is not a flat {name: tensor} dict is refused too. Legacy (pre-1.6, non-zip) files are refused with a
 * hint to re-save them.
 */
import { DataError, show } from "../../core/errors";
import { unpickle, type PickleCallable } from "./pickle";
import { openZip } from "./zip";
import { CheckpointTensors, decodeElements, gatherStrided, isContiguous, numel } from "./tensors";

/** torch storage class -> safetensors dtype name. */
const STORAGE_DTYPES: Readonly<Record<string, string>> = Object.freeze({
  FloatStorage: "F32", HalfStorage: "F16", BFloat16Storage: "BF16", DoubleStorage: "F64", LongStorage: "I64",
  IntStorage: "I32", ShortStorage: "I16", CharStorage: "I8", ByteStorage: "U8", BoolStorage: "BOOL",
});

interface StorageRef { kind: "storage"; dtype: string; key: string; numel: number }
interface TensorRef { kind: "tensor"; storage: StorageRef; offset: number; shape: number[]; stride: number[] }

const EXPECTED = "a state dict (a dict of tensor name -> tensor, as model.state_dict() saved by torch.save)";

/** Read the tensors of a `torch.save` zip checkpoint, converted to float32. */
export function readTorchCheckpoint(file: string): CheckpointTensors {
  const zip = openZip(file);
  try {
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) throw new DataError({ file }, "one <archive>/data.pkl entry (torch.save's zip format)", pkls.length ? pkls.join(", ") : `entries ${[...zip.entries.keys()].slice(0, 5).join(", ")}`);
    const prefix = pkls[0].slice(0, -"data.pkl".length);
    const order = zip.entries.get(`${prefix}byteorder`);
    if (order && zip.read(order.name).toString("latin1").trim() !== "little") throw new DataError({ file, field: `${prefix}byteorder` }, "\"little\"", show(zip.read(order.name).toString("latin1").trim()));
    const globals = new Map<string, PickleCallable | { marker: string }>();
    globals.set("collections OrderedDict", () => new Map());
    globals.set("torch._utils _rebuild_tensor_v2", (a) => rebuildTensor(a, file));
    globals.set("torch._utils _rebuild_parameter", (a) => a[0]);
    for (const [cls, dtype] of Object.entries(STORAGE_DTYPES)) globals.set(`torch ${cls}`, { marker: dtype });
    const state = unpickle(zip.read(pkls[0]), {
      file: `${file} (${pkls[0]})`, globals, expected: EXPECTED,
      persistentLoad: (pid) => storageRef(pid, file),
    });
    if (!(state instanceof Map)) throw new DataError({ file, field: pkls[0] }, EXPECTED, describe(state));
    const storages = new Map<string, Float32Array>();
    const out: CheckpointTensors = new Map();
    for (const [name, t] of state as Map<unknown, unknown>) {
      if (typeof name !== "string") throw new DataError({ file, field: pkls[0] }, EXPECTED, `a dict with the key ${show(String(name))} (${typeof name})`);
      const ref = t as TensorRef;
      if (ref === null || typeof ref !== "object" || ref.kind !== "tensor") throw new DataError({ file, field: name }, EXPECTED, `${show(name)} -> ${describe(t)}`);
      let data = storages.get(ref.storage.key);
      if (!data) {
        const entry = `${prefix}data/${ref.storage.key}`;
        if (!zip.entries.has(entry)) throw new DataError({ file, field: name }, `its storage ${entry} in the archive`, "no such entry");
        data = decodeElements(zip.read(entry), ref.storage.dtype, ref.storage.numel, { file, field: `${name} (storage ${entry})` });
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
  } finally {
    zip.close();
  }
}

function storageRef(pid: unknown, file: string): StorageRef {
  // ('storage', <torch.XStorage>, key, location, numel)
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
