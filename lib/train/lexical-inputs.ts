/**
 * The lexical inputs of a student for candidate lists, computed once per list and shared by training
 * (batches.ts) and scoring (rerank.ts): the idf of the query's terms under the lexicon (the query's own
 * pool left out of corpus statistics), the z-scored first-stage score of each candidate (the residual
 * student's prior) and its standardised lexical features (lexical/features.ts).
 */
import type { RankedList } from "../data/types";
import { analyzeLists } from "../lexical/analyzed";
import { featureTable, type LexicalFeature } from "../lexical/features";
import { poolDf, scoreList, termIdf, type Lexicon } from "../lexical/lexicon";
import { zScores } from "../eval/fusion";

/** What a list gives its pairs. */
export interface ListInputs {
  qid: string;
  /** idf of a term of this query (recovered, else corpus statistics without this query's pool). */
  idf: (term: string) => number;
  /** Docid -> z-score of the first-stage score within the list (the lexicon's BM25 when the list has no scores). */
  firstStage: ReadonlyMap<string, number>;
  /** Docid -> standardised features (feature order of `names`; empty arrays without features). */
  features: ReadonlyMap<string, Float32Array>;
}

const cache = new WeakMap<readonly RankedList[], Map<string, Map<string, ListInputs>>>();

/** Inputs of every list (memoised per lists array, lexicon and feature names). */
export function listInputs(lex: Lexicon, lists: readonly RankedList[], names: readonly LexicalFeature[]): Map<string, ListInputs> {
  let byKey = cache.get(lists);
  if (!byKey) cache.set(lists, (byKey = new Map()));
  const key = `${lexKey(lex)}|${names.join(",")}`;
  const hit = byKey.get(key);
  if (hit) return hit;
  const analyzed = analyzeLists(lists);
  const features = names.length ? featureTable(lex, lists, analyzed, names) : null;
  const out = new Map<string, ListInputs>();
  lists.forEach((l, i) => {
    const a = analyzed[i];
    const pool = poolDf(a.docs, lex.corpus);
    const idfCache = new Map<string, number>();
    const scores = l.candidates.map((c) => c.score);
    const z = zScores(scores.every((s) => Number.isFinite(s)) ? scores : scoreList(lex, a, pool));
    out.set(l.qid, {
      qid: l.qid,
      idf: (t) => {
        let v = idfCache.get(t);
        if (v === undefined) idfCache.set(t, (v = termIdf(lex, t, pool)));
        return v;
      },
      firstStage: new Map(l.candidates.map((c, k) => [c.docid, z[k]])),
      features: features?.get(l.qid) ?? new Map(l.candidates.map((c) => [c.docid, new Float32Array(0)])),
    });
  });
  byKey.set(key, out);
  return out;
}

const ids = new WeakMap<Lexicon, number>();
let nextId = 0;
function lexKey(lex: Lexicon): number {
  let k = ids.get(lex);
  if (k === undefined) ids.set(lex, (k = ++nextId));
  return k;
}
