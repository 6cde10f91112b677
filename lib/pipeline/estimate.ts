/**
 * Expected duration of `compareStudents` from its spec (train/estimate.ts): per student and seed, the
 * training with its selection on held-out folds and the re-ranking of the test year; runs already
 * finished in `out` are reused by a rerun and counted as free. Their speed is the one measured there.
 */
import type { Estimate } from "../core/estimate";
import { CANDIDATES_PER_QUERY, queryCount } from "../data/sizes";
import { resolveTrainConfig } from "../train/config";
import { addWork, measuredTrainSpeed, perUnit, selectedTrainingWork, workSeconds } from "../train/estimate";
import type { StudentComparisonSpec } from "./students";

/** The estimate of `compareStudents(db, spec)`. */
export function studentsEstimate(spec: Pick<StudentComparisonSpec, "students" | "train" | "test" | "seeds" | "out" | "testQueries">): Estimate {
  const speed = measuredTrainSpeed([spec.out]);
  const tests = spec.testQueries ? Math.min(spec.testQueries, queryCount(spec.test)) : queryCount(spec.test);
  let seconds = 0, todo = 0;
  for (const s of spec.students) {
    for (const seed of spec.seeds) {
      const cfg = resolveTrainConfig({ ...s.config, seed, train: spec.train, dev: spec.train, out: "" });
      const left = selectedTrainingWork(cfg, { dir: spec.out });
      if (left.runs === 0) continue; // every run of it is finished: only its test is scored again (seconds)
      todo++;
      const test = { runs: 0, examples: 0, pairs: tests * CANDIDATES_PER_QUERY[spec.test] };
      seconds += workSeconds(addWork(left, test), cfg, speed);
    }
  }
  const runs = spec.students.length * spec.seeds.length;
  return {
    what: `${runs} student run${runs === 1 ? "" : "s"} (${spec.students.length} student${spec.students.length === 1 ? "" : "s"} x ${spec.seeds.length} seed${spec.seeds.length === 1 ? "" : "s"})`,
    seconds,
    basis: todo ? `${perUnit(seconds, todo, "run")} (folds and refit included), ${speed.source}` : "every run being reused",
    keeps: "finished runs are kept, and running the cell again reuses them and resumes the interrupted one from its last epoch",
  };
}
