/**
 * GPT-2's byte-level BPE (Radford et al. 2019; openai/gpt-2 src/encoder.py; Hugging Face tokenizers'
 * ByteLevel pre-tokenizer + BPE model), from a checkpoint's `vocab.json` + `merges.txt` or a
 * `tokenizer.json` whose model is BPE:
 * 1. Added tokens (e.g. "<|endoftext|>") found in the text become their own id; the text between them
 *    is tokenized as follows.
 * 2. Pre-tokenize with GPT-2's pattern
 *      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *    where \s is Unicode White_Space (JavaScript's own \s differs: it has U+FEFF and lacks U+0085).
 *    With add_prefix_space a space is put before the text first (GPT-2 itself: no).
 * 3. Each pre-token's UTF-8 bytes are mapped to printable characters (bytes_to_unicode: the 188
 *    printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards).
 * 4. Merge the adjacent pair with the lowest merges.txt rank until none applies; look the pieces up in
 *    the vocabulary.
 * Decoding joins the pieces and maps the characters back to bytes (UTF-8, invalid sequences become U+FFFD).
 */
import { readFileSync } from "fs";
import { DataError, show } from "../core/errors";

/** GPT-2's byte -> printable character table (bytes_to_unicode). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  return table;
}

const BYTE_TO_CHAR = bytesToUnicode();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
const S = "\\p{White_Space}";
/** GPT-2's pre-tokenizer pattern with Unicode White_Space for \s. */
export const GPT2_PATTERN = new RegExp(`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${S}\\p{L}\\p{N}]+|[${S}]+(?![^${S}])|[${S}]+`, "gu");

/** How a byte-level BPE is applied. */
export interface ByteLevelBpeOptions {
  /** Put a space before the text (tokenizer_config add_prefix_space). Default false (GPT-2). */
  addPrefixSpace: boolean;
  /** Tokens matched in the raw text before pre-tokenization, with their ids (tokenizer.json added_tokens). */
  addedTokens: ReadonlyMap<string, number>;
  /** Beginning / end of text token ("<|endoftext|>" for GPT-2). */
  bosToken: string;
  eosToken: string;
  /** Padding token; default the eos token (GPT-2 has none). */
  padToken?: string;
}

const CACHE_LIMIT = 100_000;

/** A byte-level BPE tokenizer. */
export class ByteLevelBpeTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly idToToken: readonly string[];
  readonly options: Readonly<ByteLevelBpeOptions>;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** The ids a packer uses for begin / end (decoder-input.ts reads clsId and sepId). */
  readonly clsId: number;
  readonly sepId: number;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();
  private readonly addedPattern: RegExp | null;

  /** `vocab`: token -> id; `merges`: pairs in rank order. `source` names the files in errors. */
  constructor(vocab: ReadonlyMap<string, number>, merges: ReadonlyArray<[string, string]>, options: Partial<ByteLevelBpeOptions> = {}, source = "vocab.json") {
    const o: ByteLevelBpeOptions = { addPrefixSpace: false, addedTokens: new Map(), bosToken: "<|endoftext|>", eosToken: "<|endoftext|>", ...options };
    this.options = Object.freeze(o);
    const byId: string[] = [];
    for (const [t, id] of [...vocab, ...o.addedTokens]) {
      if (!Number.isInteger(id) || id < 0) throw new DataError({ file: source, field: t }, "a non-negative integer id", show(id));
      byId[id] = t;
    }
    this.vocab = new Map([...vocab, ...o.addedTokens]);
    this.idToToken = byId;
    this.ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
    for (const ch of BYTE_TO_CHAR) if (!this.vocab.has(ch)) throw new DataError({ file: source }, "every one of the 256 byte characters in the vocabulary (byte-level BPE)", `no ${show(ch)}`);
    const need = (t: string, what: string): number => {
      const id = this.vocab.get(t);
      if (id === undefined) throw new DataError({ file: source }, `the ${what} token ${show(t)} in the vocabulary`, `a vocabulary of ${this.vocab.size} tokens without it`);
      return id;
    };
    this.bosId = need(o.bosToken, "bos");
    this.eosId = need(o.eosToken, "eos");
    this.padId = need(o.padToken ?? o.eosToken, "pad");
    this.clsId = this.bosId;
    this.sepId = this.eosId;
    const added = [...o.addedTokens.keys()].sort((a, b) => b.length - a.length).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.addedPattern = added.length ? new RegExp(added.join("|"), "g") : null;
  }

  /** Number of tokens (vocabulary plus added tokens). */
  get size(): number {
    return this.idToToken.length;
  }

  /** Ids of one pre-token (already a string of byte characters). */
  private bpe(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    let parts = Array.from(word);
    while (parts.length > 1) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      // merge every occurrence of the best pair, left to right
      const a = parts[best], b = parts[best + 1];
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) { next.push(a + b); i++; } else next.push(parts[i]);
      }
      parts = next;
    }
    const ids = parts.map((p) => {
      const id = this.vocab.get(p);
      if (id === undefined) throw new DataError({ file: "vocab.json" }, `the merged piece ${show(p)} in the vocabulary`, "no such token (vocab.json and merges.txt do not belong together)");
      return id;
    });
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  private encodeRun(text: string, ids: number[]): void {
    for (const m of text.matchAll(GPT2_PATTERN)) {
      const bytes = Buffer.from(m[0], "utf8");
      let s = "";
      for (const b of bytes) s += BYTE_TO_CHAR[b];
      ids.push(...this.bpe(s));
    }
  }

  /** Encode a text (no special tokens are added). */
  encode(text: string): { tokens: string[]; ids: number[] } {
    const ids: number[] = [];
    const t = this.options.addPrefixSpace && !text.startsWith(" ") ? " " + text : text;
    let last = 0;
    if (this.addedPattern) {
      for (const m of t.matchAll(this.addedPattern)) {
        this.encodeRun(t.slice(last, m.index), ids);
        ids.push(this.vocab.get(m[0]) as number);
        last = (m.index as number) + m[0].length;
      }
    }
    this.encodeRun(t.slice(last), ids);
    return { tokens: ids.map((id) => this.idToToken[id]), ids };
  }

  /** Text of ids; added (special) tokens are skipped unless asked. */
  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens?: boolean } = {}): string {
    const skip = opts.skipSpecialTokens ?? true;
    const bytes: number[] = [];
    let out = "";
    const flush = (): void => { out += Buffer.from(bytes).toString("utf8"); bytes.length = 0; };
    for (let i = 0; i < ids.length; i++) {
      const t = this.idToToken[ids[i]];
      if (t === undefined) throw new DataError({ file: "decode" }, `an id below ${this.size}`, show(ids[i]));
      if (this.options.addedTokens.has(t)) {
        if (!skip) { flush(); out += t; }
        continue;
      }
      for (const ch of t) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) throw new DataError({ file: "decode" }, "byte characters", show(t));
        bytes.push(b);
      }
    }
    flush();
    return out;
  }
}

