/**
 * Serving a student's ranking score (models/composition.ts) from its network score: every student kind
 * and format (RRA-BERT, RRA-GPT, trained or exported) scores pairs with its network, and this module adds
 * the composition: s = scale * s_net + w . f + beta * z, with z the first-stage score standardised within
 * the candidate list and f the standardised lexical features, both from the student's lexicon
 * (lexicon.json) and the list. A list without first-stage scores (a service request) gets the
 * lexicon's BM25 as its first stage.
 *
 * Model directory files read and written here:
 * - score.json: `{format: "rra-student-score/1", scale, prior, features: [names], weights: [w]}`;
 * - lexicon.json: the lexicon (lexical/lexicon.ts), when the student uses features, a prior or the
 *   IDF-bucketed match channel.
 * Directories written before score.json existed keep working: tokenizer.json's firstStagePrior and
 * scoreScale give the composition (no features).
 */
import { existsSync } from "fs";
import { readJsonObject } from "../data/text-file";
import { join } from "path";
import { DataError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import type { RankedList, Run } from "../data/types";
import { parseFeatureNames, type LexicalFeature } from "../lexical/features";
import { extendLexicon, loadLexicon, saveLexicon, type Lexicon } from "../lexical/lexicon";
import { analyzeLists } from "../lexical/analyzed";
import { composeScores, type CompositionValues } from "../models/composition";
import type { PairInput } from "./batches";
import { zScores } from "../eval/fusion";
import { listInputs } from "./lexical-inputs";

/** What a student adds to its network score, and the statistics it reads. */
export interface ScoringSpec {
  composition: CompositionValues;
  /** Feature names of the weights (composition.weights[j] weighs features[j]). */
  features: LexicalFeature[];
  /** The student's lexicon (null for a student that needs none). */
  lexicon: Lexicon | null;
}

/** The composition of a plain network score: s = s_net. */
export const IDENTITY_SCORING: Readonly<ScoringSpec> = Object.freeze({ composition: { scale: 1, prior: 0, weights: [] }, features: [], lexicon: null });

const SCORE_FORMAT = "rra-student-score/1";

/** Write score.json (and lexicon.json when the spec has a lexicon). */
export function saveScoringSpec(dir: string, spec: ScoringSpec): void {
  writeFileAtomic(join(dir, "score.json"), JSON.stringify({ format: SCORE_FORMAT, scale: spec.composition.scale, prior: spec.composition.prior, features: spec.features, weights: spec.composition.weights }, null, 1) + "\n");
  if (spec.lexicon) saveLexicon(join(dir, "lexicon.json"), spec.lexicon);
}

/** Read a directory's scoring (score.json + lexicon.json, or the older tokenizer.json settings). */
export function readScoringSpec(dir: string, legacy: { firstStagePrior?: number; scoreScale?: number } = {}): ScoringSpec {
  const file = join(dir, "score.json");
  const lexFile = join(dir, "lexicon.json");
  const lexicon = existsSync(lexFile) ? loadLexicon(lexFile) : null;
  if (!existsSync(file)) {
    return { composition: { scale: legacy.scoreScale ?? 1, prior: legacy.firstStagePrior ?? 0, weights: [] }, features: [], lexicon };
  }
  const o = readJsonObject(file, "score composition (score.json)");
  if (o.format !== SCORE_FORMAT) throw new DataError({ file, field: "format" }, show(SCORE_FORMAT), show(o.format));
  for (const k of ["scale", "prior"]) if (typeof o[k] !== "number" || !Number.isFinite(o[k] as number)) throw new DataError({ file, field: k }, "a finite number", show(o[k]));
  if (!Array.isArray(o.features) || !Array.isArray(o.weights) || o.features.length !== o.weights.length) throw new DataError({ file, field: "features/weights" }, "two lists of the same length", `${show(o.features)} / ${show(o.weights)}`);
  const features = parseFeatureNames(o.features as string[], `${file}: features`);
  const weights = (o.weights as unknown[]).map((w, i) => {
    if (typeof w !== "number" || !Number.isFinite(w)) throw new DataError({ file, field: `weights[${i}]` }, "a finite number", show(w));
    return w;
  });
  if ((features.length || (o.prior as number) !== 0) && !lexicon) throw new DataError({ file: lexFile }, "the student's lexicon (its features and prior read it)", "no lexicon.json");
  return { composition: { scale: o.scale as number, prior: o.prior as number, weights }, features, lexicon };
}

/** Network scores of pairs, in input order. */
export type NetScorer = (pairs: readonly PairInput[]) => Promise<Float32Array> | Float32Array;

/** Options of rerankComposed. */
export interface ComposedRerankOptions {
  /** Leading candidates of each list re-ranked. Default 100. */
  depth?: number;
  /** Run tag. Default "rra-student". */
  tag?: string;
  /** Override the composition's prior weight (e.g. 0: the network and features alone). */
  prior?: number;
  /**
   * Add the lists' first-stage statistics to the lexicon before scoring (recovered idf of new query terms,
   * their passages as corpus): for candidate files the student never saw. Default true.
   */
  extendLexicon?: boolean;
}

/** The lexicon to score `lists` with: the student's, extended with what the lists reveal. */
export function lexiconFor(spec: ScoringSpec, lists: readonly RankedList[], extend = true): Lexicon | null {
  if (!spec.lexicon || !extend) return spec.lexicon;
  const unseen = lists.filter((l) => l.candidates.some((c) => !spec.lexicon?.corpus.docids.has(c.docid)));
  return unseen.length ? extendLexicon(spec.lexicon, analyzeLists(unseen), { name: "candidates scored" }) : spec.lexicon;
}

/** Score the first `depth` candidates of each list (network + composition) and rank them into a run; ties keep first-stage order. */
export async function rerankComposed(lists: readonly RankedList[], scoreNet: NetScorer, spec: ScoringSpec, options: ComposedRerankOptions = {}): Promise<Run> {
  const { depth = 100, tag = "rra-student" } = options;
  const heads = lists.map((l) => ({ ...l, candidates: l.candidates.slice(0, depth) }));
  for (const l of heads) {
    l.candidates.forEach((c) => {
      if (c.text === undefined) throw new DataError({ file: `list ${l.qid}`, field: `docid ${c.docid}` }, "candidate text to re-rank", "no text");
    });
  }
  const lex = lexiconFor(spec, heads, options.extendLexicon ?? true);
  const inputs = lex ? listInputs(lex, heads, spec.features) : null;
  const pairs: PairInput[] = heads.flatMap((l) => l.candidates.map((c) => ({ query: l.query, passage: c.text as string, idf: inputs?.get(l.qid)?.idf })));
  const net = await scoreNet(pairs);
  const composition = options.prior === undefined ? spec.composition : { ...spec.composition, prior: options.prior };
  const run: Run = { tag, queries: new Map() };
  let k = 0;
  for (const l of heads) {
    const n = l.candidates.length;
    const inp = inputs?.get(l.qid);
    const given = l.candidates.map((c) => c.score);
    const z = inp ? l.candidates.map((c) => inp.firstStage.get(c.docid) ?? 0) : given.every((x) => Number.isFinite(x)) ? zScores(given) : null;
    const f = inp && spec.features.length ? l.candidates.map((c) => inp.features.get(c.docid) as Float32Array) : null;
    const s = composeScores(composition, net.subarray(k, k + n), z, f);
    k += n;
    const scored = l.candidates.map((c, j) => ({ docid: c.docid, score: s[j], order: j }));
    scored.sort((a, b) => b.score - a.score || a.order - b.order);
    run.queries.set(l.qid, scored.map((x, r) => ({ docid: x.docid, score: x.score, rank: r + 1 })));
  }
  return run;
}

/** Serving scores of passages for one query given without first-stage scores (the lexicon's BM25 is the first stage), in input order. */
export async function scoreComposed(query: string, passages: readonly string[], scoreNet: NetScorer, spec: ScoringSpec): Promise<Float32Array> {
  if (passages.length === 0) return new Float32Array(0);
  const list: RankedList = { qid: "request", query, candidates: passages.map((text, i) => ({ docid: `p${i}`, score: NaN, rank: i + 1, text })) };
  const run = await rerankComposed([list], scoreNet, spec, { depth: passages.length, extendLexicon: false });
  const byDoc = new Map((run.queries.get("request") ?? []).map((c) => [c.docid, c.score]));
  return Float32Array.from(passages, (_, i) => byDoc.get(`p${i}`) as number);
}
