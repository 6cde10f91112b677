/** `rra label` and `rra label report`: label generation with a teacher, and the cost/quality report. */
import type { Kysely } from "kysely";
import { ConfigError } from "../core/errors";
import { labelReportMarkdown, labelReportRows } from "../labels/report";
import { writeLabelsJsonl } from "../labels/jsonl";
import { MISSING_POLICIES, type MissingPolicy } from "../labels/parse";
import { DEFAULT_LEASE_SECONDS, defaultWorkerId, runLabelWorker, type LabelWorkerEvent } from "../labels/distributed";
import { runLabelJob, type LabelJobConfig, type LabelSummary } from "../labels/pipeline";
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import { listLabelJobs, loadWindows } from "../store/labels";
import type { Database } from "../store/schema";
import { numberFlag, parseFlags, required, type Command } from "./args";
import { initBackend } from "../backend/tf";
import type { Teacher } from "../labels/types";
import { createCrossEncoderTeacher } from "../train/cross-encoder";

const HELP = `rra label --dataset dl19|dl20|noveleval [options]
rra label --dataset ... --worker [--worker-id ID] [--lease-seconds S] [options]
rra label report [--dataset NAME] [--db FILE|URL] [--json]

Generate listwise labels with a teacher: pre-rank the candidates, select windows, shuffle each window
(seeded), prompt the teacher once per window, parse its answer (missing, duplicate, out-of-range and
malformed ids and echoes are counted, never fatal) and store every call and label fact in the store.
A rerun of the same job resumes: answered windows are reused (live calls come from the cache).

With --worker, this process is one of several workers of the job (same options = same job), on this
machine or others sharing a PostgreSQL store: each claims queries (a query with all its windows) under a
lease it renews while working, stores a query's windows only while it still holds the claim, and takes
over the queries of a worker whose lease ran out (it died). Every worker exits when no query is left;
the job's summary is computed from the store. See environment.md, "PostgreSQL store for a team".

Options:
  --dataset NAME     dl19, dl20 or noveleval (required)
  --teacher T        projected:rankvicuna-7b (default), projected:gpt-3.5-turbo-run1, replay:<log>,
                     live[:<model>] (RRA_LLM_BASE_URL or OPENAI_BASE_URL, RRA_LLM_MODEL, RRA_LLM_API_KEY
                     or OPENAI_API_KEY), oracle, bm25,
                     crossencoder:DIR|hf:ORG/NAME (a pretrained cross-encoder, scored locally; rra pull it first)
                     shipped logs: rankvicuna-7b_bm25-top20-single_dl19|dl20, rankvicuna-7b_bm25-top100-sw20s10_dl19|dl20,
                     vicuna-7b-ckpt800_bm25-top20-single_dl19|dl20, vicuna-7b-v1.5-zeroshot_bm25-top100-sw20s10_dl19
  --select MODE      top10+bottom10 (RRADistill, default), top20 (one window), sliding20/10 (RankGPT)
                     (a replay teacher defaults to the selection its log was made with)
  --n N              leading pre-ranked candidates considered (default 50 for top+bottom, 100 otherwise)
  --pre-ranker P     first-stage (shipped BM25 order; TREC DL default) or bm25 (over the candidate pool)
  --shuffle on|off   shuffle each window before prompting (default on; off for replay)
  --template V       prompt template version (default rankvicuna-v1; replay picks its log's)
  --parse-mode M     brackets (default) or rankllm (reads ids as rank_llm did; replay default)
  --seed S           seed of the window shuffles (default 42)
  --rationale-teacher T  also ask T (e.g. live:<small model>) for a short rationale of each window's ranking
  --limit Q          only the first Q queries
  --concurrency C    queries labelled at once (default 4)
  --db FILE|URL      SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --worker           run as one worker of the job (see above)
  --worker-id ID     this worker's name in the claims table (default <host>-<pid>-<start time>)
  --lease-seconds S  a claim not renewed for S seconds may be taken over (default ${DEFAULT_LEASE_SECONDS})
  --out FILE         also write labels.jsonl: one line per (window, document) with facts and target
  --policy P         missing policy of --out targets: hardNegative (default), append, drop
  --json             print the summary object
  -h, --help         this text

Example (the offline RRADistill default):
  rra label --dataset dl19 --teacher projected:rankvicuna-7b --select top10+bottom10 --json`;

async function report(argv: string[]): Promise<number> {
  const { values } = parseFlags("label report", argv, { dataset: { type: "string" }, db: { type: "string" }, json: { type: "boolean" } });
  if (values.help) { console.log(HELP); return 0; }
  const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
  try {
    const jobs = await listLabelJobs(db, { dataset: values.dataset as string | undefined });
    const summaries = jobs.map((j) => j.summary as LabelSummary | undefined).filter((s): s is LabelSummary => s !== undefined);
    if (summaries.length === 0) {
      console.error("rra label report: no label jobs in the store yet; run rra label first");
      return 1;
    }
    const rows = labelReportRows(summaries);
    console.log(values.json ? JSON.stringify(rows, null, 1) : labelReportMarkdown(rows));
    return 0;
  } finally {
    await closeStore(db);
  }
}

