/**
 * The replay teacher: answers from a shipped rank_llm prompt/response log, found by the prompt's
 * content (never by position), so any pipeline that forms the same window gets the logged answer.
 * A request matches a logged prompt exactly; failing that, by its content key (letters and digits
 * only), which absorbs the few passages where our ftfy subset cleans text differently from ftfy.
 * A window that was never logged is a TeacherError("not-logged") naming the query and the log.
 */
import { basename, join } from "path";
import { ConfigError, TeacherError, show } from "../../core/errors";
import { didYouMean } from "../../core/names";
import { dataDir, shippedPromptLogs } from "../../data/datasets";
import { readPromptLog } from "../../data/rankllm";
import type { PromptLogEntry } from "../../data/types";
import { countTokens } from "../tokens";
import type { Teacher, TeacherAnswer, TeacherRequest } from "../types";

/** The content key of a prompt: ASCII letters and digits only, lower-cased. */
export function promptContentKey(prompt: string): string {
  return prompt.toLowerCase().replace(/[^a-z0-9]+/g, "");
}

/** How one request was matched, for reports. */
export type ReplayMatch = "exact" | "content";

/** Matching statistics of a replay teacher. */
export interface ReplayStats {
  exact: number;
  content: number;
  notLogged: number;
  /** Logged prompts that occur more than once (the first answer is used). */
  duplicatePrompts: number;
}

/** A replay teacher with its matching statistics. */
export interface ReplayTeacher extends Teacher {
  kind: "replay";
  stats: ReplayStats;
  /** Number of logged windows. */
  size: number;
}

/** The shipped log names (`rankvicuna-7b_bm25-top20-single_dl19`, ...). */
export function replayLogNames(): string[] {
  return shippedPromptLogs().map((p) => basename(p, ".json"));
}

/** The model behind a log name, e.g. `rankvicuna-7b` for `rankvicuna-7b_bm25-top20-single_dl19`. */
export function replayModel(logName: string): string {
  return logName.split("_")[0];
}

/** Open a replay teacher over a shipped log (by name) or any rank_llm log file (by path). */
export function createReplayTeacher(log: string): ReplayTeacher {
  const isName = replayLogNames().includes(log);
  if (!isName && !log.endsWith(".json")) throw new ConfigError(`replay: unknown log ${show(log)}; expected a file path or one of ${replayLogNames().join(", ")}${didYouMean(log, replayLogNames())}`);
  const file = isName ? join(dataDir(), shippedPromptLogs().find((p) => basename(p, ".json") === log) as string) : log;
  const name = basename(file, ".json");
  const entries = readPromptLog(file);
  const exact = new Map<string, PromptLogEntry>();
  const byContent = new Map<string, PromptLogEntry>();
  const stats: ReplayStats = { exact: 0, content: 0, notLogged: 0, duplicatePrompts: 0 };
  for (const e of entries) {
    if (exact.has(e.prompt)) { stats.duplicatePrompts++; continue; }
    exact.set(e.prompt, e);
    const key = promptContentKey(e.prompt);
    if (!byContent.has(key)) byContent.set(key, e);
  }
  const model = replayModel(name);
  return {
    kind: "replay",
    name: `replay:${name}`,
    model,
    canMiss: true,
    stats,
    size: entries.length,
    async rank(request: TeacherRequest): Promise<TeacherAnswer> {
      const t0 = Date.now();
      let hit = exact.get(request.prompt);
      if (hit) stats.exact++;
      else {
        hit = byContent.get(promptContentKey(request.prompt));
        if (hit) stats.content++;
      }
      if (!hit) {
        stats.notLogged++;
        throw new TeacherError(`replay ${name}: window ${request.window.windowId} (query ${request.window.qid}, ${request.window.docs.length} passages, template ${request.templateVersion}) was never logged in ${file}; ` +
          "only windows that rank_llm formed (same passages in the same order, same template) can be replayed; use a projected teacher for other windows", "not-logged");
      }
      return {
        response: hit.response,
        promptTokens: countTokens(hit.prompt, "llama"),
        completionTokens: countTokens(hit.response, "llama") - 1, // generated tokens carry no BOS
        latencyMs: Date.now() - t0,
        cached: true,
      };
    },
  };
}
