/**
 * Warm start (issue 13 item 5): a student whose encoder (RRA-BERT) or decoder (RRA-GPT) starts from a
 * Hugging Face checkpoint instead of a preset's seeded random weights (TrainConfig.init).
 *
 *   const init = await resolveInit("hf:google/bert_uncased_L-4_H-256_A-4", "bert"); // or a folder
 *   const pre = loadInitEncoder(init, cfg);   // config.json sizes, post-LN, erf GELU, weights, tokenizer
 *
 * - `init` is a model folder (config.json, model.safetensors or pytorch_model.bin, tokenizer files) or
 *   "hf:ORG/NAME[@REVISION]": the Hugging Face cache's snapshot, pulled first when it is not cached and
 *   the hub may be asked (HF_HUB_OFFLINE=1: the cache only; lib/hub/resolve.ts).
 * - The checkpoint's tokenizer replaces the shipped-corpus WordPiece vocabulary; Token Selection, the
 *   lexicon's match channel, the TCL and the composed score work on its ids. The match channel enters
 *   as the encoder's separate zero-initialised match embedding (models/match-channel.ts), so step 0
 *   scores as the checkpoint (its one-label classifier, when it has one, is the score head and is kept
 *   even with zeroHead: it is not a random head).
 * - Provenance: InitRecord (name, revision = commit sha of a hub snapshot else null, model type, weight
 *   file and the sha256 of every file that defines the model) goes to training.json, the store's
 *   train_runs.init_json, the export's config.json and its model card.
 * Every check runs before anything is written: a folder that is not a checkpoint, a checkpoint of the
 * other architecture, an hf: name not in the cache while offline.
 */
import { existsSync, readdirSync, statSync } from "fs";
import { join } from "path";
import { readJsonObject } from "../data/text-file";
import { ConfigError, DataError, show } from "../core/errors";
import { isHubRef, resolveModelDir } from "../hub/resolve";
import { checkpointFingerprint, findWeightFile, type FingerprintFile } from "../models/checkpoint/folder";
import { readHfConfig } from "../models/checkpoint/hf-config";
import { loadPretrainedDecoder, loadPretrainedEncoder, type PretrainedDecoder, type PretrainedEncoder } from "../models/checkpoint/pretrained";
import { deriveSeed } from "../core/rng";
import { matchTypeVocab } from "./batches";
import { matchVocabSizeFor } from "../models/match-channel";
import type { TrainConfig } from "./config";

/** Where a warm-started student came from (training.json `init`, the store, the export). */
export interface InitRecord {
  /** The folder as given, or "hf:ORG/NAME". */
  name: string;
  /** Commit sha of the hub snapshot; null for a folder. */
  revision: string | null;
  /** config.json model_type. */
  modelType: "bert" | "gpt2";
  /** The weight file read (its name). */
  weightFile: string;
  /** Name, size and sha256 of every file that defines the model (models/checkpoint/folder.ts). */
  files: FingerprintFile[];
}

/** A resolved init: the record and the folder to read. */
export interface InitSource extends InitRecord {
  dir: string;
}

const EXPECTED_FOLDER = "a Hugging Face model folder (config.json, model.safetensors or pytorch_model.bin, tokenizer files) or hf:ORG/NAME[@REVISION]";

/** The model type an architecture warm-starts from. */
export function initModelType(arch: string): "bert" | "gpt2" {
  return arch === "gpt" ? "gpt2" : "bert";
}

/**
 * Resolve TrainConfig.init for a student of `arch` and fingerprint it (reads, never writes, except that an
 * hf: reference missing from the cache is pulled into it when the hub may be asked).
 */
