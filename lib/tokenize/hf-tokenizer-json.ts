/**
 * The project's WordPiece as Hugging Face tokenizer files (`tokenizer.json`, `tokenizer_config.json`,
 * `special_tokens_map.json`), so that the Rust tokenizers, tokenizers.js and transformers load an
 * exported student's tokenizer. The reading direction is wordpiece.ts loadHfTokenizerJson.
 *
 * tokenizer.json: model WordPiece (vocab, unk_token, "##", max_input_chars_per_word), normalizer
 * BertNormalizer (clean_text, handle_chinese_chars, strip_accents, lowercase from our options),
 * pre_tokenizer BertPreTokenizer, decoder WordPiece, and a TemplateProcessing post-processor:
 *   "pair" layout (RRA-BERT): single `[CLS] $A [SEP]`, pair `[CLS] $A [SEP] $B:1 [SEP]:1`, truncation
 *     LongestFirst to `maxLength`, padding BatchLongest on the right with [PAD]. For a query of at most
 *     `maxQueryTokens` (32) tokens, as every TREC DL query is, LongestFirst cuts the passage alone, which is
 *     tokenize/pack.ts's rule; a longer query keeps more tokens there than ours keeps (32). OnlySecond
 *     would say the same for pairs but makes the Rust tokenizers refuse a single text that is too long;
 *   "prompt" layout (RRA-GPT): single `[CLS] $A`, no truncation (the prompt is cut in the middle, at the
 *     passage, which no Hugging Face truncation strategy does; models/decoder-input.ts), padding BatchLongest.
 * The ids equal the project's for every text where our normalization is BERT's: everything except the
 * Hangul-aware `hangul: "compose"` mode on Hangul or on decomposed (NFD) input, which no Hugging Face
 * normalizer expresses (see normalize.ts rules 3 and 5). Special tokens are also `added_tokens`, so a
 * literal "[SEP]" inside a text becomes the special token there, where our tokenizer spells it out.
 */
import { ConfigError, show } from "../core/errors";
import { NORMALIZE_DEFAULTS } from "./normalize";
import type { WordPieceTokenizer } from "./wordpiece";

/** Which input layout the files describe. */
export type HfTokenizerLayout = "pair" | "prompt";

/** Options of hfTokenizerFiles. */
export interface HfTokenizerOptions {
  layout: HfTokenizerLayout;
  /** Longest packed input (tokens, specials included): truncation and model_max_length. */
  maxLength: number;
}

/** The three files' contents (JSON objects). */
export interface HfTokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap: Record<string, unknown>;
}

/** Build tokenizer.json, tokenizer_config.json and special_tokens_map.json for `tok` (see the module comment). */
export function hfTokenizerFiles(tok: WordPieceTokenizer, options: HfTokenizerOptions): HfTokenizerFiles {
  const { layout, maxLength } = options;
  if (layout !== "pair" && layout !== "prompt") throw new ConfigError(`hfTokenizerFiles: layout must be "pair" or "prompt", got ${show(layout)}`);
  if (!Number.isInteger(maxLength) || maxLength < 3) throw new ConfigError(`hfTokenizerFiles: maxLength must be an integer >= 3, got ${show(maxLength)}`);
  const n = { ...NORMALIZE_DEFAULTS, ...tok.options.normalize };
  const stripAccents = n.stripAccents === undefined ? n.lowercase : n.stripAccents;
  const t = (id: number) => tok.idToToken[id];
  const specials: Array<[string, number]> = [["unk", tok.unkId], ["sep", tok.sepId], ["pad", tok.padId], ["cls", tok.clsId]];
  if (tok.maskId >= 0) specials.push(["mask", tok.maskId]);
  const specialIds = [...new Set(specials.map(([, id]) => id))].sort((a, b) => a - b);
  const piece = (id: number, typeId: number) => ({ SpecialToken: { id: t(id), type_id: typeId } });
  const seq = (name: "A" | "B", typeId: number) => ({ Sequence: { id: name, type_id: typeId } });
  const cls = tok.clsId, sep = tok.sepId;
  const postProcessor = layout === "pair"
    ? { type: "TemplateProcessing", single: [piece(cls, 0), seq("A", 0), piece(sep, 0)], pair: [piece(cls, 0), seq("A", 0), piece(sep, 0), seq("B", 1), piece(sep, 1)], special_tokens: Object.fromEntries([cls, sep].map((id) => [t(id), { id: t(id), ids: [id], tokens: [t(id)] }])) }
    : { type: "TemplateProcessing", single: [piece(cls, 0), seq("A", 0)], pair: [piece(cls, 0), seq("A", 0), seq("B", 0)], special_tokens: { [t(cls)]: { id: t(cls), ids: [cls], tokens: [t(cls)] } } };
  const vocab: Record<string, number> = {};
  tok.idToToken.forEach((token, id) => { vocab[token] = id; });
  const tokenizerJson = {
    version: "1.0",
    truncation: layout === "pair" ? { direction: "Right", max_length: maxLength, strategy: "LongestFirst", stride: 0 } : null,
    padding: { strategy: "BatchLongest", direction: "Right", pad_to_multiple_of: null, pad_id: tok.padId, pad_type_id: 0, pad_token: t(tok.padId) },
    added_tokens: specialIds.map((id) => ({ id, content: t(id), single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: n.handleCjk, strip_accents: stripAccents, lowercase: n.lowercase },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: postProcessor,
    decoder: { type: "WordPiece", prefix: tok.options.continuingSubwordPrefix, cleanup: true },
    model: { type: "WordPiece", unk_token: t(tok.unkId), continuing_subword_prefix: tok.options.continuingSubwordPrefix, max_input_chars_per_word: tok.options.maxInputCharsPerWord, vocab },
  };
  const named = Object.fromEntries(specials.map(([k, id]) => [`${k}_token`, t(id)]));
  const tokenizerConfig = {
    // the prompt layout is not BERT's pair template: the generic fast tokenizer keeps tokenizer.json's post-processor
    tokenizer_class: layout === "pair" ? "BertTokenizer" : "PreTrainedTokenizerFast",
    do_lower_case: n.lowercase, strip_accents: stripAccents, tokenize_chinese_chars: n.handleCjk, do_basic_tokenize: true, never_split: null,
    model_max_length: maxLength, padding_side: "right", truncation_side: "right", clean_up_tokenization_spaces: true,
    ...named,
    added_tokens_decoder: Object.fromEntries(specialIds.map((id) => [String(id), { content: t(id), lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }])),
  };
  return { tokenizerJson, tokenizerConfig, specialTokensMap: named };
}