/** Read GPT-2's `vocab.json` (token -> id) and `merges.txt` ("#version" line, then "a b" per line). */
export function loadGpt2Files(vocabFile: string, mergesFile: string, options: Partial<ByteLevelBpeOptions> = {}): ByteLevelBpeTokenizer {
  let vocab: unknown;
  try {
    vocab = JSON.parse(readFileSync(vocabFile, "utf8"));
  } catch (e) {
    throw new DataError({ file: vocabFile }, "a JSON object token -> id", `unparsable JSON (${(e as Error).message})`);
  }
  if (vocab === null || typeof vocab !== "object" || Array.isArray(vocab)) throw new DataError({ file: vocabFile }, "a JSON object token -> id", show(vocab));
  const merges: Array<[string, string]> = [];
  readFileSync(mergesFile, "utf8").split(/\r?\n/).forEach((line, i) => {
    if (line === "" || (i === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2) throw new DataError({ file: mergesFile, line: i + 1 }, "two space-separated pieces", show(line));
    merges.push([parts[0], parts[1]]);
  });
  const map = new Map(Object.entries(vocab as Record<string, number>));
  return new ByteLevelBpeTokenizer(map, merges, options, vocabFile);
}

/** A `tokenizer.json` whose model is BPE with a ByteLevel pre-tokenizer (GPT-2, RoBERTa style). */
export function loadBpeTokenizerJson(file: string, json: any, options: Partial<ByteLevelBpeOptions> = {}): ByteLevelBpeTokenizer {
  const model = json?.model;
  if (model?.type !== "BPE") throw new DataError({ file, field: "model.type" }, "\"BPE\"", show(model?.type));
  const pre = json.pre_tokenizer;
  if (pre?.type !== "ByteLevel") throw new DataError({ file, field: "pre_tokenizer.type" }, "\"ByteLevel\" (GPT-2's byte-level BPE)", show(pre?.type));
  if (json.normalizer !== null && json.normalizer !== undefined) throw new DataError({ file, field: "normalizer" }, "none (GPT-2 does not normalize)", show(json.normalizer?.type));
  const merges: Array<[string, string]> = (model.merges ?? []).map((m: string | string[], i: number) => {
    const pair = Array.isArray(m) ? m : String(m).split(" ");
    if (pair.length !== 2) throw new DataError({ file, field: `model.merges[${i}]` }, "a pair of pieces", show(m));
    return [pair[0], pair[1]] as [string, string];
  });
  const added = new Map<string, number>();
  for (const a of Array.isArray(json.added_tokens) ? json.added_tokens : []) added.set(String(a.content), Number(a.id));
  return new ByteLevelBpeTokenizer(new Map(Object.entries(model.vocab as Record<string, number>)), merges, { addPrefixSpace: pre.add_prefix_space === true, addedTokens: added, ...options }, file);
}
