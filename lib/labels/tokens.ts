/**
 * Token counts for cost accounting when a teacher does not report them (replayed logs, offline
 * teachers): the LLaMA SentencePiece tokenizer (Vicuna / RankVicuna; BOS included, as rank_llm counted
 * with `tokenizer.encode`), OpenAI's cl100k_base / o200k_base BPE, or a words x 4/3 estimate.
 */
import { ConfigError, show } from "../core/errors";

/** Which tokenizer counts a model's tokens. */
export type TokenizerName = "llama" | "cl100k" | "o200k" | "words";

type Encoder = (text: string) => number;
const encoders = new Map<TokenizerName, Encoder>();

function load(name: TokenizerName): Encoder {
  const cached = encoders.get(name);
  if (cached) return cached;
  let enc: Encoder;
  if (name === "llama") {
    const mod = require("llama-tokenizer-js") as { default: { encode(text: string): number[] } };
    enc = (text) => mod.default.encode(text).length;
  } else if (name === "cl100k" || name === "o200k") {
    const { getEncoding } = require("js-tiktoken") as { getEncoding(n: string): { encode(text: string): number[] } };
    const e = getEncoding(name === "cl100k" ? "cl100k_base" : "o200k_base");
    enc = (text) => e.encode(text).length;
  } else if (name === "words") {
    enc = (text) => Math.ceil((text.split(/\s+/).filter((w) => w !== "").length * 4) / 3);
  } else {
    throw new ConfigError(`unknown tokenizer ${show(name)}; expected llama, cl100k, o200k or words`);
  }
  encoders.set(name, enc);
  return enc;
}

/** Number of tokens of `text` under a tokenizer. */
export function countTokens(text: string, tokenizer: TokenizerName): number {
  return load(tokenizer)(text);
}

/** The tokenizer that counts a model's tokens best: llama for (Rank)Vicuna / LLaMA models, o200k for gpt-4o/4.1/5, cl100k for other gpt models, else words. */
export function tokenizerFor(model: string): TokenizerName {
  const m = model.toLowerCase();
  if (/vicuna|llama|rankvicuna/.test(m)) return "llama";
  if (/gpt-4o|gpt-4\.1|gpt-5|o1|o3|o4/.test(m)) return "o200k";
  if (/gpt-|text-embedding|davinci/.test(m)) return "cl100k";
  return "words";
}
