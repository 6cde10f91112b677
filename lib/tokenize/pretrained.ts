/**
 * The tokenizer of a Hugging Face model folder, applied as the checkpoint was trained:
 *   BERT: `tokenizer.json` (WordPiece model + BertNormalizer flags) when present, else `vocab.txt` with
 *         `tokenizer_config.json`'s do_lower_case (default true), strip_accents (default: = lowercase) and
 *         tokenize_chinese_chars (default true); Hangul handled as Hugging Face does (hangul "bert":
 *         no NFC, accent stripping decomposes syllables), so ids equal the Rust tokenizers'.
 *   GPT-2: `tokenizer.json` (BPE + ByteLevel) or `vocab.json` + `merges.txt`, with add_prefix_space and
 *         the bos / eos tokens of `tokenizer_config.json` / `special_tokens_map.json` as added tokens.
 * The longest input is the smallest of tokenizer_config's model_max_length and the model's positions.
 */
import { existsSync, mkdirSync, readFileSync } from "fs";
import { join } from "path";
import { DataError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { ByteLevelBpeTokenizer, loadBpeTokenizerJson, loadGpt2Files } from "./bpe";
import { loadHfTokenizerJson, loadVocab, type WordPieceTokenizer } from "./wordpiece";

/** A checkpoint's tokenizer. */
export type CheckpointTokenizer =
  | { kind: "wordpiece"; tokenizer: WordPieceTokenizer; maxLength: number; files: string[] }
  | { kind: "bpe"; tokenizer: ByteLevelBpeTokenizer; maxLength: number; files: string[] };

function readJson(file: string): Record<string, any> {
  try {
    const v = JSON.parse(readFileSync(file, "utf8"));
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`not an object: ${show(v)}`);
    return v;
  } catch (e) {
    throw new DataError({ file }, "a JSON object", (e as Error).message);
  }
}

/** A special token of tokenizer_config.json / special_tokens_map.json: a string or an AddedToken {content}. */
function special(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as { content?: unknown }).content === "string") return (v as { content: string }).content;
  return undefined;
}

/** Load the tokenizer of model folder `dir`; `modelType` from config.json, `positions` = the model's position rows. */
export function loadCheckpointTokenizer(dir: string, modelType: "bert" | "gpt2", positions: number): CheckpointTokenizer {
  const cfgFile = join(dir, "tokenizer_config.json");
  const cfg = existsSync(cfgFile) ? readJson(cfgFile) : {};
  const mapFile = join(dir, "special_tokens_map.json");
  const map = existsSync(mapFile) ? readJson(mapFile) : {};
  const declared = typeof cfg.model_max_length === "number" && cfg.model_max_length > 0 && cfg.model_max_length < 1e9 ? cfg.model_max_length : positions;
  const maxLength = Math.min(declared, positions);
  const tj = join(dir, "tokenizer.json");
  if (modelType === "bert") {
    if (existsSync(tj)) return { kind: "wordpiece", tokenizer: loadHfTokenizerJson(tj, { normalize: { hangul: "bert" } }), maxLength, files: [tj] };
    const vocab = join(dir, "vocab.txt");
    if (!existsSync(vocab)) throw new DataError({ file: dir }, "the tokenizer files of a BERT checkpoint (tokenizer.json, or vocab.txt with tokenizer_config.json)", "neither tokenizer.json nor vocab.txt", "copy them from the model's hub page next to config.json");
    const lowercase = cfg.do_lower_case === undefined ? true : cfg.do_lower_case === true;
    const strip = cfg.strip_accents === null || cfg.strip_accents === undefined ? undefined : cfg.strip_accents === true;
    const unk = special(cfg.unk_token) ?? special(map.unk_token) ?? "[UNK]";
    const tok = loadVocab(vocab, { unkToken: unk, normalize: { lowercase, stripAccents: strip, handleCjk: cfg.tokenize_chinese_chars !== false, hangul: "bert" } });
    return { kind: "wordpiece", tokenizer: tok, maxLength, files: existsSync(cfgFile) ? [vocab, cfgFile] : [vocab] };
  }
  const bos = special(cfg.bos_token) ?? special(map.bos_token) ?? "<|endoftext|>";
  const eos = special(cfg.eos_token) ?? special(map.eos_token) ?? "<|endoftext|>";
  const pad = special(cfg.pad_token) ?? special(map.pad_token);
  if (existsSync(tj)) return { kind: "bpe", tokenizer: loadBpeTokenizerJson(tj, readJson(tj), { bosToken: bos, eosToken: eos, padToken: pad }), maxLength, files: [tj] };
  const vj = join(dir, "vocab.json"), mt = join(dir, "merges.txt");
  if (!existsSync(vj) || !existsSync(mt)) throw new DataError({ file: dir }, "the tokenizer files of a GPT-2 checkpoint (tokenizer.json, or vocab.json with merges.txt)", `${existsSync(vj) ? "" : "no vocab.json "}${existsSync(mt) ? "" : "no merges.txt"}`.trim(), "copy them from the model's hub page next to config.json");
  const vocab = readJson(vj);
  const added = new Map<string, number>();
  for (const t of [bos, eos, pad, special(cfg.unk_token) ?? special(map.unk_token)]) if (t !== undefined && typeof vocab[t] === "number") added.set(t, vocab[t]);
  return {
    kind: "bpe", tokenizer: loadGpt2Files(vj, mt, { addPrefixSpace: cfg.add_prefix_space === true, addedTokens: added, bosToken: bos, eosToken: eos, padToken: pad }), maxLength,
    files: existsSync(cfgFile) ? [vj, mt, cfgFile] : [vj, mt],
  };
}

