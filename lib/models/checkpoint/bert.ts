/**
 * Hugging Face BERT state-dict names onto the encoder's variables (lib/models/encoder.ts):
 *   embeddings.word_embeddings / position_embeddings / token_type_embeddings   -> embeddings/word, position, segment
 *   embeddings.LayerNorm                                                       -> embeddings/ln
 *   encoder.layer.L.attention.self.{query,key,value} (nn.Linear [out, in])     -> layerL/attn/qkv (fused, [H, 3H], q|k|v)
 *   encoder.layer.L.attention.output.dense / .LayerNorm                        -> layerL/attn/out, layerL/ln1
 *   encoder.layer.L.intermediate.dense / output.dense / output.LayerNorm       -> layerL/ffn/in, ffn/out, ln2
 *   pooler.dense                                                               -> pooler
 *   classifier (BertForSequenceClassification, one label)                      -> head
 * nn.Linear weights are transposed to our [in, out] kernels. Names may carry the "bert." prefix of the
 * task models; LayerNorm parameters may be named gamma/beta (checkpoints converted from TensorFlow).
 * Tensors the encoder has no place for are an error that lists them, except buffers (position_ids) and
 * heads the student replaces (pre-training heads cls.*, a classifier when `head: "new"` or with more
 * than one label), which are warnings. Missing tensors are an error that lists them, except the pooler
 * and classifier, which then keep their seeded initial values (warning).
 * This project's exports (model_type "rra-bert", lib/export/hf-checkpoint.ts) add two tensors:
 * encoder.LayerNorm (the final LayerNorm of a pre-LN encoder) and embeddings.match_embeddings.
 */
import { DataError } from "../../core/errors";
import { encoderVariableShapes } from "../encoder";
import type { EncoderConfig } from "../presets";
import type { NamedWeights } from "../weights-file";
import type { CheckpointTensor, CheckpointTensors } from "./tensors";

/** What a mapping produced. */
export interface MappedWeights {
  /** Our variables that the checkpoint provides (a subset when the head is new). */
  weights: NamedWeights;
  /** Our variables that keep their seeded initial values (new heads, the match embedding). */
  fresh: string[];
  /** Checkpoint tensors that were not used, with the reason (heads, buffers). */
  warnings: string[];
}

/** Options of mapBertTensors. */
export interface BertMapOptions {
  /** "checkpoint": use a one-label classifier as the score head when there is one (default); "new": always a fresh head. */
  head?: "checkpoint" | "new";
}

function transpose(t: CheckpointTensor): Float32Array {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.values[r * cols + c];
  return out;
}

