/**
 * Score fusion of two runs over the same candidates, e.g. a student re-ranker and the first stage it
 * re-ranks (BM25). Per query, each run's scores are standardised over that query's documents
 * (z = (s - mean) / std; a constant list gives z = 0), and the fused score of a document of run `a` is
 *   (1 - w) * z_a + w * z_b,
 * with z_b = the lowest z_b of the query when run `b` does not have the document. w = 0 is run `a`'s
 * order, w = 1 run `b`'s. `tuneFusionWeight` picks w on a grid by mean nDCG@10 (ties: smaller w) against
 * the qrels it is given: pass the TRAINING year's qrels, so the test year never informs w.
 */
import { ConfigError, show } from "../core/errors";
import type { Candidate, Qrels, RankedList, Run } from "../data/types";
import { evaluateRun } from "./evaluate";

/** A run from first-stage candidate lists (their own scores), limited to the first `depth` candidates. */
export function firstStageRun(lists: readonly RankedList[], tag = "first-stage", depth = 100): Run {
  const run: Run = { tag, queries: new Map() };
  for (const l of lists) run.queries.set(l.qid, l.candidates.slice(0, depth).map((c) => ({ docid: c.docid, score: c.score, rank: c.rank })));
  return run;
}

/** z-scores of a list of numbers (population std; a constant list gives zeros). */
export function zScores(values: readonly number[]): number[] {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / Math.max(n, 1);
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(n, 1));
  return values.map((v) => (sd > 0 ? (v - mean) / sd : 0));
}

function zScoresByDoc(docs: readonly Candidate[]): Map<string, number> {
  const z = zScores(docs.map((d) => d.score));
  return new Map(docs.map((d, i) => [d.docid, z[i]]));
}

/** Fuse run `a` with run `b` at weight `w` in [0, 1] (see the module header); the fused run has a's documents. */
export function fuseRuns(a: Run, b: Run, w: number, tag = `${a.tag}+${b.tag}@${w}`): Run {
  if (!(w >= 0 && w <= 1)) throw new ConfigError(`fuseRuns: weight must be in [0, 1], got ${show(w)}`);
  const out: Run = { tag, queries: new Map() };
  for (const [qid, docs] of a.queries) {
    const za = zScoresByDoc(docs);
    const bDocs = b.queries.get(qid) ?? [];
    const zb = zScoresByDoc(bDocs);
    const floor = zb.size ? Math.min(...zb.values()) : 0;
    const fused = docs.map((d, i) => ({ docid: d.docid, score: (1 - w) * (za.get(d.docid) as number) + w * (zb.get(d.docid) ?? floor), order: i }));
    fused.sort((x, y) => y.score - x.score || x.order - y.order);
    out.queries.set(qid, fused.map((f, r) => ({ docid: f.docid, score: f.score, rank: r + 1 })));
  }
  return out;
}

/** The default weight grid: 0, 0.1, ..., 1. */
export const FUSION_GRID: readonly number[] = Array.from({ length: 11 }, (_, i) => i / 10);

/** The weight of the grid with the best mean nDCG@10 on `qrels` (ties: the smaller weight), and every grid point's value. */
export function tuneFusionWeight(qrels: Qrels, a: Run, b: Run, grid: readonly number[] = FUSION_GRID): { weight: number; ndcg: number; curve: Array<{ weight: number; ndcg: number }> } {
  if (grid.length === 0) throw new ConfigError("tuneFusionWeight: the weight grid is empty");
  const curve = grid.map((w) => ({ weight: w, ndcg: evaluateRun(qrels, fuseRuns(a, b, w), { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"] }));
  const best = curve.reduce((p, c) => (c.ndcg > p.ndcg ? c : p));
  return { weight: best.weight, ndcg: best.ndcg, curve };
}
