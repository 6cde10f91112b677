/**
 * Per-query IR measures, exactly as NIST trec_eval 9.x computes them (m_ndcg_cut.c, m_P.c, m_recall.c,
 * m_map.c, m_recip_rank.c), over plain arrays. No tfjs, no I/O.
 *
 * Input is the ranked list of grades: `grades[i]` is the qrels grade of the document at rank i+1, or
 * `undefined` when that document is unjudged (trec_eval treats it as non-relevant).
 */
import { ConfigError, show } from "../core/errors";

/** The grades of a ranked list (undefined = unjudged) plus the query's judgments needed for ideal values. */
export interface JudgedRanking {
  /** Grade of the document at each rank, best first; undefined when the document is unjudged. */
  grades: ReadonlyArray<number | undefined>;
  /** Every grade judged for this query (ranked or not), for ideal DCG and the number of relevant documents. */
  judged: readonly number[];
}

/** nDCG@k with linear gain and log2(rank+1) discount (trec_eval `ndcg_cut.k`). 0 when no document has grade > 0. */
export function computeNdcg(r: JudgedRanking, k: number): number {
  let dcg = 0;
  const n = Math.min(k, r.grades.length);
  for (let i = 0; i < n; i++) {
    const g = r.grades[i];
    if (g !== undefined && g > 0) dcg += g / Math.log2(i + 2);
  }
  const ideal = r.judged.filter((g) => g > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i] / Math.log2(i + 2);
  return idcg > 0 ? dcg / idcg : 0;
}

/** Number of judged documents with grade >= threshold: the recall base of binary measures. */
export function countRelevant(r: JudgedRanking, threshold: number): number {
  let n = 0;
  for (const g of r.judged) if (g >= threshold) n++;
  return n;
}

const isRel = (g: number | undefined, threshold: number): boolean => g !== undefined && g >= threshold;

/** Precision at k (trec_eval `P.k`): relevant in the top k over k, even when fewer than k were retrieved. */
export function computePrecision(r: JudgedRanking, k: number, threshold: number): number {
  let hits = 0;
  for (let i = 0; i < Math.min(k, r.grades.length); i++) if (isRel(r.grades[i], threshold)) hits++;
  return hits / k;
}

/** Recall at k (trec_eval `recall.k`): relevant in the top k over all relevant judged; 0 if none is relevant. */
export function computeRecall(r: JudgedRanking, k: number, threshold: number): number {
  const numRel = countRelevant(r, threshold);
  if (numRel === 0) return 0;
  let hits = 0;
  for (let i = 0; i < Math.min(k, r.grades.length); i++) if (isRel(r.grades[i], threshold)) hits++;
  return hits / numRel;
}

/** Average precision over the first `k` ranks (all ranks by default; trec_eval `map`, or `map_cut.k`). */
export function computeAveragePrecision(r: JudgedRanking, threshold: number, k = Infinity): number {
  const numRel = countRelevant(r, threshold);
  if (numRel === 0) return 0;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < Math.min(k, r.grades.length); i++) {
    if (isRel(r.grades[i], threshold)) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / numRel;
}

/** Reciprocal rank of the first relevant document within the first `k` ranks (trec_eval `recip_rank`, with -M k). */
export function computeReciprocalRank(r: JudgedRanking, threshold: number, k = Infinity): number {
  for (let i = 0; i < Math.min(k, r.grades.length); i++) if (isRel(r.grades[i], threshold)) return 1 / (i + 1);
  return 0;
}

/** Fraction of the top k that is judged (any grade), over k: how far a run can be trusted on these qrels. */
export function computeJudged(r: JudgedRanking, k: number): number {
  let judged = 0;
  for (let i = 0; i < Math.min(k, r.grades.length); i++) if (r.grades[i] !== undefined) judged++;
  return judged / k;
}

/** The measures the workbench knows. `rr` and `map` without a cutoff look at the whole ranking. */
export type MetricKind = "ndcg" | "mrr" | "rr" | "map" | "p" | "recall" | "judged";

/** A parsed metric key: kind and cutoff. */
export interface MetricSpec {
  /** Canonical key, e.g. `ndcg@10`, `mrr@10`, `map`, `p@10`, `recall@100`, `judged@10`. */
  key: string;
  kind: MetricKind;
  /** Rank cutoff; undefined for `map` and `rr` over the whole list. */
  k?: number;
  /** Whether the measure is binary (uses the relevance threshold). */
  binary: boolean;
}

const KIND_ALIASES: Record<string, MetricKind> = {
  ndcg: "ndcg", ndcg_cut: "ndcg", mrr: "mrr", rr: "rr", recip_rank: "rr", map: "map", map_cut: "map",
  p: "p", precision: "p", recall: "recall", r: "recall", judged: "judged",
};
const NEEDS_CUTOFF: ReadonlySet<MetricKind> = new Set<MetricKind>(["ndcg", "mrr", "p", "recall", "judged"]);

/** The metrics reported when none are asked for. */
export const DEFAULT_METRICS: readonly string[] = ["ndcg@1", "ndcg@5", "ndcg@10", "ndcg@20", "mrr@10", "map", "p@10", "recall@20", "recall@100", "judged@10"];

/**
 * Parse a metric key. Accepts `ndcg@10`, `nDCG@10`, trec_eval names (`ndcg_cut_10`, `ndcg_cut.10`, `P_10`,
 * `recall.100`, `recip_rank`, `map`) and `mrr@10`; returns the canonical key.
 */
export function parseMetric(name: string): MetricSpec {
  const m = /^([a-z_]+?)(?:[@._](\d+))?$/.exec(name.trim().toLowerCase());
  const kind = m ? KIND_ALIASES[m[1]] : undefined;
  if (!m || !kind) {
    throw new ConfigError(`unknown metric ${show(name)}; expected one of ndcg@k, mrr@k, rr, map, map@k, p@k, recall@k, judged@k (trec_eval names such as ndcg_cut_10 or P_10 also work)`);
  }
  const k = m[2] === undefined ? undefined : Number(m[2]);
  if (k === undefined && NEEDS_CUTOFF.has(kind)) throw new ConfigError(`metric ${show(name)} needs a cutoff, e.g. ${kind}@10`);
  if (k !== undefined && k < 1) throw new ConfigError(`metric ${show(name)}: the cutoff must be at least 1, got ${k}`);
  const finalKind: MetricKind = kind === "rr" && k !== undefined ? "mrr" : kind;
  const key = k === undefined ? finalKind : `${finalKind}@${k}`;
  return { key, kind: finalKind, k, binary: finalKind !== "ndcg" && finalKind !== "judged" };
}

/** Compute one parsed metric for one query. */
export function computeMetric(spec: MetricSpec, r: JudgedRanking, threshold: number): number {
  const k = spec.k ?? Infinity;
  switch (spec.kind) {
    case "ndcg": return computeNdcg(r, k);
    case "mrr":
    case "rr": return computeReciprocalRank(r, threshold, k);
    case "map": return computeAveragePrecision(r, threshold, k);
    case "p": return computePrecision(r, k, threshold);
    case "recall": return computeRecall(r, k, threshold);
    case "judged": return computeJudged(r, k);
  }
}
