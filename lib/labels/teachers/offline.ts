/**
 * Teachers that need no LLM: `projected` (a real teacher's full re-ranked run restricted to the window),
 * `oracle` (the qrels: an upper bound) and `bm25` (the first-stage scorer: a lower bound). They answer in
 * the LLM's own format (`[3] > [1] > ...`), so the same parser and label code serve every teacher, and
 * never leave a document out.
 */
import { join } from "path";
import { ConfigError, TeacherError, show } from "../../core/errors";
import { didYouMean } from "../../core/names";
import { dataDir, shippedRuns } from "../../data/datasets";
import { readRun } from "../../data/trec";
import type { Qrels } from "../../data/types";
import { permutationText } from "../parse";
import { countTokens, tokenizerFor } from "../tokens";
import type { LabelWindow, Teacher, TeacherAnswer, TeacherKind, TeacherRequest } from "../types";

/** Build a teacher from a function that orders a window (indices into window.docs, best first). */
export function orderingTeacher(spec: { kind: TeacherKind; name: string; model: string; estimateTokens: boolean }, order: (w: LabelWindow) => number[]): Teacher {
  const tokenizer = tokenizerFor(spec.model);
  return {
    kind: spec.kind,
    name: spec.name,
    model: spec.model,
    canMiss: false,
    async rank(request: TeacherRequest): Promise<TeacherAnswer> {
      const t0 = Date.now();
      const response = permutationText(order(request.window));
      return {
        response,
        // what the LLM this teacher stands for would have been charged (estimated), none for bounds
        promptTokens: spec.estimateTokens ? countTokens(request.prompt, tokenizer) : null,
        completionTokens: spec.estimateTokens ? countTokens(response, tokenizer) - (tokenizer === "llama" ? 1 : 0) : null,
        latencyMs: Date.now() - t0,
        cached: true,
      };
    },
  };
}

/** Sort window positions by a key, best first; ties keep the shown order. */
function orderBy(w: LabelWindow, key: (docid: string) => number): number[] {
  return w.docs.map((d, i) => ({ i, k: key(d.docid) })).sort((a, b) => b.k - a.k || a.i - b.i).map((x) => x.i);
}

/**
 * `projected:<system>`: the shipped run of `system` for the dataset (e.g. rankvicuna-7b, gpt-3.5-turbo-run1),
 * ranked by its rank column and restricted to the window. Labels windows that were never logged, such as
 * RRADistill's top 10 + bottom 10 of 50. It never produces missing ids.
 */
export function createProjectedTeacher(system: string, dataset: string): Teacher {
  const runs = shippedRuns().filter((r) => r.dataset === dataset);
  const r = runs.find((x) => x.system === system);
  if (!r) throw new ConfigError(`projected: no shipped ${dataset} run named ${show(system)}; available: ${runs.map((x) => x.system).join(", ") || "none (projected teachers exist for dl19 and dl20)"}${didYouMean(system, runs.map((x) => x.system))}`);
  const run = readRun(join(dataDir(), r.file));
  const rank = new Map<string, Map<string, number>>();
  for (const [qid, docs] of run.queries) rank.set(qid, new Map(docs.map((d) => [d.docid, d.rank])));
  return orderingTeacher({ kind: "projected", name: `projected:${system}`, model: system.replace(/-run\d+$/, ""), estimateTokens: true }, (w) => {
    const ranks = rank.get(w.qid);
    if (!ranks) throw new TeacherError(`projected:${system}: the run has no query ${w.qid}`, "not-logged");
    const missing = w.docs.filter((d) => !ranks.has(d.docid)).map((d) => d.docid);
    if (missing.length) throw new TeacherError(`projected:${system}: query ${w.qid}: the run does not rank ${missing.join(", ")}`, "not-logged");
    return orderBy(w, (docid) => -(ranks.get(docid) as number));
  });
}

/** `oracle`: the qrels grades (unjudged = 0), ties in shown order. An upper bound, not a teacher one can have. */
export function createOracleTeacher(qrels: Qrels): Teacher {
  return orderingTeacher({ kind: "oracle", name: "oracle", model: "qrels", estimateTokens: false }, (w) => orderBy(w, (docid) => qrels.get(w.qid)?.get(docid) ?? 0));
}

/** A teacher from any per-query scorer (e.g. BM25 over the candidate pool): a lower bound named by `name`. */
export function createScoreTeacher(kind: TeacherKind, name: string, score: (qid: string, docid: string) => number): Teacher {
  return orderingTeacher({ kind, name, model: name, estimateTokens: false }, (w) => orderBy(w, (docid) => score(w.qid, docid)));
}
