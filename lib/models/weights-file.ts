/**
 * The model directory format shared by the encoder and the decoder: `config.json`, a `weights.json`
 * manifest (name, shape, offset, length per variable) and `weights.bin` (little-endian float32).
 * `format` names the model kind, so an encoder directory is never read as a decoder.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { ConfigError, DataError, ShapeError, show } from "../core/errors";
import { readFileBytes, readJsonObject } from "../data/text-file";

/** Weights by variable name, as plain arrays. */
export type NamedWeights = Record<string, { shape: number[]; values: Float32Array }>;

interface ManifestEntry { name: string; shape: number[]; offset: number; length: number }

/** Write config.json, weights.json and weights.bin; variables in `order` (the model's creation order). */
export function writeWeightsDir(dir: string, format: string, config: unknown, weights: NamedWeights, order: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  const manifest: ManifestEntry[] = [];
  let offset = 0;
  for (const name of order) {
    manifest.push({ name, shape: weights[name].shape, offset, length: weights[name].values.length });
    offset += weights[name].values.length;
  }
  const all = new Float32Array(offset);
  for (const m of manifest) all.set(weights[m.name].values, m.offset);
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2) + "\n");
  writeFileSync(join(dir, "weights.json"), JSON.stringify({ format, dtype: "float32", byteOrder: "little-endian", file: "weights.bin", weights: manifest }, null, 2) + "\n");
  writeFileSync(join(dir, "weights.bin"), Buffer.from(all.buffer, all.byteOffset, all.byteLength));
}

/** Read the weights of a model directory, checking its format and that every range fits weights.bin. */
export function readWeightsDir(dir: string, format: string): NamedWeights {
  const manifestPath = join(dir, "weights.json");
  const manifest = readJsonObject(manifestPath, "weights manifest") as { format?: string; weights: ManifestEntry[] };
  if (manifest.format !== format) throw new ConfigError(`${manifestPath}: expected format ${show(format)}, got ${show(manifest.format)}`);
  if (!Array.isArray(manifest.weights)) throw new DataError({ file: manifestPath, field: "weights" }, "an array of {name, shape, offset, length}", show(manifest.weights));
  const binFile = join(dir, "weights.bin");
  const bytes = readFileBytes(binFile, "weights");
  if (bytes.byteLength % 4 !== 0) throw new DataError({ file: binFile }, "little-endian float32 values (a multiple of 4 bytes)", `${bytes.byteLength} bytes (a truncated file?)`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out: NamedWeights = {};
  for (const m of manifest.weights) {
    if (m.offset + m.length > all.length) throw new ShapeError(`${manifestPath}: ${m.name} needs values [${m.offset}, ${m.offset + m.length}) but weights.bin holds ${all.length}`);
    out[m.name] = { shape: m.shape, values: all.slice(m.offset, m.offset + m.length) };
  }
  return out;
}

/** Copy every variable of a model into plain arrays. */
export function variablesToWeights(vars: ReadonlyMap<string, tf.Variable>): NamedWeights {
  const out: NamedWeights = {};
  for (const [name, variable] of vars) out[name] = { shape: variable.shape.slice(), values: Float32Array.from(variable.dataSync() as Float32Array) };
  return out;
}

/**
 * Assign plain-array weights to a model's variables after checking them all (names, shapes, sizes),
 * so a bad set changes nothing. `partial` allows a subset (warm starts); `where` names the model in errors.
 */
export function assignWeights(vars: ReadonlyMap<string, tf.Variable>, weights: NamedWeights, where: string, options: { partial?: boolean } = {}): void {
  const names = Object.keys(weights);
  const unknown = names.filter((n) => !vars.has(n));
  if (unknown.length) throw new ShapeError(`${where}.setWeights: unknown weight name(s) ${unknown.slice(0, 5).map((n) => show(n)).join(", ")}`);
  if (!options.partial) {
    const missing = [...vars.keys()].filter((n) => !(n in weights));
    if (missing.length) throw new ShapeError(`${where}.setWeights: missing weight(s) ${missing.slice(0, 5).map((n) => show(n)).join(", ")}`);
  }
  for (const name of names) {
    const w = weights[name], variable = vars.get(name) as tf.Variable;
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (w.shape.join(",") !== variable.shape.join(",") || w.values.length !== size) {
      throw new ShapeError(`${where}.setWeights: ${name} has shape [${w.shape}] (${w.values.length} values), expected [${variable.shape}]`);
    }
  }
  for (const name of names) tf.tidy(() => (vars.get(name) as tf.Variable).assign(tf.tensor(weights[name].values, weights[name].shape, "float32")));
}