/** The label command. */
export const labelCommand: Command = {
  name: "label",
  summary: "generate listwise teacher labels (replay, projected, live, oracle, bm25); `label report` compares jobs",
  help: HELP,
  async run(argv) {
    if (argv[0] === "report") return report(argv.slice(1));
    const { values } = parseFlags("label", argv, {
      dataset: { type: "string" }, teacher: { type: "string" }, select: { type: "string" }, n: { type: "string" }, "pre-ranker": { type: "string" },
      shuffle: { type: "string" }, template: { type: "string" }, "parse-mode": { type: "string" }, seed: { type: "string" }, limit: { type: "string" },
      concurrency: { type: "string" }, "rationale-teacher": { type: "string" }, db: { type: "string" }, out: { type: "string" }, policy: { type: "string" }, json: { type: "boolean" },
      worker: { type: "boolean" }, "worker-id": { type: "string" }, "lease-seconds": { type: "string" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const shuffle = values.shuffle as string | undefined;
    if (shuffle !== undefined && shuffle !== "on" && shuffle !== "off") throw new ConfigError(`rra label: --shuffle expects on or off, got ${JSON.stringify(shuffle)}`);
    const policy = ((values.policy as string | undefined) ?? "hardNegative") as MissingPolicy;
    if (!MISSING_POLICIES.includes(policy)) throw new ConfigError(`rra label: --policy expects ${MISSING_POLICIES.join(", ")}, got ${JSON.stringify(policy)}`);
    const partial: Partial<LabelJobConfig> & { dataset: string } = { dataset: required("label", values, "dataset") };
    if (values.teacher) partial.teacher = values.teacher as string;
    if (values.select) partial.selection = values.select as string;
    if (values.n) partial.n = numberFlag("label", values, "n", 0);
    if (values["pre-ranker"]) partial.preRanker = values["pre-ranker"] as LabelJobConfig["preRanker"];
    if (shuffle) partial.shuffle = shuffle === "on";
    if (values.template) partial.template = values.template as string;
    if (values["parse-mode"]) partial.parseMode = values["parse-mode"] as LabelJobConfig["parseMode"];
    if (values.seed) partial.seed = numberFlag("label", values, "seed", 42);
    if (values.limit) partial.limit = numberFlag("label", values, "limit", 0);
    if (values.concurrency) partial.concurrency = numberFlag("label", values, "concurrency", 4);
    if (values["rationale-teacher"]) partial.rationaleTeacher = values["rationale-teacher"] as string;
    if (!values.worker && (values["worker-id"] !== undefined || values["lease-seconds"] !== undefined)) {
      throw new ConfigError("rra label: --worker-id and --lease-seconds only apply with --worker");
    }
    // a pretrained cross-encoder teacher is a model: made here, above the label pipeline (labels/ does not import models/)
    let teacher: Teacher | undefined;
    if (partial.teacher?.startsWith("crossencoder:")) {
      await initBackend({ quiet: true });
      teacher = createCrossEncoderTeacher(partial.teacher.slice("crossencoder:".length));
    }
    const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
    try {
      if (values.worker) return await runWorker(db, partial, values, policy, teacher);
      const { summary, failures } = await runLabelJob(db, partial, { quiet: Boolean(values.json), teacher });
      if (values.out) {
        const n = writeLabelsJsonl(values.out as string, await loadWindows(db, summary.job), policy);
        console.error(`[label] wrote ${n} label lines to ${values.out as string} (policy ${policy})`);
      }
      if (values.json) console.log(JSON.stringify(summary, null, 1));
      else console.log(labelReportMarkdown(labelReportRows([summary])));
      if (summary.failed > 0) {
        console.error(`[label] ${summary.failed} of ${summary.windows} windows failed (not stored; a rerun retries them):`);
        for (const f of failures.slice(0, 5)) console.error(`[label]   ${f.windows} window(s): ${f.message}`);
        if (failures.length > 5) console.error(`[label]   ... and ${failures.length - 5} other error message(s)`);
      }
      return summary.calls === 0 && summary.windows > 0 ? 1 : 0;
    } finally {
      await teacher?.close?.();
      await closeStore(db);
    }
  },
};

/** `rra label --worker`: one worker of the job; exit 0 once every query is stored, 1 when some failed in every attempt. */
async function runWorker(db: Kysely<Database>, partial: Partial<LabelJobConfig> & { dataset: string }, values: Record<string, unknown>, policy: MissingPolicy, teacher?: Teacher): Promise<number> {
  const leaseSeconds = numberFlag("label", values, "lease-seconds", DEFAULT_LEASE_SECONDS);
  if (!(leaseSeconds > 0)) throw new ConfigError(`rra label: --lease-seconds expects a number of seconds > 0, got ${JSON.stringify(values["lease-seconds"])}`);
  const workerId = (values["worker-id"] as string | undefined) ?? defaultWorkerId();
  const log = (e: LabelWorkerEvent): void => {
    const what = e.kind === "claimed" ? `claimed ${e.items.map((c) => (c.attempts > 1 ? `${c.qid} (attempt ${c.attempts})` : c.qid)).join(", ")}`
      : e.kind === "released" || e.kind === "failed" ? `${e.kind} ${e.qid} (${e.failedWindows} window(s) failed)` : `${e.kind} ${e.qid}`;
    console.error(`[label worker ${workerId}] ${what}`);
  };
  const { completed, lost, counts, jobId, summary } = await runLabelWorker(db, partial, { quiet: true, leaseSeconds, workerId, onEvent: log, teacher });
  console.error(`[label worker ${workerId}] stored ${completed} query(ies), lost ${lost}; job ${jobId}: ${counts.done} done, ${counts.failed} failed of ${counts.total}`);
  if (values.out) {
    const n = writeLabelsJsonl(values.out as string, await loadWindows(db, jobId), policy);
    console.error(`[label] wrote ${n} label lines to ${values.out as string} (policy ${policy})`);
  }
  if (values.json) console.log(JSON.stringify(summary, null, 1));
  return counts.failed > 0 ? 1 : 0;
}
