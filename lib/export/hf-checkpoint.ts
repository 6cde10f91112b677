/**
 * The Hugging Face view of an exported student: `model.safetensors` with Hugging Face parameter names
 * and the Hugging Face fields of `config.json`. The names are those lib/models/checkpoint/bert.ts and
 * gpt2.ts read, so an export reads back with loadPretrainedEncoder / loadPretrainedDecoder (a round trip).
 *
 * RRA-BERT (BertForSequenceClassification names, one label):
 *   embeddings/word, position, segment, ln     -> bert.embeddings.{word,position,token_type}_embeddings, LayerNorm
 *   layerL/attn/qkv (fused [H, 3H])            -> bert.encoder.layer.L.attention.self.{query,key,value} ([out, in])
 *   layerL/attn/out, ln1, ffn/in, ffn/out, ln2 -> attention.output.dense, attention.output.LayerNorm,
 *                                                 intermediate.dense, output.dense, output.LayerNorm
 *   pooler, head                               -> bert.pooler.dense, classifier
 *   project extensions: final/ln (pre-LN only) -> bert.encoder.LayerNorm; embeddings/match -> bert.embeddings.match_embeddings
 * model_type is "bert" only when the student computes exactly what transformers' BERT computes with these
 * tensors: post-LN and no separate match embedding (a student warm-started from a BERT checkpoint). The
 * project's own presets are pre-LN: the same names would load silently into BertModel and compute
 * something else, so those exports say model_type "rra-bert" (transformers refuses an unknown type
 * instead of scoring wrongly; this project's loader reads it, with `layer_norm_position`).
 *
 * RRA-GPT (GPT2Model names; model_type "gpt2": pre-LN, learned positions, Conv1D [in, out] layout, tanh GELU):
 *   embeddings/word, position -> transformer.wte, wpe; layerL/ln1, attn/qkv, attn/out, ln2, ffn/in, ffn/out
 *   -> transformer.h.L.ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj; final/ln -> transformer.ln_f;
 *   untied lm/kernel -> lm_head.weight. The ranking layer and the classification head are project
 *   extensions: rra_rank_head, rra_cls_head (transformers loads GPT2Model and ignores them with a warning;
 *   the score is rra_rank_head(last_hidden_state at the last real token)). The LM head's bias, a training
 *   head of the rationale loss, has no place in GPT-2 and is not written.
 */
import { ConfigError, show } from "../core/errors";
import type { DecoderConfig } from "../models/decoder";
import type { EncoderConfig } from "../models/presets";
import type { NamedWeights } from "../models/weights-file";
import type { TensorToWrite } from "../models/checkpoint/safetensors-write";

/** model_type of an exported RRA-BERT that transformers' BERT would not compute exactly. */
export const RRA_BERT_MODEL_TYPE = "rra-bert";

function need(w: NamedWeights, name: string): { shape: number[]; values: Float32Array } {
  const t = w[name];
  if (!t) throw new ConfigError(`export: weight ${show(name)} is missing from the model`);
  return t;
}

/** [rows, cols] -> [cols, rows] (our [in, out] kernels <-> nn.Linear's [out, in]). */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** Whether transformers' BertModel computes this encoder exactly (see the module comment). */
export function isPlainBert(c: Readonly<EncoderConfig>): boolean {
  return c.layerNorm === "post" && (c.matchVocabSize ?? 0) === 0;
}

/** RRA-BERT's weights under BertForSequenceClassification names (module comment), in a stable order. */
export function bertHfTensors(c: Readonly<EncoderConfig>, w: NamedWeights): TensorToWrite[] {
  const H = c.hiddenSize;
  const out: TensorToWrite[] = [];
  const copy = (ours: string, theirs: string): void => {
    const t = need(w, ours);
    out.push({ name: theirs, shape: t.shape.slice(), values: t.values });
  };
  const linear = (ours: string, theirs: string): void => {
    const k = need(w, `${ours}/kernel`), b = need(w, `${ours}/bias`);
    const [nIn, nOut] = k.shape;
    out.push({ name: `${theirs}.weight`, shape: [nOut, nIn], values: transpose(k.values, nIn, nOut) }, { name: `${theirs}.bias`, shape: [nOut], values: b.values });
  };
  const ln = (ours: string, theirs: string): void => {
    copy(`${ours}/gamma`, `${theirs}.weight`);
    copy(`${ours}/beta`, `${theirs}.bias`);
  };
  copy("embeddings/word", "bert.embeddings.word_embeddings.weight");
  copy("embeddings/position", "bert.embeddings.position_embeddings.weight");
  copy("embeddings/segment", "bert.embeddings.token_type_embeddings.weight");
  if ((c.matchVocabSize ?? 0) > 0) copy("embeddings/match", "bert.embeddings.match_embeddings.weight");
  ln("embeddings/ln", "bert.embeddings.LayerNorm");
  for (let l = 0; l < c.numLayers; l++) {
    const o = `layer${l}`, p = `bert.encoder.layer.${l}.`;
    const qkv = need(w, `${o}/attn/qkv/kernel`), bias = need(w, `${o}/attn/qkv/bias`);
    ["query", "key", "value"].forEach((n, j) => {
      // the fused kernel's row i holds (Wq[:, i], Wk[:, i], Wv[:, i]); nn.Linear weight [out, in]
      const m = new Float32Array(H * H);
      for (let r = 0; r < H; r++) for (let i = 0; i < H; i++) m[r * H + i] = qkv.values[i * 3 * H + j * H + r];
      out.push({ name: `${p}attention.self.${n}.weight`, shape: [H, H], values: m }, { name: `${p}attention.self.${n}.bias`, shape: [H], values: bias.values.slice(j * H, (j + 1) * H) });
    });
    linear(`${o}/attn/out`, `${p}attention.output.dense`);
    ln(`${o}/ln1`, `${p}attention.output.LayerNorm`);
    linear(`${o}/ffn/in`, `${p}intermediate.dense`);
    linear(`${o}/ffn/out`, `${p}output.dense`);
    ln(`${o}/ln2`, `${p}output.LayerNorm`);
  }
  if (c.layerNorm === "pre") ln("final/ln", "bert.encoder.LayerNorm");
  linear("pooler", "bert.pooler.dense");
  linear("head", "classifier");
  return out;
}

