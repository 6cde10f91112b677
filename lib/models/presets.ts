/**
 * Encoder sizes and configuration: the `MODEL_PRESETS` table, `EncoderConfig` with its defaults, and
 * `resolveEncoderConfig`, which rejects unknown keys and wrong types and returns a frozen copy.
 * Give a preset or explicit sizes, not both (nanoGPT style); the resolved config records both the
 * preset name and every size, so a stored run never depends on this table staying the same.
 */
import { ConfigError, show } from "../core/errors";

/** The size fields a preset fixes. */
export interface EncoderSizes {
  /** Transformer blocks. */
  numLayers: number;
  /** Width of the hidden states H. */
  hiddenSize: number;
  /** Attention heads; must divide hiddenSize. */
  numHeads: number;
  /** Inner width of the feed-forward block. */
  ffnSize: number;
  /** Longest sequence (position embedding rows), tokens. */
  maxLen: number;
}

/**
 * Named encoder sizes. `small` is the benchmark shape of shared/notes/tfjs-on-this-machine.md. The last
 * two are the sizes of real pretrained checkpoints (their config.json), for `rra bench` and for students
 * of that size: google/bert_uncased_L-4_H-256_A-4 and microsoft/MiniLM-L12-H384-uncased cut to 6 layers
 * (as cross-encoder/ms-marco-MiniLM-L-6-v2). Loading such a checkpoint takes its sizes from its own
 * config.json (lib/models/checkpoint/hf-config.ts), not from this table.
 */
export const MODEL_PRESETS = {
  tiny: { numLayers: 2, hiddenSize: 64, numHeads: 2, ffnSize: 256, maxLen: 128 },
  small: { numLayers: 2, hiddenSize: 128, numHeads: 4, ffnSize: 512, maxLen: 512 },
  "bert-l4-h256": { numLayers: 4, hiddenSize: 256, numHeads: 4, ffnSize: 1024, maxLen: 512 },
  "minilm-l6-h384": { numLayers: 6, hiddenSize: 384, numHeads: 12, ffnSize: 1536, maxLen: 512 },
} as const satisfies Record<string, Readonly<EncoderSizes>>;

/** A preset name. */
export type PresetName = keyof typeof MODEL_PRESETS;

/** Where the layer norm sits in a block. */
export type LayerNormPosition = "pre" | "post";

/** Feed-forward activation: GELU in its tanh approximation or exact (erf) form. */
export type HiddenAct = "gelu_tanh" | "gelu_erf";

/**
 * Optional fields and the value their absence means. A config that leaves them out (every config
 * written before issue 13, and every project preset) stores and hashes exactly as before.
 */
export const ENCODER_OPTIONAL_DEFAULTS: Readonly<{ hiddenAct: HiddenAct; matchVocabSize: number }> = Object.freeze({ hiddenAct: "gelu_tanh" as HiddenAct, matchVocabSize: 0 });

/** Configuration of the transformer encoder (createEncoder takes only resolved configs). */
export interface EncoderConfig extends EncoderSizes {
  /** Preset the sizes came from, or "custom" for explicit sizes. Default "tiny". */
  preset: string;
  /** Token vocabulary size. Required (no default). */
  vocabSize: number;
  /** Segment (token type) vocabulary. Default 2. */
  typeVocabSize: number;
  /** Dropout rate on embeddings, attention probabilities, and residual branches; 0 turns it off. Default 0.1. */
  dropout: number;
  /** "pre" (LN before each sublayer, final LN; trains from scratch stably) or "post" (original BERT). Default "pre". */
  layerNorm: LayerNormPosition;
  /** Layer norm epsilon. Default 1e-6 (float32-safe; BERT's 1e-12 underflows the variance term). */
  layerNormEps: number;
  /** Std of the truncated-normal initializer (BERT). Default 0.02. */
  initStd: number;
  /** Seed of every initializer; per variable through deriveSeed(seed, name). Default 0. */
  seed: number;
  /**
   * Feed-forward activation. Absent = "gelu_tanh" (the project's presets, GPT-2's "gelu_new");
   * "gelu_erf" is BERT's exact "gelu" (a Hugging Face checkpoint's hidden_act).
   */
  hiddenAct?: HiddenAct;
  /**
   * Rows of a separate match-channel embedding added to the input embeddings from the batch's
   * `matchIds` (types.ts), initialised to zeros so that a loaded checkpoint's outputs are unchanged at
   * step 0 while the token-type rows stay the checkpoint's. Absent or 0 = no such embedding.
   */
  matchVocabSize?: number;
}

/** Defaults of every field except vocabSize (sizes = the tiny preset). */
export const ENCODER_DEFAULTS: Readonly<Omit<EncoderConfig, "vocabSize">> = Object.freeze({
  preset: "tiny",
  ...MODEL_PRESETS.tiny,
  typeVocabSize: 2,
  dropout: 0.1,
  layerNorm: "pre" as LayerNormPosition,
  layerNormEps: 1e-6,
  initStd: 0.02,
  seed: 0,
});

const SIZE_KEYS: readonly (keyof EncoderSizes)[] = ["numLayers", "hiddenSize", "numHeads", "ffnSize", "maxLen"];
const INT_KEYS: readonly (keyof EncoderConfig)[] = [...SIZE_KEYS, "vocabSize", "typeVocabSize", "seed"];
const KNOWN_KEYS: readonly string[] = ["preset", "vocabSize", ...Object.keys(ENCODER_DEFAULTS)];
const OPTIONAL_KEYS: readonly string[] = Object.keys(ENCODER_OPTIONAL_DEFAULTS);

