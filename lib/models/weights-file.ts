/**
 * The model directory format shared by the encoder and the decoder: `config.json`, a `weights.json`
 * manifest (name, shape, offset, length per variable) and `weights.bin` (little-endian float32).
 * `format` names the model kind, so an encoder directory is never read as a decoder.
 */
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { ConfigError, ShapeError, show } from "../core/errors";

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
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { format?: string; weights: ManifestEntry[] };
  if (manifest.format !== format) throw new ConfigError(`${manifestPath}: expected format ${show(format)}, got ${show(manifest.format)}`);
  const bytes = readFileSync(join(dir, "weights.bin"));
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out: NamedWeights = {};
  for (const m of manifest.weights) {
    if (m.offset + m.length > all.length) throw new ShapeError(`${manifestPath}: ${m.name} needs values [${m.offset}, ${m.offset + m.length}) but weights.bin holds ${all.length}`);
    out[m.name] = { shape: m.shape, values: all.slice(m.offset, m.offset + m.length) };
  }
  return out;
}
