/**
 * The weight files of a Hugging Face model folder, in the order transformers prefers them:
 * model.safetensors, model.safetensors.index.json (shards), pytorch_model.bin,
 * pytorch_model.bin.index.json (shards). Also the folder's fingerprint (name, size, sha256 of every
 * file that defines the model) for records of where a student started from.
 */
import { createHash } from "crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from "fs";
import { basename, dirname, join } from "path";
import { DataError, show } from "../../core/errors";
import { readSafetensors, readShardedSafetensors } from "./safetensors";
import { readTorchCheckpoint } from "./torch-zip";
import type { CheckpointTensors } from "./tensors";

/** The weight file names, most preferred first. */
export const WEIGHT_FILES: readonly string[] = ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

/** Which weight file of `dir` is read (its path), or a DataError listing what was looked for. */
export function findWeightFile(dir: string): string {
  for (const f of WEIGHT_FILES) if (existsSync(join(dir, f))) return join(dir, f);
  const present = existsSync(dir) ? readdirSync(dir).slice(0, 12).join(", ") : "no such folder";
  throw new DataError({ file: dir }, `one of ${WEIGHT_FILES.join(", ")}`, present || "an empty folder", "TensorFlow (tf_model.h5), Flax and ONNX weights are not read; rra pull fetches the PyTorch or safetensors weights");
}

/** Read every tensor of a model folder's weights (float32), from the file findWeightFile picks. */
export function readCheckpointTensors(dir: string): { file: string; tensors: CheckpointTensors } {
  const file = findWeightFile(dir);
  const name = basename(file);
  if (name === "model.safetensors") return { file, tensors: readSafetensors(file) };
  if (name === "model.safetensors.index.json") return { file, tensors: readShardedSafetensors(file) };
  if (name === "pytorch_model.bin") return { file, tensors: readTorchCheckpoint(file) };
  // sharded PyTorch checkpoint: the same index format as safetensors'
  let index: { weight_map?: Record<string, unknown> };
  try {
    index = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError({ file }, "a JSON index {metadata, weight_map}", `unparsable JSON (${(e as Error).message})`);
  }
  const shards = new Set(Object.values(index.weight_map ?? {}).map(String));
  if (shards.size === 0) throw new DataError({ file, field: "weight_map" }, "at least one shard", show(index.weight_map));
  const tensors: CheckpointTensors = new Map();
  for (const s of shards) for (const [n, t] of readTorchCheckpoint(join(dirname(file), s))) tensors.set(n, t);
  return { file, tensors };
}

/** One file of a fingerprint. */
export interface FingerprintFile { name: string; bytes: number; sha256: string }

function sha256File(file: string): string {
  const h = createHash("sha256");
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/**
 * Name, size and sha256 of every file of the folder that defines the model (config, weights and shards,
 * tokenizer files), sorted by name; symlinks (the Hugging Face cache's snapshots) are followed.
 */
export function checkpointFingerprint(dir: string): FingerprintFile[] {
  const wanted = /^(config\.json|model(-\d+-of-\d+)?\.safetensors(\.index\.json)?|pytorch_model(-\d+-of-\d+)?\.bin(\.index\.json)?|vocab\.(txt|json)|merges\.txt|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json)$/;
  return readdirSync(dir).filter((n) => wanted.test(n)).sort().map((name) => {
    const real = realpathSync(join(dir, name));
    return { name, bytes: statSync(real).size, sha256: sha256File(real) };
  });
}
