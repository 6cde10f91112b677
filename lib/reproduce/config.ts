/**
 * The configuration of `rra reproduce` (`npm start`): which label jobs, students, directions and seeds
 * the end-to-end run covers, in two presets. Every student selects its epoch count on held-out folds of
 * its training year (student.folds), never on the test year. `default` is sized to finish within 20 minutes on a 2-core
 * machine (the two cross-year directions train in two processes); `fast` runs every step on a few queries
 * within 3 minutes, for a first look and for CI. A JSON file (`--config FILE`) overrides any field.
 */
import { readFileSync } from "fs";
import { ConfigError, DataError, show } from "../core/errors";
import { hash8 } from "../core/hash";
import { parseDirection } from "../ablate/grid";
import { TARGET_FORMS } from "../labels/convert";
import { parseSelection } from "../labels/select";
import { isLossName } from "../losses/index";
import { STUDENT_KINDS } from "../pipeline/students";
import { MEASURED_SETTINGS, type TrainConfig } from "../train/config";

/** A label job of the cost-and-quality comparison (run for both TREC DL years). */
export interface LabelJobSpec {
  /** Teacher name; `{year}` is replaced by dl19 / dl20 (replayed logs are per year). */
  teacher: string;
  /** Selection (top10+bottom10, top20, sliding20/10); default: the teacher's own. */
  selection?: string;
  /** Only on these years (default both). */
  years?: Array<"dl19" | "dl20">;
}

/** Everything `rra reproduce` runs. */
export interface ReproduceConfig {
  /** A name for the run's folder and results (`default`, `fast`, or yours). */
  name: string;
  /** Seeds of every student (each student trained once per seed; tables average per query over seeds). */
  seeds: number[];
  /** The teacher whose labels the students learn from. */
  teacher: string;
  /** Label jobs compared for cost and quality (the RRADistill window, the sliding window, noisier teachers). */
  labelJobs: LabelJobSpec[];
  /** Label-report jobs look at the first N queries only (0 = all). The students' own labels always use every query. */
  labelQueries: number;
  /** Cross-year directions `train->test`: labels and epoch selection on the first, testing on the second. */
  directions: string[];
  /** Training settings shared by every student (TrainConfig fields: the recipe, epochs, learning rate, selection folds). */
  student: Partial<TrainConfig>;
  /** Overrides of the RRA-GPT students on top of `student`. */
  gpt: Partial<TrainConfig>;
  /** The students of each direction's table (pipeline/students.ts STUDENT_KINDS). */
  students: string[];
  /**
   * A student (a kind of `students`' table) trained again on the teacher's full ranking of all 100
   * candidates, the output of its sliding window (9 calls per query; `selection` top100 of the projected
   * teacher, one group of 100) or on the sliding windows themselves (`selection` sliding20/10): the label
   * budget's effect. null skips it.
   */
  fullRanking: { student: string; selection: string; epochs: number } | null;
  /**
   * The loss and target ablation on one direction: every loss with top-heavy (exp) and linear gains, on
   * `student` (default the lexical ranker: the composition is where the labels' signal lands, and it
   * costs seconds; "residual-notcl" runs it on the transformer student).
   */
  lossAblation: { direction: string; losses: string[]; targets: string[]; student: string };
  /** The cross-validation protocol over both years (pipeline/crossval.ts), or null to skip it. */
  crossval: { students: string[]; folds: number } | null;
  /** Test on the first N queries of each test set (0 = all). */
  testQueries: number;
  /** Also test the BERT students on NovelEval (unseen, post-cutoff queries). */
  noveleval: boolean;
  /** Format of the exported best model. */
  exportFormat: "onnx" | "tfjs";
  /**
   * Warm start (train/init.ts): the BERT checkpoint the RRA-BERT transformer students (not the lexical
   * ranker) start from, a Hugging Face model folder or "hf:ORG/NAME[@REVISION]"; absent or null = the
   * presets, trained from scratch (the default: nothing is downloadable offline).
   */
  init?: string | null;
  /** The GPT-2 checkpoint of the RRA-GPT students, as `init`. Absent or null = from scratch. */
  gptInit?: string | null;
}

/** The shared student settings: the v3 recipe with honest selection on 3 held-out folds of the training year. */
const SHARED: Partial<TrainConfig> = { arch: "bert", ...MEASURED_SETTINGS };

/**
 * The default run (`npm start`): tiny students, one seed, both directions, every figure; 18 min 10 s on 2 idle
 * cores from a fresh clone (measured 2026-12-02; more seeds do not fit the 20-minute budget: set `seeds` in a
 * config file for more).
 */
