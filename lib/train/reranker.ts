/**
 * Load a student model directory of either kind as a re-ranker: RRA-BERT (rerank.ts, no `kind` in
 * config.json) or RRA-GPT (gpt-student.ts, `kind: "rra-gpt"`). Its own file so that rerank.ts and
 * gpt-student.ts do not import each other (tslab cannot load circular imports).
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { ConfigError, DataError, show } from "../core/errors";
import type { RankedList, Run } from "../data/types";
import { GPT_STUDENT_KIND, loadGptStudent, rerankGptLists } from "./gpt-student";
import { loadStudent, rerankLists, type RerankOptions } from "./rerank";

/** The kind of a model directory: "gpt" when config.json has `kind: "rra-gpt"` (gpt-student.ts), "bert" when it has no kind. */
export function studentKind(dir: string): "bert" | "gpt" {
  const file = join(dir, "config.json");
  if (!existsSync(file)) throw new ConfigError(`studentKind: ${show(dir)} is not a model directory: config.json is missing (write one with rra train)`);
  const kind = (JSON.parse(readFileSync(file, "utf8")) as { kind?: unknown }).kind;
  if (kind === undefined) return "bert";
  if (kind === GPT_STUDENT_KIND) return "gpt";
  throw new DataError({ file, field: "kind" }, `absent (RRA-BERT) or ${show(GPT_STUDENT_KIND)}`, show(kind));
}

/** A loaded student of either kind, as a re-ranker. */
export interface Reranker {
  kind: "bert" | "gpt";
  rerank(lists: readonly RankedList[], options?: RerankOptions): Run;
  dispose(): void;
}

/** Load a model directory of either kind (studentKind decides): RRA-BERT scores by s_cls, RRA-GPT by its ranking layer. */
export function loadReranker(dir: string): Reranker {
  if (studentKind(dir) === "gpt") {
    const gpt = loadGptStudent(dir);
    return { kind: "gpt", rerank: (lists, options) => rerankGptLists(gpt, lists, options), dispose: () => gpt.dispose() };
  }
  const bert = loadStudent(dir);
  return { kind: "bert", rerank: (lists, options) => rerankLists(bert, lists, options), dispose: () => bert.dispose() };
}
