/**
 * The Term Control Layer's variables in a model directory: `tcl.json` next to the encoder files
 * (lib/train/rerank.ts saveStudent), with u [H] and c inline as JSON numbers (a float32 printed by
 * JSON.stringify reads back to the same float32, so the round trip is exact), the TclConfig and the
 * Token Selection mode. Inference never needs it; the TCL visualization (notebook 04, lib/analysis/tcl-inspect.ts
 * loadStudentWithTcl) does.
 *
 *   { "format": "rra-tcl/1", "hiddenSize": H, "tokenSelection": "exact", "config": TclConfig, "u": [H numbers], "c": number }
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdirSync } from "fs";
import { join } from "path";
import { ConfigError, DataError, ShapeError, show } from "../core/errors";
import { writeFileAtomic } from "../core/files";
import { readJsonObject } from "../data/text-file";
import { resolveTclConfig, type RraBert, type TclConfig, type TermControlLayer } from "./tcl";

/** File name of the TCL variables in a model directory. */
export const TCL_FILE = "tcl.json";

/** What tcl.json holds. */
export interface TclFile {
  format: "rra-tcl/1";
  /** Hidden size H of the encoder (length of u). */
  hiddenSize: number;
  /** Token Selection mode the TCL was trained with. */
  tokenSelection: string;
  /** The TCL and loss settings. */
  config: TclConfig;
  /** u [H]. */
  u: number[];
  /** c (scalar). */
  c: number;
}

/** The u [H] and c [] variables of a built TCL, found by rank (not by generated layer names). */
function tclVariables(tcl: TermControlLayer, where: string): { u: tf.Variable; c: tf.Variable } {
  const vars = tcl.variables();
  const u = vars.find((v) => v.rank === 1), c = vars.find((v) => v.rank === 0);
  if (!u || !c) throw new ShapeError(`${where}: expected the TCL variables u [H] and c [], got shapes ${vars.map((v) => `[${v.shape}]`).join(", ") || "none"}`);
  return { u, c };
}

/** Write `<dir>/tcl.json` (u, c, TclConfig). Returns false and writes nothing when the model has no TCL. */
export function saveTcl(dir: string, model: Pick<RraBert, "tcl" | "tclConfig" | "tokenSelection">): boolean {
  if (!model.tcl) return false;
  const { u, c } = tclVariables(model.tcl, "saveTcl");
  const file: TclFile = {
    format: "rra-tcl/1", hiddenSize: u.shape[0], tokenSelection: model.tokenSelection, config: { ...model.tclConfig },
    u: Array.from(u.dataSync()), c: c.dataSync()[0],
  };
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, TCL_FILE), JSON.stringify(file) + "\n");
  return true;
}

/** Read and check `<dir>/tcl.json`; throws ConfigError when it is missing, DataError when malformed. */
export function readTclFile(dir: string): TclFile {
  const path = join(dir, TCL_FILE);
  if (!existsSync(path)) {
    throw new ConfigError(`readTclFile: ${show(path)} does not exist: the model in ${show(dir)} was trained without the TCL, or by a training loop that did not save it yet (saveTcl); retrain it after deleting ${show(join(dir, "checkpoint"))}`);
  }
  const raw = readJsonObject(path, "TCL weights (tcl.json)") as Partial<TclFile>;
  if (raw.format !== "rra-tcl/1") throw new DataError({ file: path, field: "format" }, `"rra-tcl/1"`, show(raw.format));
  if (!Array.isArray(raw.u) || !raw.u.every((x) => typeof x === "number" && Number.isFinite(x))) throw new DataError({ file: path, field: "u" }, "an array of finite numbers", show(raw.u));
  if (typeof raw.c !== "number" || !Number.isFinite(raw.c)) throw new DataError({ file: path, field: "c" }, "a finite number", show(raw.c));
  if (raw.hiddenSize !== raw.u.length) throw new DataError({ file: path, field: "hiddenSize" }, `${raw.u.length} (the length of u)`, show(raw.hiddenSize));
  if (typeof raw.tokenSelection !== "string") throw new DataError({ file: path, field: "tokenSelection" }, "a Token Selection mode", show(raw.tokenSelection));
  return { ...(raw as TclFile), config: resolveTclConfig(raw.config ?? {}) as TclConfig };
}

/** Load u and c from `<dir>/tcl.json` into a model built with tcl: true (hidden size and norm must match). */
export function loadTclInto(model: Pick<RraBert, "tcl" | "tclConfig">, dir: string): TclFile {
  if (!model.tcl) throw new ConfigError(`loadTclInto: the model has no TCL; build it with createRraBert(config, { tcl: true, ... })`);
  const file = readTclFile(dir);
  const { u, c } = tclVariables(model.tcl, "loadTclInto");
  if (u.shape[0] !== file.hiddenSize) throw new ShapeError(`loadTclInto: ${show(join(dir, TCL_FILE))} has u of length ${file.hiddenSize}, the model's hidden size is ${u.shape[0]}`);
  if (file.config.norm !== model.tclConfig.norm) {
    throw new ConfigError(`loadTclInto: ${show(join(dir, TCL_FILE))} was trained with norm ${show(file.config.norm)}, the model has norm ${show(model.tclConfig.norm)}; build it with tclConfig from the file (as loadStudentWithTcl does)`);
  }
  tf.tidy(() => {
    u.assign(tf.tensor1d(file.u, "float32"));
    c.assign(tf.scalar(file.c, "float32"));
  });
  return file;
}