export const DEFAULT_REPRODUCE: Readonly<ReproduceConfig> = Object.freeze({
  name: "default",
  seeds: [1],
  teacher: "projected:rankvicuna-7b",
  labelJobs: [
    { teacher: "projected:rankvicuna-7b", selection: "top10+bottom10" },
    { teacher: "replay:rankvicuna-7b_bm25-top20-single_{year}" },
    { teacher: "replay:rankvicuna-7b_bm25-top100-sw20s10_{year}" },
    { teacher: "replay:vicuna-7b-ckpt800_bm25-top20-single_{year}" },
    { teacher: "replay:vicuna-7b-v1.5-zeroshot_bm25-top100-sw20s10_{year}", years: ["dl19"] },
  ],
  labelQueries: 0,
  directions: ["dl19->dl20", "dl20->dl19"],
  student: SHARED,
  gpt: { epochs: 3, maxLength: 128 },
  students: ["residual", "residual-notcl", "lexical", "pure", "gpt"],
  fullRanking: { student: "lexical", selection: "top100", epochs: 1 },
  lossAblation: { direction: "dl19->dl20", losses: ["listNet", "lambdaNdcg2"], targets: ["exp", "linear"], student: "lexical" },
  crossval: { students: ["lexical"], folds: 5 },
  testQueries: 0,
  noveleval: true,
  exportFormat: "onnx",
} satisfies ReproduceConfig);

/** `--fast`: every step on a few queries and short sequences, within 3 minutes. Numbers are not meaningful. */
export const FAST_REPRODUCE: Readonly<ReproduceConfig> = Object.freeze({
  ...DEFAULT_REPRODUCE,
  name: "fast",
  labelQueries: 8,
  student: { ...SHARED, epochs: 1, folds: 2, trainQueries: 10, maxLength: 64, groupSize: 10 },
  gpt: { epochs: 1, maxLength: 48 },
  students: ["residual", "residual-notcl", "lexical", "pure", "gpt"],
  fullRanking: { student: "lexical", selection: "top100", epochs: 1 },
  lossAblation: { direction: "dl19->dl20", losses: ["listNet"], targets: ["exp", "linear"], student: "lexical" },
  crossval: { students: ["lexical"], folds: 3 },
  testQueries: 12,
} satisfies ReproduceConfig);

// init and gptInit are optional, so that a configuration without them keeps its stored steps' keys
const KEYS = [...Object.keys(DEFAULT_REPRODUCE), "init", "gptInit"] as Array<keyof ReproduceConfig>;
/** TrainConfig fields reproduce sets itself per student; a config file may not override them. */
const CONTROLLED: readonly string[] = ["train", "dev", "seed", "out", "labels", "teacher", "selection", "loss", "tcl", "fold", "heldOut", "stopEpoch"];

