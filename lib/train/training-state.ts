/**
 * Is a model folder written by `rra train` a finished run? The loop saves the best epoch's weights as it
 * goes and writes `training.json` only at the end, so a run killed after epoch 1 leaves a folder that
 * loads and scores like a finished one. Loaders (loadReranker, exportModel) refuse such a folder unless
 * asked (`--allow-unfinished`), and say how to finish it.
 */
import { existsSync } from "fs";
import { join } from "path";
import { ModelError, show } from "../core/errors";
import { readJsonObject } from "../data/text-file";

/** What a model folder says about its training. */
export interface TrainingState {
  /**
   * "finished": training.json says done or stopped (early stopping) for the run of its checkpoint;
   * "unfinished": a checkpoint without a finished record, an interrupted record, or a newer run started over a finished one;
   * "untracked": neither training.json nor a checkpoint (a folder written by saveStudent directly, or an export).
   */
  status: "finished" | "unfinished" | "untracked";
  /** Why, in words, for messages. */
  detail: string;
}

/** Read `<dir>/training.json` and `<dir>/checkpoint/state.json` and classify the folder. */
export function trainingState(dir: string): TrainingState {
  const recordFile = join(dir, "training.json");
  const stateFile = join(dir, "checkpoint", "state.json");
  const ckpt = existsSync(stateFile) ? readJsonObject(stateFile, "training checkpoint state") : null;
  const at = ckpt ? `epoch ${String(ckpt.epoch)} (step ${String(ckpt.step)}) of run ${String(ckpt.runId)}` : "";
  if (!existsSync(recordFile)) {
    if (!ckpt) return { status: "untracked", detail: "no training.json and no checkpoint" };
    return { status: "unfinished", detail: `it holds a checkpoint after ${at} but no training.json (the training was stopped or killed)` };
  }
  const rec = readJsonObject(recordFile, "training record");
  if (rec.status !== "done" && rec.status !== "stopped") {
    return { status: "unfinished", detail: `training.json says status ${show(rec.status)}${ckpt ? `; the checkpoint is after ${at}` : ""}` };
  }
  if (ckpt && ckpt.runId !== rec.runId) {
    return { status: "unfinished", detail: `training.json is of run ${String(rec.runId)}, but a newer run was started in this folder and stopped after ${at}` };
  }
  return { status: "finished", detail: `training.json says ${String(rec.status)} (run ${String(rec.runId)})` };
}

/** Throw a ModelError when `dir` is an unfinished training run and `allowUnfinished` is not set. */
export function checkFinishedTraining(dir: string, allowUnfinished = false): TrainingState {
  const state = trainingState(dir);
  if (state.status === "unfinished" && !allowUnfinished) {
    throw new ModelError(`${show(dir)} is an unfinished training run: ${state.detail}. Its weights are those of the best epoch so far. ` +
      "Finish it by running the same rra train command again (it resumes from the checkpoint), or pass --allow-unfinished to use it as it is");
  }
  return state;
}