/** RRA-GPT's weights under GPT2Model names plus the project's heads (module comment). */
export function gptHfTensors(c: Readonly<DecoderConfig>, w: NamedWeights): TensorToWrite[] {
  const out: TensorToWrite[] = [];
  const copy = (ours: string, theirs: string): void => {
    const t = need(w, ours);
    out.push({ name: theirs, shape: t.shape.slice(), values: t.values });
  };
  const conv = (ours: string, theirs: string): void => {
    copy(`${ours}/kernel`, `${theirs}.weight`); // Conv1D stores [in, out], as our kernels
    copy(`${ours}/bias`, `${theirs}.bias`);
  };
  const ln = (ours: string, theirs: string): void => {
    copy(`${ours}/gamma`, `${theirs}.weight`);
    copy(`${ours}/beta`, `${theirs}.bias`);
  };
  copy("embeddings/word", "transformer.wte.weight");
  copy("embeddings/position", "transformer.wpe.weight");
  for (let l = 0; l < c.numLayers; l++) {
    const o = `layer${l}`, p = `transformer.h.${l}.`;
    ln(`${o}/ln1`, `${p}ln_1`);
    conv(`${o}/attn/qkv`, `${p}attn.c_attn`);
    conv(`${o}/attn/out`, `${p}attn.c_proj`);
    ln(`${o}/ln2`, `${p}ln_2`);
    conv(`${o}/ffn/in`, `${p}mlp.c_fc`);
    conv(`${o}/ffn/out`, `${p}mlp.c_proj`);
  }
  ln("final/ln", "transformer.ln_f");
  if (!c.tieEmbeddings) {
    const k = need(w, "lm/kernel");
    out.push({ name: "lm_head.weight", shape: [c.vocabSize, c.hiddenSize], values: transpose(k.values, c.hiddenSize, c.vocabSize) });
  }
  for (const [ours, theirs] of [["rank", "rra_rank_head"], ["cls", "rra_cls_head"]]) {
    const k = need(w, `${ours}/kernel`), b = need(w, `${ours}/bias`);
    out.push({ name: `${theirs}.weight`, shape: [1, c.hiddenSize], values: k.values.slice() }, { name: `${theirs}.bias`, shape: [1], values: b.values });
  }
  return out;
}

/** The special token ids the configs name. */
export interface SpecialIds { pad: number; cls: number; sep: number }

/** Hugging Face config.json fields of an RRA-BERT export (module comment: model_type). */
export function bertHfConfig(c: Readonly<EncoderConfig>, ids: SpecialIds): Record<string, unknown> {
  const plain = isPlainBert(c);
  return {
    model_type: plain ? "bert" : RRA_BERT_MODEL_TYPE,
    architectures: [plain ? "BertForSequenceClassification" : "RraBertForRanking"],
    vocab_size: c.vocabSize, hidden_size: c.hiddenSize, num_hidden_layers: c.numLayers, num_attention_heads: c.numHeads,
    intermediate_size: c.ffnSize, max_position_embeddings: c.maxLen, type_vocab_size: c.typeVocabSize,
    hidden_act: c.hiddenAct === "gelu_erf" ? "gelu" : "gelu_pytorch_tanh", layer_norm_eps: c.layerNormEps,
    hidden_dropout_prob: c.dropout, attention_probs_dropout_prob: c.dropout, initializer_range: c.initStd,
    position_embedding_type: "absolute", pad_token_id: ids.pad, num_labels: 1, id2label: { 0: "LABEL_0" }, label2id: { LABEL_0: 0 },
    // project fields (this project's checkpoint loader reads them; transformers keeps them as attributes)
    layer_norm_position: c.layerNorm, match_vocab_size: c.matchVocabSize ?? 0,
  };
}

/** Hugging Face config.json fields of an RRA-GPT export (GPT-2). */
export function gptHfConfig(c: Readonly<DecoderConfig>, ids: SpecialIds): Record<string, unknown> {
  return {
    model_type: "gpt2", architectures: ["GPT2Model"],
    vocab_size: c.vocabSize, n_embd: c.hiddenSize, n_layer: c.numLayers, n_head: c.numHeads, n_inner: c.ffnSize, n_positions: c.maxLen, n_ctx: c.maxLen,
    activation_function: c.hiddenAct === "gelu_erf" ? "gelu" : "gelu_new", layer_norm_epsilon: c.layerNormEps,
    resid_pdrop: c.dropout, embd_pdrop: c.dropout, attn_pdrop: c.dropout, initializer_range: c.initStd,
    scale_attn_weights: true, tie_word_embeddings: c.tieEmbeddings,
    bos_token_id: ids.cls, eos_token_id: ids.sep, pad_token_id: ids.pad,
  };
}