/** The tokenizer files of a model folder that loadCheckpointTokenizer may read. */
export const CHECKPOINT_TOKENIZER_FILES: readonly string[] = ["tokenizer.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"];

/**
 * A checkpoint tokenizer kept in a trained student's folder: its files are copied into `folder` (a
 * subfolder of the model directory) and read back with loadCheckpointTokenizer(folder, modelType, positions),
 * which gives the same ids as the checkpoint folder did.
 */
export interface SavedCheckpointTokenizer {
  /** Subfolder of the model directory holding the copied files. */
  folder: string;
  modelType: "bert" | "gpt2";
  /** The model's position rows (bounds the tokenizer's maxLength). */
  positions: number;
}

/** Copy the tokenizer files of checkpoint folder `from` into `to` (created); returns the names copied. */
export function copyCheckpointTokenizer(from: string, to: string): string[] {
  mkdirSync(to, { recursive: true });
  const names = CHECKPOINT_TOKENIZER_FILES.filter((f) => existsSync(join(from, f)));
  if (names.length === 0) throw new DataError({ file: from }, `tokenizer files (some of ${CHECKPOINT_TOKENIZER_FILES.join(", ")})`, "none");
  for (const f of names) writeFileAtomic(join(to, f), readFileSync(join(from, f)));
  return names;
}

/** Read a tokenizer kept with copyCheckpointTokenizer in model directory `dir`; `where` names the settings file in errors. */
export function loadSavedCheckpointTokenizer(dir: string, saved: SavedCheckpointTokenizer, where: string): CheckpointTokenizer {
  if (saved === null || typeof saved !== "object" || typeof saved.folder !== "string" || (saved.modelType !== "bert" && saved.modelType !== "gpt2") || !Number.isInteger(saved.positions)) {
    throw new DataError({ file: where, field: "checkpointTokenizer" }, "{ folder, modelType: \"bert\" | \"gpt2\", positions }", show(JSON.stringify(saved)));
  }
  const folder = join(dir, saved.folder);
  if (!existsSync(folder)) throw new DataError({ file: where, field: "checkpointTokenizer.folder" }, `the folder ${folder} with the checkpoint's tokenizer files`, "no such folder", "copy the whole model directory, subfolders included");
  return loadCheckpointTokenizer(folder, saved.modelType, saved.positions);
}