export async function resolveInit(ref: string, arch: string): Promise<InitSource> {
  if (ref === "") throw new ConfigError("init: expected a model folder or hf:ORG/NAME[@REVISION], got an empty string");
  let dir: string, name: string, revision: string | null;
  if (isHubRef(ref)) {
    const src = await resolveModelDir(ref);
    dir = src.dir;
    name = `hf:${src.repo}`;
    revision = src.sha ?? null;
  } else {
    if (!existsSync(ref)) throw new DataError({ file: ref, field: "init" }, EXPECTED_FOLDER, "no such file or folder");
    if (!statSync(ref).isDirectory()) throw new DataError({ file: ref, field: "init" }, EXPECTED_FOLDER, "a file");
    const present = readdirSync(ref).sort();
    if (!present.includes("config.json")) {
      throw new DataError({ file: ref, field: "init" }, EXPECTED_FOLDER, present.length ? `a folder without config.json (${present.slice(0, 10).join(", ")}${present.length > 10 ? ", ..." : ""})` : "an empty folder", "rra pull ORG/NAME downloads one");
    }
    dir = ref;
    name = ref;
    revision = null;
  }
  const hf = readHfConfig(dir);
  const want = initModelType(arch);
  if (hf.modelType !== want) {
    throw new DataError({ file: hf.file, field: "model_type" }, `${show(want)} (a checkpoint for --arch ${arch})`, show(hf.modelType), `use --arch ${hf.modelType === "gpt2" ? "gpt" : "bert"} for this checkpoint`);
  }
  const weightFile = findWeightFile(dir).split("/").pop() as string;
  return { name, revision, modelType: want, weightFile, files: checkpointFingerprint(dir), dir };
}

/** The JSON record of a resolved init (InitSource without the local folder). */
export function initRecord(src: InitSource): InitRecord {
  const { dir: _dir, ...record } = src;
  return record;
}

/** Throw a ConfigError when `maxLength` exceeds what the checkpoint can take. */
function checkLength(src: InitSource, maxLength: number, limit: number): void {
  if (maxLength > limit) throw new ConfigError(`train config: maxLength ${maxLength} exceeds the longest input of the checkpoint ${show(src.name)} (${limit} tokens: its positions and tokenizer model_max_length); expected --max-length <= ${limit}`);
}

/** The BERT checkpoint of an RRA-BERT run: its config (with the match embedding the run's packer needs), weights and tokenizer. */
export function loadInitEncoder(src: InitSource, cfg: Pick<TrainConfig, "seed" | "dropout" | "match" | "matchIdf" | "maxLength">): PretrainedEncoder {
  const pre = loadPretrainedEncoder(src.dir, {
    head: "checkpoint", seed: deriveSeed(cfg.seed, "model"), dropout: cfg.dropout,
    matchVocabSize: cfg.match ? matchVocabSizeFor(matchTypeVocab(cfg.matchIdf)) : 0,
  });
  checkLength(src, cfg.maxLength, pre.maxLength);
  return pre;
}

/** The GPT-2 checkpoint of an RRA-GPT run: its config, weights and byte-level BPE tokenizer. */
export function loadInitDecoder(src: InitSource, cfg: Pick<TrainConfig, "seed" | "dropout" | "maxLength">): PretrainedDecoder {
  const pre = loadPretrainedDecoder(src.dir, { seed: deriveSeed(cfg.seed, "model"), dropout: cfg.dropout });
  checkLength(src, cfg.maxLength, pre.maxLength);
  return pre;
}

/**
 * Refuse to reuse a finished run whose checkpoint files changed since it was trained (same init name,
 * other weights): its model would not be what `init` now names.
 */
export function checkInitUnchanged(src: InitSource, outDir: string): void {
  const file = join(outDir, "training.json");
  if (!existsSync(file)) return;
  const recorded = (readJsonObject(file, "training record") as { init?: InitRecord | null }).init;
  if (!recorded || !Array.isArray(recorded.files)) return;
  const key = (files: readonly FingerprintFile[]): string => files.map((f) => `${f.name}:${f.sha256}`).join(",");
  if (key(recorded.files) !== key(src.files)) {
    const changed = src.files.filter((f) => !recorded.files.some((r) => r.name === f.name && r.sha256 === f.sha256)).map((f) => f.name);
    throw new ConfigError(`train: ${outDir} holds a finished run warm-started from ${show(src.name)}, but the checkpoint's files changed since (${changed.join(", ") || "files removed"}); train into a new --out, or delete ${outDir}`);
  }
}

/** One line for a record: "NAME @ REVISION (config.json sha256 0123456789ab, ...)". */
export function initSummary(r: Pick<InitRecord, "name" | "revision" | "files">): string {
  return `${r.name}${r.revision ? ` @ ${r.revision}` : ""} (${r.files.map((f) => `${f.name} sha256 ${f.sha256.slice(0, 12)}`).join(", ")})`;
}
