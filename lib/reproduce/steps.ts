/**
 * Stored steps of `rra reproduce`: each step's output is written to `<work>/steps/<name>.json` with the
 * hash of its inputs once the step finished. A rerun whose inputs hash alike reads the output back instead
 * of running the step; a step that was killed never wrote its file, so it runs again (and the work under
 * it resumes on its own: label jobs reuse answered windows, training resumes from its last epoch,
 * evaluations are cached per model). One file per step, written atomically, so two processes working on
 * different steps of one run never write the same file.
 */
import { existsSync, readFileSync } from "fs";
import { join } from "path";
import { writeFileAtomic } from "../core/files";
import { hash8 } from "../core/hash";

/** The record of a finished step. */
export interface StepRecord<T> {
  format: "rra-reproduce-step/1";
  name: string;
  /** hash8 of the step's inputs. */
  key: string;
  finishedAt: string;
  /** Wall time of the run that computed the output. */
  seconds: number;
  output: T;
}

/** How a step went in this run. */
export interface StepOutcome {
  name: string;
  /** `ran` (computed now) or `cached` (read back). */
  status: "ran" | "cached";
  /** Seconds this run spent on it. */
  seconds: number;
  /** Seconds the computation took when it ran (equal to `seconds` when it ran now). */
  computeSeconds: number;
}

/** Where step records live and how reruns treat them. */
export interface StepStore {
  dir: string;
  /** Ignore stored outputs (recompute every step; the work below still reuses finished models). */
  force?: boolean;
  log?: (line: string) => void;
  /** Every step of this run, in order. */
  outcomes: StepOutcome[];
}

/** A file-safe name of a step (`students dl19->dl20` -> `students_dl19-dl20`). */
export function stepFileName(name: string): string {
  return name.replace(/->/g, "-").replace(/[^A-Za-z0-9._-]+/g, "_");
}

/** The stored record of `name` when its key matches `inputs`, else null. */
export function readStep<T>(store: Pick<StepStore, "dir">, name: string, inputs: unknown): StepRecord<T> | null {
  const file = join(store.dir, `${stepFileName(name)}.json`);
  if (!existsSync(file)) return null;
  try {
    const rec = JSON.parse(readFileSync(file, "utf8")) as StepRecord<T>;
    return rec.format === "rra-reproduce-step/1" && rec.name === name && rec.key === hash8(inputs) ? rec : null;
  } catch {
    return null; // damaged: compute again
  }
}

/** Write a finished step's record. */
export function writeStep<T>(store: Pick<StepStore, "dir">, name: string, inputs: unknown, output: T, seconds: number): void {
  const rec: StepRecord<T> = { format: "rra-reproduce-step/1", name, key: hash8(inputs), finishedAt: new Date().toISOString(), seconds, output };
  // plain JSON keeps the output's key order (tables and figures list systems in it); only the key is hashed stably
  writeFileAtomic(join(store.dir, `${stepFileName(name)}.json`), JSON.stringify(rec) + "\n");
}

/**
 * Run `fn` unless a record of `name` with the same inputs exists; store its output. `check` may reject a
 * stored output whose files are gone (then the step runs again).
 */
export async function step<T>(store: StepStore, name: string, inputs: unknown, fn: () => Promise<T>, check?: (output: T) => boolean): Promise<T> {
  const t0 = Date.now();
  if (!store.force) {
    const rec = readStep<T>(store, name, inputs);
    if (rec && (!check || check(rec.output))) {
      store.outcomes.push({ name, status: "cached", seconds: (Date.now() - t0) / 1000, computeSeconds: rec.seconds });
      store.log?.(`${name}: stored (computed in ${rec.seconds.toFixed(1)} s on ${rec.finishedAt})`);
      return rec.output;
    }
  }
  store.log?.(`${name}: running`);
  const output = await fn();
  const seconds = (Date.now() - t0) / 1000;
  writeStep(store, name, inputs, output, seconds);
  store.outcomes.push({ name, status: "ran", seconds, computeSeconds: seconds });
  store.log?.(`${name}: done in ${seconds.toFixed(1)} s`);
  return output;
}
