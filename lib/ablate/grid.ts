/**
 * The student ablation grid: loss x missing policy x TCL on/off x Token Selection mode x seeds, per
 * cross-year direction (train on one TREC DL year's labels, evaluate on the other). A typed spec with
 * defaults and validation, expanded into cells; each cell is one `trainStudent` run.
 *
 * The TCL-off cells do not depend on the Token Selection mode (no TCL, nothing is selected), so they
 * are expanded once per (loss, missing, seed, direction) and trained with the default mode, which keeps
 * their run ids independent of the `ts` list.
 */
import { ConfigError, RraError, show } from "../core/errors";
import { didYouMean } from "../core/names";
import { MISSING_POLICIES, type MissingPolicy } from "../labels/parse";
import { parseSelectionMode } from "../models/token-selection";
import { resolveTrainConfig, TRAIN_DEFAULTS, trainRunId, type TrainConfig } from "../train/loop";
import { configKey } from "./table";

/**
 * A cross-year direction: train on `train`'s teacher labels, pick the best epoch by nDCG@10 on `train`'s
 * own qrels (the test year never informs training or selection), and test on `dev`.
 */
export interface Direction {
  /** As written: `dl19->dl20`. */
  name: string;
  train: "dl19" | "dl20";
  dev: "dl19" | "dl20";
}

/** What the grid varies; `base` holds every other TrainConfig field shared by all cells. */
export interface AblationGrid {
  /** Ranking losses (lib/losses LOSSES; not the score-distillation ones). Default ["listNet"]. */
  losses: readonly string[];
  /** Policies for teacher-missing documents. Default ["hardNegative"]. */
  missing: readonly MissingPolicy[];
  /** Term Control Layer on (true) / off (false). Default [true, false]. */
  tcl: readonly boolean[];
  /** Token Selection modes of the TCL-on cells (exact, topk:<k>, ...+query). Default ["exact"]. */
  ts: readonly string[];
  /** Seeds (initialisation, shuffling, dropout). Default [1, 2, 3]. */
  seeds: readonly number[];
  /** Directions `train->dev` over dl19 / dl20. Default ["dl19->dl20", "dl20->dl19"]. */
  directions: readonly string[];
  /** Every other TrainConfig field (epochs, preset, maxSteps, ...); may not set a field the grid varies. Default {}. */
  base: Readonly<Partial<TrainConfig>>;
}

/** Defaults of the grid: the TCL ablation of the default student, three seeds, both directions. */
export const ABLATION_GRID_DEFAULTS: Readonly<AblationGrid> = Object.freeze({
  losses: ["listNet"], missing: ["hardNegative"] as MissingPolicy[], tcl: [true, false], ts: ["exact"], seeds: [1, 2, 3],
  directions: ["dl19->dl20", "dl20->dl19"], base: {},
});

/** TrainConfig fields set by the grid itself (or by the ablation's output layout), never by `base`. */
export const GRID_CONTROLLED_KEYS: readonly (keyof TrainConfig)[] = ["loss", "missing", "tcl", "ts", "seed", "train", "dev", "out"];

const YEARS = ["dl19", "dl20"] as const;

/** Parse `dl19->dl20` (or `dl19:dl20`, which needs no shell quoting); ConfigError naming the value otherwise. */
export function parseDirection(text: string): Direction {
  const m = /^\s*(dl19|dl20)\s*(?:->|:)\s*(dl19|dl20)\s*$/.exec(text);
  if (!m) {
    const hint = /-$/.test(text) ? ` (an unquoted -> in a shell redirects; quote the list or write dl19:dl20)` : "";
    throw new ConfigError(`ablation grid: directions: bad direction ${show(text)}; expected TRAIN->DEV or TRAIN:DEV over ${YEARS.join(", ")}, e.g. "dl19->dl20"${hint}`);
  }
  if (m[1] === m[2]) throw new ConfigError(`ablation grid: directions: ${show(text)} trains and tests on the same year; use dl19->dl20 or dl20->dl19`);
  return { name: `${m[1]}->${m[2]}`, train: m[1] as Direction["train"], dev: m[2] as Direction["dev"] };
}

function list<T>(field: string, value: unknown, check: (v: unknown, i: number) => T): T[] {
  if (!Array.isArray(value)) throw new ConfigError(`ablation grid: ${field} must be a list, got ${show(value)}`);
  if (value.length === 0) throw new ConfigError(`ablation grid: ${field} must not be empty`);
  const out = value.map((v, i) => check(v, i));
  const seen = new Set<string>();
  for (const v of out) {
    const k = JSON.stringify(v);
    if (seen.has(k)) throw new ConfigError(`ablation grid: ${field} lists ${show(v)} twice`);
    seen.add(k);
  }
  return out;
}

// Re-throw a TrainConfig error with the grid field that caused it.
function viaTrainConfig<T>(field: string, i: number, value: unknown, overrides: Partial<TrainConfig>, result: T): T {
  try {
    resolveTrainConfig(overrides);
  } catch (e) {
    if (e instanceof RraError) throw new ConfigError(`ablation grid: ${field}[${i}] = ${show(value)}: ${e.message}`);
    throw e;
  }
  return result;
}