/** Options of resolveEncoderConfig. */
export interface ResolveEncoderOptions {
  /** A MODEL_PRESETS name; then `overrides` may not set sizes. */
  preset?: string;
}

/** Overrides accepted by resolveEncoderConfig (vocabSize is required). */
export type EncoderOverrides = Partial<Omit<EncoderConfig, "preset">> & { vocabSize: number };

/**
 * Merge defaults, a preset and overrides into a frozen EncoderConfig. Throws ConfigError on unknown
 * keys, wrong types, a missing vocabSize, or a preset given together with explicit sizes.
 */
export function resolveEncoderConfig(overrides: EncoderOverrides, options: ResolveEncoderOptions = {}): Readonly<EncoderConfig> {
  const raw = overrides as unknown as Record<string, unknown>;
  if (raw === null || typeof raw !== "object") throw new ConfigError(`encoder config: expected an object, got ${show(raw)}`);
  if ("preset" in raw) throw new ConfigError(`encoder config: give the preset as resolveEncoderConfig(overrides, {preset: ${show(raw.preset)}}), not as a key`);
  const given = SIZE_KEYS.filter((k) => raw[k] !== undefined);
  let sizes: EncoderSizes & { preset: string } = { preset: ENCODER_DEFAULTS.preset, ...MODEL_PRESETS.tiny };
  if (options.preset !== undefined) {
    const p = (MODEL_PRESETS as Record<string, EncoderSizes>)[options.preset];
    if (!p) throw new ConfigError(`encoder config: unknown preset ${show(options.preset)}; expected one of ${Object.keys(MODEL_PRESETS).join(", ")}`);
    if (given.length) throw new ConfigError(`encoder config: preset ${show(options.preset)} given together with explicit sizes (${given.join(", ")}); give one or the other`);
    sizes = { preset: options.preset, ...p };
  } else if (given.length) {
    sizes = { ...sizes, preset: "custom" };
  }
  return checkEncoderConfig({ ...ENCODER_DEFAULTS, ...sizes, ...stripUndefined(raw) }, "encoder config");
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/** Validate a complete config (e.g. a stored config.json) and return a frozen copy. */
export function checkEncoderConfig(value: unknown, where = "encoder config"): Readonly<EncoderConfig> {
  if (value === null || typeof value !== "object") throw new ConfigError(`${where}: expected an object, got ${show(value)}`);
  const c = value as Record<string, unknown>;
  const unknown = Object.keys(c).filter((k) => !KNOWN_KEYS.includes(k) && !OPTIONAL_KEYS.includes(k));
  if (unknown.length) throw new ConfigError(`${where}: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => show(k)).join(", ")}; expected some of ${[...KNOWN_KEYS, ...OPTIONAL_KEYS].join(", ")}`);
  for (const k of KNOWN_KEYS) if (c[k] === undefined) throw new ConfigError(`${where}: ${k} is required`);
  for (const k of INT_KEYS) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < (k === "seed" ? 0 : 1)) {
      throw new ConfigError(`${where}: ${k} must be a ${k === "seed" ? "non-negative" : "positive"} integer, got ${show(v)}`);
    }
  }
  for (const k of ["dropout", "layerNormEps", "initStd"]) {
    if (typeof c[k] !== "number" || !Number.isFinite(c[k] as number)) throw new ConfigError(`${where}: ${k} must be a finite number, got ${show(c[k])}`);
  }
  const dropout = c.dropout as number;
  if (dropout < 0 || dropout >= 1) throw new ConfigError(`${where}: dropout must be in [0, 1), got ${dropout}`);
  if (c.layerNorm !== "pre" && c.layerNorm !== "post") throw new ConfigError(`${where}: layerNorm must be "pre" or "post", got ${show(c.layerNorm)}`);
  if (typeof c.preset !== "string") throw new ConfigError(`${where}: preset must be a string, got ${show(c.preset)}`);
  if ((c.hiddenSize as number) % (c.numHeads as number) !== 0) {
    throw new ConfigError(`${where}: hiddenSize ${c.hiddenSize} must be divisible by numHeads ${c.numHeads}`);
  }
  if (c.hiddenAct !== undefined && c.hiddenAct !== "gelu_tanh" && c.hiddenAct !== "gelu_erf") throw new ConfigError(`${where}: hiddenAct must be "gelu_tanh" or "gelu_erf", got ${show(c.hiddenAct)}`);
  if (c.matchVocabSize !== undefined && (typeof c.matchVocabSize !== "number" || !Number.isInteger(c.matchVocabSize) || c.matchVocabSize < 0)) {
    throw new ConfigError(`${where}: matchVocabSize must be a non-negative integer, got ${show(c.matchVocabSize)}`);
  }
  const out: Record<string, unknown> = {};
  for (const k of KNOWN_KEYS) out[k] = c[k];
  // optional fields only when they differ from what their absence means (stored configs stay as they were)
  for (const k of OPTIONAL_KEYS) if (c[k] !== undefined && c[k] !== (ENCODER_OPTIONAL_DEFAULTS as Record<string, unknown>)[k]) out[k] = c[k];
  return Object.freeze(out as unknown as EncoderConfig);
}