/** Resolve a preset plus overrides (from a file or code) into a validated configuration. */
export function resolveReproduceConfig(overrides: Partial<ReproduceConfig> = {}, options: { fast?: boolean; source?: string } = {}): ReproduceConfig {
  const where = options.source ? `reproduce config ${options.source}` : "reproduce config";
  for (const k of Object.keys(overrides)) {
    if (!(KEYS as string[]).includes(k)) throw new ConfigError(`${where}: unknown key ${show(k)}; expected one of ${KEYS.join(", ")}`);
  }
  const base = options.fast ? FAST_REPRODUCE : DEFAULT_REPRODUCE;
  const cfg: ReproduceConfig = JSON.parse(JSON.stringify({ ...base, ...overrides, name: overrides.name ?? (options.source ? "custom" : base.name) }));
  if (typeof cfg.name !== "string" || !/^[A-Za-z0-9._-]+$/.test(cfg.name)) throw new ConfigError(`${where}: name must be letters, digits, . _ -, got ${show(cfg.name)}`);
  if (!Array.isArray(cfg.seeds) || cfg.seeds.length === 0 || cfg.seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new ConfigError(`${where}: seeds must be a non-empty list of non-negative integers, got ${show(JSON.stringify(cfg.seeds))}`);
  if (!Array.isArray(cfg.directions) || cfg.directions.length === 0) throw new ConfigError(`${where}: directions must list at least one of "dl19->dl20", "dl20->dl19"`);
  const names = cfg.directions.map((d) => parseDirection(d).name);
  if (new Set(names).size !== names.length) throw new ConfigError(`${where}: directions lists a direction twice: ${show(names.join(", "))}`);
  cfg.directions = names;
  cfg.lossAblation.direction = parseDirection(cfg.lossAblation.direction).name;
  if (!names.includes(cfg.lossAblation.direction)) throw new ConfigError(`${where}: lossAblation.direction ${show(cfg.lossAblation.direction)} is not one of directions (${names.join(", ")})`);
  for (const l of cfg.lossAblation.losses) if (!isLossName(l)) throw new ConfigError(`${where}: lossAblation.losses: unknown loss ${show(l)}`);
  for (const t of cfg.lossAblation.targets ?? []) if (!TARGET_FORMS.includes(t)) throw new ConfigError(`${where}: lossAblation.targets: unknown target form ${show(t)}; expected ${TARGET_FORMS.join(", ")}`);
  if (!Array.isArray(cfg.lossAblation.targets) || cfg.lossAblation.targets.length === 0) throw new ConfigError(`${where}: lossAblation.targets must list at least one of ${TARGET_FORMS.join(", ")}`);
  const kinds = STUDENT_KINDS as readonly string[];
  if (!Array.isArray(cfg.students) || cfg.students.length === 0) throw new ConfigError(`${where}: students must list some of ${kinds.join(", ")}`);
  for (const k of cfg.students) if (!kinds.includes(k)) throw new ConfigError(`${where}: students: unknown student ${show(k)}; expected some of ${kinds.join(", ")}`);
  if (cfg.fullRanking !== null) {
    const f = cfg.fullRanking;
    if (typeof f !== "object" || typeof f.student !== "string" || typeof f.selection !== "string" || !Number.isInteger(f.epochs) || f.epochs < 1) throw new ConfigError(`${where}: fullRanking must be null or { student, selection, epochs >= 1 }, got ${show(JSON.stringify(f))}`);
    parseSelection(f.selection);
  }
  for (const [field, k] of [["fullRanking.student", cfg.fullRanking?.student ?? "lexical"], ["lossAblation.student", cfg.lossAblation.student]] as const) {
    if (!kinds.includes(k) || k.startsWith("gpt")) throw new ConfigError(`${where}: ${field}: expected an RRA-BERT student kind (${kinds.filter((x) => !x.startsWith("gpt")).join(", ")}), got ${show(k)}`);
  }
  if (cfg.crossval !== null) {
    if (typeof cfg.crossval !== "object" || !Array.isArray(cfg.crossval.students) || !Number.isInteger(cfg.crossval.folds) || cfg.crossval.folds < 2) throw new ConfigError(`${where}: crossval must be null or { students: [...], folds: K >= 2 }, got ${show(JSON.stringify(cfg.crossval))}`);
    for (const k of cfg.crossval.students) if (!kinds.includes(k)) throw new ConfigError(`${where}: crossval.students: unknown student ${show(k)}; expected some of ${kinds.join(", ")}`);
  }
  for (const part of ["student", "gpt"] as const) {
    for (const k of Object.keys(cfg[part])) if (CONTROLLED.includes(k)) throw new ConfigError(`${where}: ${part}.${k} is set by reproduce itself; remove it`);
  }
  for (const k of ["labelQueries", "testQueries"] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 0) throw new ConfigError(`${where}: ${k} must be an integer >= 0, got ${show(cfg[k])}`);
  }
  if (cfg.exportFormat !== "onnx" && cfg.exportFormat !== "tfjs") throw new ConfigError(`${where}: exportFormat must be onnx or tfjs, got ${show(cfg.exportFormat)}`);
  if (!Array.isArray(cfg.labelJobs) || cfg.labelJobs.some((j) => typeof j?.teacher !== "string")) throw new ConfigError(`${where}: labelJobs must be a list of { teacher, selection?, years? }`);
  if (!cfg.labelJobs.some((j) => j.teacher === cfg.teacher)) cfg.labelJobs.unshift({ teacher: cfg.teacher, selection: "top10+bottom10" });
  for (const k of ["init", "gptInit"] as const) {
    const v = cfg[k];
    if (v === null || v === undefined || v === "") delete cfg[k];
    else if (typeof v !== "string") throw new ConfigError(`${where}: ${k} must be null or a model folder / "hf:ORG/NAME[@REVISION]", got ${show(v)}`);
  }
  for (const part of ["student", "gpt"] as const) {
    if ("init" in cfg[part]) throw new ConfigError(`${where}: ${part}.init: give the checkpoint as the top-level ${part === "gpt" ? "gptInit" : "init"} (it is for one architecture: the RRA-BERT transformer students or the RRA-GPT ones), not inside ${part}`);
  }
  if (typeof cfg.noveleval !== "boolean") throw new ConfigError(`${where}: noveleval must be true or false, got ${show(cfg.noveleval)}`);
  return cfg;
}

/** Read a JSON config file (an object of ReproduceConfig fields) and resolve it; errors name the file. */
export function readReproduceConfig(file: string, options: { fast?: boolean } = {}): ReproduceConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(`reproduce config ${file}: cannot read it: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DataError({ file }, "a JSON object of reproduce settings", (e as Error).message);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new DataError({ file }, "a JSON object of reproduce settings", show(text.slice(0, 40)));
  return resolveReproduceConfig(parsed as Partial<ReproduceConfig>, { ...options, source: file });
}

/** The folder name of a configuration's work: `<name>-<hash8 of the resolved config>`. */
export function reproduceId(cfg: ReproduceConfig): string {
  return `${cfg.name}-${hash8(cfg)}`;
}
