/**
 * A lexicon: the collection statistics every lexical signal uses (IDF for the match channel, Token
 * Selection, the TCL, the BM25 features and pseudo-queries), built to match the first stage.
 *
 * - recovered: idf per analyzed term, solved from the first stage's own BM25 scores (recover.ts), with the
 *   first stage's k1, b and avgdl. For the shipped runs (Pyserini BM25 over the 8.8M MS MARCO passages)
 *   these are the full collection's statistics.
 * - corpus: document frequencies over the passages we have (the shipped corpus, plus a new candidates
 *   file's passages), used for terms the scores do not reveal (passage words, queries of a first stage
 *   that is not BM25). A query's own candidate pool is excluded when its idf is looked up (`pool`), so a
 *   query's words do not look common just because its candidates were retrieved for them. The corpus
 *   idf ln(1 + (N' - df' + 0.5) / (df' + 0.5)) over the remaining N' passages is mapped to the recovered
 *   scale by a linear calibration fitted on the terms that have both (each with its query's pool left
 *   out, as in use).
 *
 * Never built from qrels or teacher labels: only texts and first-stage scores.
 */
import { ConfigError, DataError, show } from "../core/errors";
import { expectJsonObject, parseJsonText, readJsonObject } from "../data/text-file";
import { writeFileAtomic } from "../core/files";
import { hash8 } from "../core/hash";
import type { AnalyzedDoc, AnalyzedList } from "./analyzed";
import { bm25Idf, lengthNorm, saturatedTf } from "./lucene";
import { recoverStatistics, type RecoverOptions, type Recovery } from "./recover";

/** Collection statistics for every lexical signal (see the file header). */
export interface Lexicon {
  /** BM25 parameters of the first stage (recovered, or the defaults when nothing could be recovered). */
  k1: number;
  b: number;
  avgdl: number;
  /** Term -> idf recovered from first-stage scores. */
  recovered: ReadonlyMap<string, number>;
  /** Corpus document frequencies (term -> passages containing it) and the number of passages. */
  corpus: { docs: number; df: ReadonlyMap<string, number>; docids: ReadonlySet<string> };
  /** recovered idf ~ intercept + slope * corpus idf (pool left out); identity when nothing was recovered. */
  calibration: { intercept: number; slope: number; pairs: number; r2: number };
  /** Where the statistics come from (files, counts, fit quality). */
  provenance: Record<string, unknown>;
}

/** A query's candidate pool, to leave out of the corpus statistics of its own terms. */
export interface PoolDf {
  /** Pool passages that are part of the corpus. */
  docs: number;
  /** Term -> pool passages (in the corpus) containing it. */
  df: ReadonlyMap<string, number>;
}

/** Where an idf came from. */
export type IdfSource = "recovered" | "corpus";

