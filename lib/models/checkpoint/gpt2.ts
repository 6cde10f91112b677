/**
 * Hugging Face GPT-2 state-dict names onto the decoder's variables (lib/models/decoder.ts):
 *   wte / wpe                                  -> embeddings/word, embeddings/position
 *   h.L.ln_1 / ln_2                            -> layerL/ln1, layerL/ln2
 *   h.L.attn.c_attn (Conv1D [H, 3H], q|k|v)    -> layerL/attn/qkv (the same layout: Conv1D stores [in, out])
 *   h.L.attn.c_proj, h.L.mlp.c_fc, mlp.c_proj  -> layerL/attn/out, layerL/ffn/in, layerL/ffn/out
 *   ln_f                                       -> final/ln
 *   lm_head.weight                             -> tied to wte (checked equal), or lm/kernel when untied
 * Names may carry the "transformer." prefix of GPT2LMHeadModel. The causal-mask buffers attn.bias /
 * attn.masked_bias of older checkpoints are skipped; any other unknown tensor, and any missing one, is an
 * error that lists them. The ranking and classification heads (rank/*, cls/*) are new: seeded values,
 * except in this project's exports, which carry them as rra_rank_head / rra_cls_head (lib/export/hf-checkpoint.ts).
 */
import { DataError } from "../../core/errors";
import { decoderVariableShapes, type DecoderConfig } from "../decoder";
import type { CheckpointTensor, CheckpointTensors } from "./tensors";
import type { MappedWeights } from "./bert";
import type { NamedWeights } from "../weights-file";

/** Map a GPT-2 state dict onto a decoder with config `c` (from hf-config.ts gpt2DecoderConfig). */
export function mapGpt2Tensors(tensors: CheckpointTensors, c: Readonly<DecoderConfig>, file: string): MappedWeights {
  const prefix = [...tensors.keys()].some((k) => k.startsWith("transformer.")) ? "transformer." : "";
  const shapes = new Map(decoderVariableShapes(c).map(([n, s]) => [n, s]));
  const used = new Set<string>();
  const missing: string[] = [];
  const weights: NamedWeights = {};
  const get = (name: string): CheckpointTensor | undefined => {
    const t = tensors.get(prefix + name);
    if (t) used.add(prefix + name);
    else missing.push(prefix + name);
    return t;
  };
  const copy = (ours: string, theirs: string, why: string): void => {
    const t = get(theirs);
    if (!t) return;
    const want = shapes.get(ours) as number[];
    if (t.shape.join(",") !== want.join(",")) throw new DataError({ file, field: prefix + theirs }, `shape [${want.join(", ")}] (${why})`, `[${t.shape.join(", ")}]`);
    weights[ours] = { shape: want.slice(), values: t.values };
  };
  const conv = (ours: string, theirs: string, why: string): void => {
    copy(`${ours}/kernel`, `${theirs}.weight`, `Conv1D [in, out]: ${why}`);
    copy(`${ours}/bias`, `${theirs}.bias`, why);
  };
  const ln = (ours: string, theirs: string): void => {
    copy(`${ours}/gamma`, `${theirs}.weight`, "n_embd");
    copy(`${ours}/beta`, `${theirs}.bias`, "n_embd");
  };
  copy("embeddings/word", "wte.weight", "vocab_size x n_embd");
  copy("embeddings/position", "wpe.weight", "n_positions x n_embd");
  for (let l = 0; l < c.numLayers; l++) {
    const p = `h.${l}.`, o = `layer${l}`;
    ln(`${o}/ln1`, `${p}ln_1`);
    conv(`${o}/attn/qkv`, `${p}attn.c_attn`, "n_embd x 3 n_embd");
    conv(`${o}/attn/out`, `${p}attn.c_proj`, "n_embd x n_embd");
    ln(`${o}/ln2`, `${p}ln_2`);
    conv(`${o}/ffn/in`, `${p}mlp.c_fc`, "n_embd x n_inner");
    conv(`${o}/ffn/out`, `${p}mlp.c_proj`, "n_inner x n_embd");
  }
  ln("final/ln", "ln_f");
  const warnings: string[] = [];
  const head = tensors.get("lm_head.weight");
  if (head) used.add("lm_head.weight");
  if (c.tieEmbeddings) {
    const wte = weights["embeddings/word"];
    if (head && wte && (head.values.length !== wte.values.length || head.values.some((x, i) => x !== wte.values[i]))) {
      throw new DataError({ file, field: "lm_head.weight" }, "the same values as wte.weight (config.json tie_word_embeddings is true)", "different values");
    }
  } else if (!head) {
    missing.push("lm_head.weight");
  } else {
    const V = c.vocabSize, H = c.hiddenSize;
    if (head.shape.join(",") !== `${V},${H}`) throw new DataError({ file, field: "lm_head.weight" }, `shape [${V}, ${H}]`, `[${head.shape.join(", ")}]`);
    const k = new Float32Array(H * V);
    for (let v = 0; v < V; v++) for (let h = 0; h < H; h++) k[h * V + v] = head.values[v * H + h];
    weights["lm/kernel"] = { shape: [H, V], values: k };
  }
  // this project's exports (lib/export/hf-checkpoint.ts) carry the ranking and classification heads
  for (const [ours, theirs] of [["rank", "rra_rank_head"], ["cls", "rra_cls_head"]]) {
    const w = tensors.get(`${theirs}.weight`), b = tensors.get(`${theirs}.bias`);
    if (!w && !b) continue;
    if (!w || !b) throw new DataError({ file, field: `${theirs}.${w ? "bias" : "weight"}` }, `both ${theirs}.weight and ${theirs}.bias`, "only one of them");
    if (w.shape.join(",") !== `1,${c.hiddenSize}`) throw new DataError({ file, field: `${theirs}.weight` }, `shape [1, ${c.hiddenSize}]`, `[${w.shape.join(", ")}]`);
    if (b.shape.join(",") !== "1") throw new DataError({ file, field: `${theirs}.bias` }, "shape [1]", `[${b.shape.join(", ")}]`);
    used.add(`${theirs}.weight`);
    used.add(`${theirs}.bias`);
    weights[`${ours}/kernel`] = { shape: [c.hiddenSize, 1], values: w.values };
    weights[`${ours}/bias`] = { shape: [1], values: b.values };
  }
  if (missing.length) throw new DataError({ file, field: "tensors" }, `every tensor of a ${c.numLayers}-layer GPT-2`, `${missing.length} missing: ${missing.slice(0, 12).join(", ")}${missing.length > 12 ? `, ... (${missing.length - 12} more)` : ""}`);
  const unknown = [...tensors.keys()].filter((n) => !used.has(n) && !/^(transformer\.)?h\.\d+\.attn\.(bias|masked_bias)$/.test(n));
  if (unknown.length) throw new DataError({ file, field: "tensors" }, `only the tensors of a GPT-2 (${c.numLayers} layers, config.json n_layer)`, `${unknown.length} unknown: ${unknown.slice(0, 12).join(", ")}${unknown.length > 12 ? `, ... (${unknown.length - 12} more)` : ""}`);
  const fresh = [...shapes.keys()].filter((n) => !(n in weights));
  return { weights, fresh, warnings };
}