/** Map a BERT state dict onto an encoder with config `c` (from hf-config.ts bertEncoderConfig). */
export function mapBertTensors(tensors: CheckpointTensors, c: Readonly<EncoderConfig>, file: string, options: BertMapOptions = {}): MappedWeights {
  const prefix = [...tensors.keys()].some((k) => k.startsWith("bert.embeddings.")) ? "bert." : "";
  const used = new Set<string>();
  const missing: string[] = [];
  const shapes = new Map(encoderVariableShapes(c).map(([n, s]) => [n, s]));
  const H = c.hiddenSize;
  // Checkpoint name (without prefix; LayerNorm weight/bias or gamma/beta) -> tensor, recording use.
  const get = (name: string, required = true): CheckpointTensor | undefined => {
    const alts = [name, name.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta")];
    for (const a of alts) {
      for (const full of [prefix + a, a]) {
        const t = tensors.get(full);
        if (t) { used.add(full); return t; }
      }
    }
    if (required) missing.push(prefix + name);
    return undefined;
  };
  const shapeError = (name: string, t: CheckpointTensor, want: number[], why: string): never => {
    throw new DataError({ file, field: name }, `shape [${want.join(", ")}] (${why})`, `[${t.shape.join(", ")}]`);
  };
  const weights: NamedWeights = {};
  const put = (ours: string, values: Float32Array): void => {
    weights[ours] = { shape: (shapes.get(ours) as number[]).slice(), values };
  };
  const copy = (ours: string, theirs: string, why: string, required = true): boolean => {
    const t = get(theirs, required);
    if (!t) return false;
    const want = shapes.get(ours) as number[];
    if (t.shape.join(",") !== want.join(",")) shapeError(prefix + theirs, t, want, why);
    put(ours, t.values);
    return true;
  };
  const linear = (ours: string, theirs: string, nOut: number, nIn: number, required = true): boolean => {
    const w = get(`${theirs}.weight`, required), b = get(`${theirs}.bias`, required);
    if (!w || !b) return false;
    if (w.shape.join(",") !== `${nOut},${nIn}`) shapeError(`${prefix}${theirs}.weight`, w, [nOut, nIn], "nn.Linear [out, in] from config.json");
    if (b.shape.join(",") !== `${nOut}`) shapeError(`${prefix}${theirs}.bias`, b, [nOut], "config.json");
    put(`${ours}/kernel`, transpose(w));
    put(`${ours}/bias`, b.values);
    return true;
  };
  const ln = (ours: string, theirs: string): void => {
    copy(`${ours}/gamma`, `${theirs}.weight`, "hidden_size");
    copy(`${ours}/beta`, `${theirs}.bias`, "hidden_size");
  };
  copy("embeddings/word", "embeddings.word_embeddings.weight", "vocab_size x hidden_size");
  copy("embeddings/position", "embeddings.position_embeddings.weight", "max_position_embeddings x hidden_size");
  copy("embeddings/segment", "embeddings.token_type_embeddings.weight", "type_vocab_size x hidden_size");
  ln("embeddings/ln", "embeddings.LayerNorm");
  for (let l = 0; l < c.numLayers; l++) {
    const p = `encoder.layer.${l}.`, o = `layer${l}`;
    const q = get(`${p}attention.self.query.weight`), k = get(`${p}attention.self.key.weight`), v = get(`${p}attention.self.value.weight`);
    const qb = get(`${p}attention.self.query.bias`), kb = get(`${p}attention.self.key.bias`), vb = get(`${p}attention.self.value.bias`);
    if (q && k && v && qb && kb && vb) {
      for (const [t, n] of [[q, "query"], [k, "key"], [v, "value"]] as const) if (t.shape.join(",") !== `${H},${H}`) shapeError(`${prefix}${p}attention.self.${n}.weight`, t, [H, H], "hidden_size x hidden_size");
      for (const [t, n] of [[qb, "query"], [kb, "key"], [vb, "value"]] as const) if (t.shape.join(",") !== `${H}`) shapeError(`${prefix}${p}attention.self.${n}.bias`, t, [H], "hidden_size");
      // fused kernel [H, 3H]: row i = (Wq[:, i], Wk[:, i], Wv[:, i])
      const kernel = new Float32Array(H * 3 * H);
      [q, k, v].forEach((t, j) => {
        for (let r = 0; r < H; r++) for (let i = 0; i < H; i++) kernel[i * 3 * H + j * H + r] = t.values[r * H + i];
      });
      const bias = new Float32Array(3 * H);
      [qb, kb, vb].forEach((t, j) => bias.set(t.values, j * H));
      put(`${o}/attn/qkv/kernel`, kernel);
      put(`${o}/attn/qkv/bias`, bias);
    }
    linear(`${o}/attn/out`, `${p}attention.output.dense`, H, H);
    ln(`${o}/ln1`, `${p}attention.output.LayerNorm`);
    linear(`${o}/ffn/in`, `${p}intermediate.dense`, c.ffnSize, H);
    linear(`${o}/ffn/out`, `${p}output.dense`, H, c.ffnSize);
    ln(`${o}/ln2`, `${p}output.LayerNorm`);
  }
  // this project's exports (lib/export/hf-checkpoint.ts): the final LayerNorm of a pre-LN encoder
  if (c.layerNorm === "pre") ln("final/ln", "encoder.LayerNorm");
  const warnings: string[] = [];
  const fresh: string[] = [];
  if (!linear("pooler", "pooler.dense", H, H, false)) {
    fresh.push("pooler/kernel", "pooler/bias");
    warnings.push(`${file}: no pooler.dense in the checkpoint; the pooler starts from seeded random values`);
  }
  const cw = tensors.get("classifier.weight"), cb = tensors.get("classifier.bias");
  if (cw && cb && options.head !== "new" && cw.shape.join(",") === `1,${H}`) {
    linear("head", "classifier", 1, H);
  } else {
    fresh.push("head/kernel", "head/bias");
    if (cw) {
      used.add("classifier.weight");
      if (cb) used.add("classifier.bias");
      warnings.push(`${file}: classifier [${cw.shape.join(", ")}] is not used (${options.head === "new" ? "head: new" : `${cw.shape[0]} labels, the score head has one`}); the student gets a new score head`);
    }
  }
  // the match embedding: zero-initialised for a checkpoint, read back from this project's exports
  if ((c.matchVocabSize ?? 0) > 0 && !copy("embeddings/match", "embeddings.match_embeddings.weight", "match_vocab_size x hidden_size", false)) fresh.push("embeddings/match");
  if (missing.length) {
    throw new DataError({ file, field: "tensors" }, `every tensor of a ${c.numLayers}-layer BERT`, `${missing.length} missing: ${missing.slice(0, 12).join(", ")}${missing.length > 12 ? `, ... (${missing.length - 12} more)` : ""}`);
  }
  const ignorable = (n: string): string | undefined => {
    if (/(^|\.)embeddings\.position_ids$/.test(n)) return "buffer";
    if (/^cls\.(predictions|seq_relationship)\./.test(n)) return "pre-training head";
    return undefined;
  };
  const unknown: string[] = [];
  const heads: string[] = [];
  for (const n of tensors.keys()) {
    if (used.has(n)) continue;
    const why = ignorable(n);
    if (why === "pre-training head") heads.push(n);
    else if (!why) unknown.push(n);
  }
  if (unknown.length) {
    throw new DataError({ file, field: "tensors" }, `only the tensors of a BERT encoder (${c.numLayers} layers, config.json num_hidden_layers)`, `${unknown.length} unknown: ${unknown.slice(0, 12).join(", ")}${unknown.length > 12 ? `, ... (${unknown.length - 12} more)` : ""}`);
  }
  if (heads.length) warnings.push(`${file}: ${heads.length} pre-training head tensor(s) not used (${heads.slice(0, 3).join(", ")}${heads.length > 3 ? ", ..." : ""})`);
  return { weights, fresh, warnings };
}