/** The document frequencies of a pool's passages that belong to the corpus. */
export function poolDf(docs: readonly Pick<AnalyzedDoc, "docid" | "tf">[], corpus: Lexicon["corpus"]): PoolDf {
  const df = new Map<string, number>();
  let n = 0;
  for (const d of docs) {
    if (!corpus.docids.has(d.docid)) continue;
    n++;
    for (const t of d.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  }
  return { docs: n, df };
}

/** Raw corpus idf of a term with a pool left out (uncalibrated). */
export function corpusIdf(lex: Pick<Lexicon, "corpus">, term: string, pool?: PoolDf): number {
  const df = (lex.corpus.df.get(term) ?? 0) - (pool?.df.get(term) ?? 0);
  const n = lex.corpus.docs - (pool?.docs ?? 0);
  return bm25Idf(Math.max(n, 1), Math.max(df, 0));
}

/** The idf of an analyzed term: recovered when known, else the calibrated corpus idf with the pool left out. */
export function termIdf(lex: Lexicon, term: string, pool?: PoolDf): number {
  const r = lex.recovered.get(term);
  if (r !== undefined) return r;
  const c = lex.calibration;
  return Math.max(c.intercept + c.slope * corpusIdf(lex, term, pool), 1e-3);
}

/** termIdf with its source. */
export function termIdfSource(lex: Lexicon, term: string): IdfSource {
  return lex.recovered.has(term) ? "recovered" : "corpus";
}

/** Options of buildLexicon. */
export interface BuildLexiconOptions extends RecoverOptions {
  /** A name for the provenance, e.g. "shipped: dl19 + dl20". */
  name?: string;
  /** Files the lists and passages were read from (provenance). */
  sources?: string[];
}

/**
 * Build a lexicon from analyzed first-stage lists (their scores give the recovered statistics) and the
 * corpus passages (their texts give document frequencies; the lists' own passages are added).
 */
export function buildLexicon(lists: readonly AnalyzedList[], corpusDocs: readonly Pick<AnalyzedDoc, "docid" | "tf">[], options: BuildLexiconOptions = {}): Lexicon {
  const rec = recoverStatistics(lists, options);
  const df = new Map<string, number>();
  const docids = new Set<string>();
  const add = (d: Pick<AnalyzedDoc, "docid" | "tf">): void => {
    if (docids.has(d.docid)) return;
    docids.add(d.docid);
    for (const t of d.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  };
  corpusDocs.forEach(add);
  for (const l of lists) l.docs.forEach(add);
  const corpus = { docs: docids.size, df, docids };
  const calibration = calibrate(rec, lists, corpus);
  const recovered = new Map(rec.ok ? rec.idf : []);
  return {
    k1: rec.k1, b: rec.b, avgdl: rec.ok ? rec.avgdl : meanLength(corpusDocs, lists), recovered, corpus, calibration,
    provenance: {
      name: options.name ?? "lexicon", sources: options.sources ?? [], lists: lists.length, corpusPassages: corpus.docs, corpusTerms: df.size,
      recovery: {
        ok: rec.ok, reason: rec.reason, k1: rec.k1, b: rec.b, avgdl: rec.avgdl, terms: rec.idf.size,
        listsRecovered: rec.lists.filter((l) => l.recovered).length, listsFitted: rec.lists.length,
        medianR2: median(rec.lists.map((l) => l.r2)), medianRmse: median(rec.lists.map((l) => l.rmse)),
        candidatesDropped: rec.lists.reduce((s, l) => s + l.docsDropped, 0),
      },
      calibration,
    },
  };
}

function meanLength(docs: readonly Pick<AnalyzedDoc, "tf">[], lists: readonly AnalyzedList[]): number {
  let n = 0, total = 0;
  const count = (tf: ReadonlyMap<string, number>): void => { n++; for (const v of tf.values()) total += v; };
  docs.forEach((d) => count(d.tf));
  for (const l of lists) l.docs.forEach((d) => count(d.tf));
  return n ? total / n : 1;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** Fit recovered idf ~ a + b * corpus idf over (list, term) pairs, each list's pool left out. */
function calibrate(rec: Recovery, lists: readonly AnalyzedList[], corpus: Lexicon["corpus"]): Lexicon["calibration"] {
  if (!rec.ok) return { intercept: 0, slope: 1, pairs: 0, r2: NaN };
  const xs: number[] = [], ys: number[] = [];
  const byQid = new Map(lists.map((l) => [l.qid, l]));
  for (const f of rec.lists) {
    if (!f.recovered) continue;
    const l = byQid.get(f.qid) as AnalyzedList;
    const pool = poolDf(l.docs, corpus);
    for (const t of Object.keys(f.idf)) {
      xs.push(corpusIdf({ corpus }, t, pool));
      ys.push(rec.idf.get(t) as number);
    }
  }
  if (xs.length < 3) return { intercept: 0, slope: 1, pairs: xs.length, r2: NaN };
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length, my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0, sxx = 0, syy = 0;
  xs.forEach((x, i) => { sxy += (x - mx) * (ys[i] - my); sxx += (x - mx) ** 2; syy += (ys[i] - my) ** 2; });
  const slope = sxx > 0 ? sxy / sxx : 1;
  return { intercept: my - slope * mx, slope, pairs: xs.length, r2: sxx > 0 && syy > 0 ? (sxy * sxy) / (sxx * syy) : NaN };
}

/** Lucene BM25 of every candidate of an analyzed list under the lexicon (the pool left out of corpus idf). */
export function scoreList(lex: Lexicon, list: AnalyzedList, pool: PoolDf = poolDf(list.docs, lex.corpus)): number[] {
  const idf = [...list.queryTerms].map(([t, qtf]) => ({ t, w: qtf * termIdf(lex, t, pool) }));
  return list.docs.map((d) => {
    const norm = lengthNorm(d.length, lex);
    let s = 0;
    for (const { t, w } of idf) s += w * saturatedTf(d.tf.get(t) ?? 0, norm);
    return s;
  });
}

/** A lexicon from a plain idf table (analyzed terms -> idf), e.g. statistics computed elsewhere; unknown terms get `unknownIdf`. */
export function lexiconFromIdf(idf: ReadonlyMap<string, number>, options: { k1?: number; b?: number; avgdl?: number; unknownIdf?: number; name?: string } = {}): Lexicon {
  const { k1 = 0.9, b = 0.4, avgdl = 40, unknownIdf = 1, name = "idf table" } = options;
  return {
    k1, b, avgdl, recovered: new Map(idf), corpus: { docs: 0, df: new Map(), docids: new Set() },
    // an empty corpus gives corpus idf ln(1 + 0.5 / 0.5) = ln 2 for every term: map it to unknownIdf
    calibration: { intercept: unknownIdf, slope: 0, pairs: 0, r2: NaN }, provenance: { name, terms: idf.size },
  };
}

/** Extend a lexicon with new first-stage lists (a candidates file the lexicon never saw): recovered terms and passages are added, earlier values kept. */
export function extendLexicon(lex: Lexicon, lists: readonly AnalyzedList[], options: BuildLexiconOptions = {}): Lexicon {
  const rec = recoverStatistics(lists, { ...options, params: [{ k1: lex.k1, b: lex.b }], avgdlRange: [lex.avgdl * 0.999, lex.avgdl * 1.001] });
  const recovered = new Map(lex.recovered);
  let added = 0;
  if (rec.ok) for (const [t, v] of rec.idf) if (!recovered.has(t)) { recovered.set(t, v); added++; }
  const df = new Map(lex.corpus.df);
  const docids = new Set(lex.corpus.docids);
  for (const l of lists) for (const d of l.docs) {
    if (docids.has(d.docid)) continue;
    docids.add(d.docid);
    for (const t of d.tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
  }
  return {
    ...lex, recovered, corpus: { docs: docids.size, df, docids },
    provenance: { ...lex.provenance, extended: [...((lex.provenance.extended as unknown[]) ?? []), { name: options.name ?? "lists", sources: options.sources ?? [], lists: lists.length, recovered: rec.ok, reason: rec.reason, termsAdded: added }] },
  };
}

/** The identity of a lexicon's contents (for run ids and caches). */
export function lexiconId(lex: Lexicon): string {
  return hash8({ k1: lex.k1, b: lex.b, avgdl: lex.avgdl, r: [...lex.recovered].sort(), n: lex.corpus.docs, c: lex.calibration.intercept, s: lex.calibration.slope, t: lex.corpus.df.size });
}

const FORMAT = "rra-lexicon/1";

/** A lexicon as JSON text (terms sorted, 6 significant decimals; corpus docids kept for pool exclusion). */
export function lexiconJson(lex: Lexicon): string {
  const sorted = <V>(m: ReadonlyMap<string, V>): Array<[string, V]> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify({
    format: FORMAT, id: lexiconId(lex), k1: lex.k1, b: lex.b, avgdl: +lex.avgdl.toFixed(6), calibration: lex.calibration, provenance: lex.provenance,
    recovered: Object.fromEntries(sorted(lex.recovered).map(([t, v]) => [t, +v.toFixed(6)])),
    corpus: { docs: lex.corpus.docs, df: Object.fromEntries(sorted(lex.corpus.df)), docids: [...lex.corpus.docids].sort() },
  }) + "\n";
}

/** Write a lexicon as JSON (lexiconJson). */
export function saveLexicon(file: string, lex: Lexicon): void {
  writeFileAtomic(file, lexiconJson(lex));
}

/** Read a lexicon written by saveLexicon; errors name the file and field. */
export function loadLexicon(file: string): Lexicon {
  return lexiconFromObject(readJsonObject(file, "lexicon (lexicon.json)"), file);
}

/** Parse lexiconJson's text; `file` names the source in errors. */
export function parseLexicon(text: string, file: string): Lexicon {
  return lexiconFromObject(expectJsonObject(parseJsonText(text, file, "lexicon"), file, "lexicon"), file);
}

function lexiconFromObject(o: Record<string, unknown>, file: string): Lexicon {
  if (!o || o.format !== FORMAT) throw new DataError({ file, field: "format" }, show(FORMAT), show(o?.format));
  for (const k of ["k1", "b", "avgdl"]) if (typeof o[k] !== "number" || !Number.isFinite(o[k] as number)) throw new DataError({ file, field: k }, "a finite number", show(o[k]));
  const table = (field: string, v: unknown): Map<string, number> => {
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new DataError({ file, field }, "an object of term -> number", show(v));
    const m = new Map<string, number>();
    for (const [t, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x !== "number" || !Number.isFinite(x)) throw new DataError({ file, field: `${field}.${t}` }, "a finite number", show(x));
      m.set(t, x);
    }
    return m;
  };
  const corpus = o.corpus as { docs?: unknown; df?: unknown; docids?: unknown } | undefined;
  if (!corpus || typeof corpus.docs !== "number" || !Array.isArray(corpus.docids)) throw new DataError({ file, field: "corpus" }, "{docs, df, docids}", show(corpus));
  const cal = o.calibration as Lexicon["calibration"] | undefined;
  if (!cal || typeof cal.intercept !== "number" || typeof cal.slope !== "number") throw new DataError({ file, field: "calibration" }, "{intercept, slope}", show(cal));
  return {
    k1: o.k1 as number, b: o.b as number, avgdl: o.avgdl as number, recovered: table("recovered", o.recovered),
    corpus: { docs: corpus.docs, df: table("corpus.df", corpus.df), docids: new Set(corpus.docids as string[]) },
    calibration: cal, provenance: (o.provenance ?? {}) as Record<string, unknown>,
  };
}

/** Check that a value is a Lexicon-shaped object (for configs that take one). */
export function requireLexicon(value: unknown, where: string): Lexicon {
  const l = value as Lexicon;
  if (!l || typeof l.avgdl !== "number" || !(l.recovered instanceof Map)) throw new ConfigError(`${where}: expected a lexicon (lib/lexical/lexicon.ts), got ${show(value)}`);
  return l;
}