/** Merge overrides into ABLATION_GRID_DEFAULTS and validate every field; ConfigError names the field and value. Frozen copy. */
export function resolveAblationGrid(overrides: Partial<AblationGrid> = {}): Readonly<AblationGrid> {
  for (const k of Object.keys(overrides)) {
    if (!(k in ABLATION_GRID_DEFAULTS)) throw new ConfigError(`ablation grid: unknown key ${show(k)}; expected some of ${Object.keys(ABLATION_GRID_DEFAULTS).join(", ")}`);
  }
  const g = { ...ABLATION_GRID_DEFAULTS } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) g[k] = v;

  const base = g.base;
  if (typeof base !== "object" || base === null || Array.isArray(base)) throw new ConfigError(`ablation grid: base must be an object of TrainConfig fields, got ${show(base)}`);
  for (const k of Object.keys(base)) {
    if ((GRID_CONTROLLED_KEYS as string[]).includes(k)) {
      throw new ConfigError(`ablation grid: base must not set ${show(k)}; the grid sets ${GRID_CONTROLLED_KEYS.join(", ")} (use the grid's own lists, and the ablation's out)`);
    }
  }
  try {
    resolveTrainConfig(base as Partial<TrainConfig>);
  } catch (e) {
    if (e instanceof RraError) throw new ConfigError(`ablation grid: base: ${e.message}`);
    throw e;
  }
  const b = base as Partial<TrainConfig>;
  const losses = list("losses", g.losses, (v, i) => {
    if (typeof v !== "string") throw new ConfigError(`ablation grid: losses[${i}] must be a loss name, got ${show(v)}`);
    return viaTrainConfig("losses", i, v, { ...b, loss: v }, v);
  });
  const missing = list("missing", g.missing, (v, i) => {
    if (!MISSING_POLICIES.includes(v as MissingPolicy)) throw new ConfigError(`ablation grid: missing[${i}] must be one of ${MISSING_POLICIES.join(", ")}, got ${show(v)}${didYouMean(String(v), MISSING_POLICIES)}`);
    return v as MissingPolicy;
  });
  const tcl = list("tcl", g.tcl, (v, i) => {
    if (typeof v !== "boolean") throw new ConfigError(`ablation grid: tcl[${i}] must be true (on) or false (off), got ${show(v)}`);
    return v;
  });
  const ts = list("ts", g.ts, (v, i) => {
    if (typeof v !== "string") throw new ConfigError(`ablation grid: ts[${i}] must be a Token Selection mode, got ${show(v)}`);
    try {
      parseSelectionMode(v);
    } catch (e) {
      if (e instanceof RraError) throw new ConfigError(`ablation grid: ts[${i}]: ${e.message}`);
      throw e;
    }
    return v;
  });
  const seeds = list("seeds", g.seeds, (v, i) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new ConfigError(`ablation grid: seeds[${i}] must be an integer >= 0, got ${show(v)}`);
    return v;
  });
  const directions = list("directions", g.directions, (v) => {
    if (typeof v !== "string") throw new ConfigError(`ablation grid: directions must be strings like "dl19->dl20", got ${show(v)}`);
    return parseDirection(v).name;
  });
  return Object.freeze({ losses, missing, tcl, ts, seeds, directions, base: Object.freeze({ ...b }) });
}

/** One training run of the grid. */
export interface AblationCell {
  /** 0-based position in the grid. */
  index: number;
  direction: string;
  train: "dl19" | "dl20";
  dev: "dl19" | "dl20";
  loss: string;
  missing: MissingPolicy;
  tcl: boolean;
  /** Token Selection mode; null for TCL-off cells (no selection). */
  ts: string | null;
  seed: number;
  /** The configuration the row aggregates over seeds: `loss/missing/tcl:<ts>` or `loss/missing/no-tcl`. */
  configKey: string;
  /** The config key of the matching TCL-off cell (same loss and missing). */
  noTclKey: string;
  /** trainStudent overrides, without `out`. */
  trainConfig: Readonly<Partial<TrainConfig>>;
  /** trainRunId of the resolved config. */
  runId: string;
}

/**
 * Expand a grid into cells, ordered direction, loss, missing, TCL (on first), ts, seed. TCL-off cells
 * appear once per (direction, loss, missing, seed) whatever the ts list, trained with TRAIN_DEFAULTS.ts.
 */
export function expandGrid(grid: Partial<AblationGrid> = {}): AblationCell[] {
  const g = resolveAblationGrid(grid);
  const cells: AblationCell[] = [];
  const tclOrder = [true, false].filter((t) => g.tcl.includes(t));
  for (const d of g.directions.map(parseDirection)) {
    for (const loss of g.losses) {
      for (const missing of g.missing) {
        for (const tcl of tclOrder) {
          for (const ts of tcl ? g.ts : [null]) {
            for (const seed of g.seeds) {
              const overrides: Partial<TrainConfig> = { ...g.base, loss, missing, tcl, ts: ts ?? TRAIN_DEFAULTS.ts, seed, train: d.train, dev: d.train };
              const c = { loss, missing, tcl, ts };
              cells.push({
                index: cells.length, direction: d.name, train: d.train, dev: d.dev, loss, missing, tcl, ts, seed,
                configKey: configKey(c), noTclKey: configKey({ ...c, tcl: false, ts: null }),
                trainConfig: Object.freeze(overrides), runId: trainRunId(resolveTrainConfig(overrides)),
              });
            }
          }
        }
      }
    }
  }
  return cells;
}
