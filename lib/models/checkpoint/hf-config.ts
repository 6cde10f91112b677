/**
 * A Hugging Face model folder's `config.json`, read into this project's encoder and decoder
 * configurations (lib/models/presets.ts, decoder.ts). Only what the encoder and decoder compute exactly
 * is accepted: BERT (model_type "bert": post-LN, absolute positions, GELU) and GPT-2 (model_type
 * "gpt2"); anything else is refused with a DataError naming the field, rather than loaded approximately.
 */
import { readFileSync, existsSync } from "fs";
import { join } from "path";
import { DataError, show } from "../../core/errors";
import type { DecoderConfig } from "../decoder";
import { resolveDecoderConfig } from "../decoder";
import { resolveEncoderConfig, type EncoderConfig, type HiddenAct } from "../presets";

/** A parsed config.json. */
export interface HfConfig {
  file: string;
  /** "rra-bert": an RRA-BERT exported by this project (lib/export/hf-checkpoint.ts), read as BERT with `layer_norm_position`. */
  modelType: "bert" | "gpt2" | "rra-bert";
  /** `architectures` (e.g. ["BertForSequenceClassification"]), [] when absent. */
  architectures: string[];
  raw: Readonly<Record<string, unknown>>;
}

/** Read `<dir>/config.json` and check its model_type. */
export function readHfConfig(dir: string): HfConfig {
  const file = join(dir, "config.json");
  if (!existsSync(file)) throw new DataError({ file }, "a Hugging Face config.json", "no such file", `${dir} is not a Hugging Face model folder (rra pull ORG/NAME downloads one)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError({ file }, "a JSON object", `unparsable JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new DataError({ file }, "a JSON object", show(raw));
  const r = raw as Record<string, unknown>;
  if (r.model_type !== "bert" && r.model_type !== "gpt2" && r.model_type !== "rra-bert") {
    throw new DataError({ file, field: "model_type" }, "\"bert\" or \"gpt2\" (the architectures this workbench computes exactly), or \"rra-bert\" (this workbench's export)", show(r.model_type));
  }
  const architectures = Array.isArray(r.architectures) ? r.architectures.map(String) : [];
  return { file, modelType: r.model_type, architectures, raw: Object.freeze({ ...r }) };
}

function int(c: HfConfig, key: string, fallback?: number): number {
  const v = c.raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new DataError({ file: c.file, field: key }, "a positive integer", show(v));
  return v;
}

function num(c: HfConfig, key: string, fallback: number): number {
  const v = c.raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new DataError({ file: c.file, field: key }, "a non-negative number", show(v));
  return v;
}

/** Our activation for a Hugging Face hidden_act / activation_function. */
export function hiddenActOf(c: HfConfig, key: string, fallback: string): HiddenAct {
  const v = c.raw[key] ?? fallback;
  if (v === "gelu") return "gelu_erf";
  if (v === "gelu_new" || v === "gelu_pytorch_tanh" || v === "gelu_fast") return "gelu_tanh";
  throw new DataError({ file: c.file, field: key }, "\"gelu\" (erf) or \"gelu_new\" / \"gelu_pytorch_tanh\" / \"gelu_fast\" (tanh)", show(v));
}

function refuse(c: HfConfig, key: string, allowed: unknown, what: string): void {
  const v = c.raw[key];
  if (v !== undefined && v !== null && v !== allowed) throw new DataError({ file: c.file, field: key }, `${show(allowed)} (${what})`, show(v));
}

/** Options that the checkpoint does not fix. */
export interface PretrainedConfigOptions {
  /** Seed of the variables the checkpoint does not provide (a new score head). Default 0. */
  seed?: number;
  /** Dropout; default the checkpoint's hidden_dropout_prob / resid_pdrop. */
  dropout?: number;
  /** Rows of the zero-initialised match embedding (presets.ts); default 0 (none). */
  matchVocabSize?: number;
}

/**
 * EncoderConfig of a BERT config.json: post-LN, its GELU form, eps, sizes, positions and token types.
 * An "rra-bert" export also gives `layer_norm_position` ("pre" / "post") and `match_vocab_size`.
 */
export function bertEncoderConfig(c: HfConfig, options: PretrainedConfigOptions = {}): Readonly<EncoderConfig> {
  if (c.modelType !== "bert" && c.modelType !== "rra-bert") throw new DataError({ file: c.file, field: "model_type" }, "\"bert\" or \"rra-bert\"", show(c.modelType));
  const position = c.raw.layer_norm_position ?? "post";
  if (position !== "post" && (c.modelType !== "rra-bert" || position !== "pre")) throw new DataError({ file: c.file, field: "layer_norm_position" }, c.modelType === "bert" ? "\"post\" (BERT; pre-LN exports say model_type \"rra-bert\")" : "\"pre\" or \"post\"", show(position));
  const matchRows = c.raw.match_vocab_size ?? 0;
  if (typeof matchRows !== "number" || !Number.isInteger(matchRows) || matchRows < 0) throw new DataError({ file: c.file, field: "match_vocab_size" }, "a non-negative integer", show(matchRows));
  refuse(c, "position_embedding_type", "absolute", "learned absolute positions");
  refuse(c, "is_decoder", false, "an encoder");
  refuse(c, "add_cross_attention", false, "no cross-attention");
  const H = int(c, "hidden_size"), nh = int(c, "num_attention_heads");
  if (H % nh !== 0) throw new DataError({ file: c.file, field: "num_attention_heads" }, `a divisor of hidden_size ${H}`, show(nh));
  return resolveEncoderConfig({
    vocabSize: int(c, "vocab_size"), typeVocabSize: int(c, "type_vocab_size", 2), numLayers: int(c, "num_hidden_layers"), hiddenSize: H, numHeads: nh,
    ffnSize: int(c, "intermediate_size"), maxLen: int(c, "max_position_embeddings"), layerNorm: position as "pre" | "post", layerNormEps: num(c, "layer_norm_eps", 1e-12),
    hiddenAct: hiddenActOf(c, "hidden_act", "gelu"), dropout: options.dropout ?? num(c, "hidden_dropout_prob", 0.1), initStd: num(c, "initializer_range", 0.02),
    seed: options.seed ?? 0, matchVocabSize: options.matchVocabSize ?? matchRows,
  });
}

/** DecoderConfig of a GPT-2 config.json: pre-LN, tied (or not) LM head without bias, layer_norm_epsilon. */
export function gpt2DecoderConfig(c: HfConfig, options: Omit<PretrainedConfigOptions, "matchVocabSize"> = {}): Readonly<DecoderConfig> {
  if (c.modelType !== "gpt2") throw new DataError({ file: c.file, field: "model_type" }, "\"gpt2\"", show(c.modelType));
  refuse(c, "scale_attn_weights", true, "attention scaled by 1/sqrt(d)");
  refuse(c, "scale_attn_by_inverse_layer_idx", false, "no per-layer attention scaling");
  refuse(c, "add_cross_attention", false, "no cross-attention");
  const H = int(c, "n_embd"), nh = int(c, "n_head");
  if (H % nh !== 0) throw new DataError({ file: c.file, field: "n_head" }, `a divisor of n_embd ${H}`, show(nh));
  const inner = c.raw.n_inner === null || c.raw.n_inner === undefined ? 4 * H : int(c, "n_inner");
  return resolveDecoderConfig({
    vocabSize: int(c, "vocab_size"), numLayers: int(c, "n_layer"), hiddenSize: H, numHeads: nh, ffnSize: inner, maxLen: int(c, "n_positions", 1024),
    layerNormEps: num(c, "layer_norm_epsilon", 1e-5), hiddenAct: hiddenActOf(c, "activation_function", "gelu_new"), dropout: options.dropout ?? num(c, "resid_pdrop", 0.1),
    initStd: num(c, "initializer_range", 0.02), tieEmbeddings: c.raw.tie_word_embeddings !== false, lmBias: false, seed: options.seed ?? 0,
  });
}
