/**
 * Teachers by name, as the CLI and notebooks give them:
 *   replay:<log>          a shipped rank_llm log (or a log file path), answered by prompt content
 *   projected:<system>    a shipped full re-ranked run restricted to the window (rankvicuna-7b, gpt-3.5-turbo-run1, ...)
 *   live[:<model>]        an OpenAI-compatible endpoint (RRA_LLM_BASE_URL, RRA_LLM_MODEL, RRA_LLM_API_KEY)
 *   oracle                the qrels (upper bound)
 *   bm25                  BM25 over the query's candidate pool (lower bound)
 */
import type { Kysely } from "kysely";
import { ConfigError, show } from "../../core/errors";
import { didYouMean } from "../../core/names";
import type { Dataset } from "../../data/types";
import type { Database } from "../../store/schema";
import { createBm25Index, scoreBm25 } from "../bm25";
import type { Teacher } from "../types";
import { createLiveTeacher, liveConfigFromEnv } from "./live";
import { createOracleTeacher, createProjectedTeacher, createScoreTeacher } from "./offline";
import { createReplayTeacher, replayLogNames } from "./replay";

/** Defaults a teacher implies for a label job (a replay teacher must render exactly what was logged). */
export interface TeacherDefaults {
  template?: string;
  parseMode?: "brackets" | "rankllm";
  shuffle?: boolean;
  preRanker?: "first-stage" | "bm25";
  selection?: string;
}

const TEACHER_FORMS = "replay:<log>, projected:<system>, live[:<model>], oracle or bm25";

/** What a teacher name implies for the job's other settings. */
export function teacherDefaults(spec: string): TeacherDefaults {
  if (spec.startsWith("replay:")) {
    const log = spec.slice("replay:".length);
    const template = log.startsWith("vicuna-7b-ckpt800") ? "rankvicuna-v0" : log.startsWith("vicuna-7b-v1.5-zeroshot") ? "rankgpt-chat-v1" : "rankvicuna-v1";
    // rank_llm showed windows in first-stage order, unshuffled, and parsed answers its own way
    return { template, parseMode: "rankllm", shuffle: false, preRanker: "first-stage", selection: /top100-sw20s10/.test(log) ? "sliding20/10" : "top20" };
  }
  return {};
}

/** Create a teacher from its name for a dataset. */
export function createTeacher(spec: string, ctx: { db: Kysely<Database>; dataset: Dataset }): Teacher {
  const [kind, ...rest] = spec.split(":");
  const arg = rest.join(":");
  switch (kind) {
    case "replay":
      if (!arg) throw new ConfigError(`teacher ${show(spec)}: name the log, e.g. replay:rankvicuna-7b_bm25-top20-single_dl19 (one of ${replayLogNames().join(", ")})`);
      return createReplayTeacher(arg);
    case "projected":
      if (!arg) throw new ConfigError(`teacher ${show(spec)}: name the run, e.g. projected:rankvicuna-7b or projected:gpt-3.5-turbo-run1`);
      return createProjectedTeacher(arg, ctx.dataset.name);
    case "live":
      return createLiveTeacher(ctx.db, liveConfigFromEnv(arg ? { model: arg } : {}));
    case "oracle":
      return createOracleTeacher(ctx.dataset.qrels);
    case "bm25": {
      const scores = new Map<string, Map<string, number>>();
      for (const l of ctx.dataset.lists) {
        const docs = l.candidates.map((c) => ({ docid: c.docid, text: c.text ?? ctx.dataset.passages.get(c.docid)?.text ?? "" }));
        scores.set(l.qid, scoreBm25(createBm25Index(docs), l.query));
      }
      return createScoreTeacher("bm25", "bm25", (qid, docid) => scores.get(qid)?.get(docid) ?? 0);
    }
    case "crossencoder":
      // a model, made above the label pipeline (labels/ does not import models/): rra label does it
      throw new ConfigError(`teacher ${show(spec)}: a cross-encoder teacher is a model; create it with createCrossEncoderTeacher (lib/train/cross-encoder.ts) and pass it as {teacher} to runLabelJob (rra label --teacher crossencoder:... does this)`);
    default:
      throw new ConfigError(`unknown teacher ${show(spec)}; expected ${TEACHER_FORMS}${didYouMean(kind, ["replay", "projected", "live", "oracle", "bm25", "crossencoder"])}`);
  }
}
