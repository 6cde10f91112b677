/**
 * The data side of a training run, shared by both students: the lexicon a config names, the folds of
 * the training queries (honest selection, select.ts), and which label windows train and which lists
 * select the epoch.
 *
 * Folds: the training set's qids, sorted, are shuffled with a seed of their own (deriveSeed(0,
 * `folds/<dataset>/<K>`)) and dealt round-robin into K folds, so every configuration and every model
 * seed sees the same folds. With `fold` = k the run trains on the windows of the other folds' queries
 * and evaluates every epoch on fold k's lists (the held-out part of the training side); the test year is
 * never read.
 */
import { ConfigError, show } from "../core/errors";
import { createRng, deriveSeed } from "../core/rng";
import type { Dataset, RankedList } from "../data/types";
import { loadLexicon, type Lexicon } from "../lexical/lexicon";
import { shippedLexicon } from "../lexical/shipped";
import type { WindowRecord } from "../store/labels";
import { parseHeldOut, type TrainConfig } from "./config";

/** Fold of each qid (see the file header). */
export function queryFolds(dataset: string, qids: readonly string[], folds: number, salt = "folds"): Map<string, number> {
  if (!Number.isInteger(folds) || folds < 2) throw new ConfigError(`queryFolds: folds must be an integer >= 2, got ${show(folds)}`);
  const order = createRng(deriveSeed(0, `${salt}/${dataset}/${folds}`)).shuffle([...new Set(qids)].sort());
  return new Map(order.map((q, i) => [q, i % folds]));
}

const lexicons = new Map<string, Lexicon>();

/** The lexicon of a config: its file, or the shipped one (memoised per process). */
export function trainLexicon(cfg: Pick<TrainConfig, "lexicon">, datasets: Record<string, Dataset> = {}): Lexicon {
  if (!cfg.lexicon) return shippedLexicon(datasets as Partial<Record<"dl19" | "dl20" | "noveleval", Dataset>>);
  let lex = lexicons.get(cfg.lexicon);
  if (!lex) lexicons.set(cfg.lexicon, (lex = loadLexicon(cfg.lexicon)));
  return lex;
}

/** The windows a run trains on and the lists it selects on (trainQueries, folds / fold, devQueries). */
export function splitRun(cfg: Pick<TrainConfig, "train" | "trainQueries" | "folds" | "fold" | "devQueries" | "heldOut">, windows: readonly WindowRecord[], train: Dataset, dev: Dataset): { windows: WindowRecord[]; devLists: RankedList[] } {
  let out = [...windows];
  // cross-validation: the outer fold is left out of everything (its queries are the test set)
  const outer = parseHeldOut(cfg.heldOut);
  const outerFolds = outer ? queryFolds(cfg.train, train.lists.map((l) => l.qid), outer.of, "outer") : null;
  const inTraining = (qid: string): boolean => !outer || outerFolds?.get(qid) !== outer.fold;
  out = out.filter((w) => inTraining(w.qid));
  let trainLists = train.lists.filter((l) => inTraining(l.qid));
  if (cfg.trainQueries > 0) {
    const keep = new Set<string>();
    for (const w of out) if (keep.size < cfg.trainQueries || keep.has(w.qid)) keep.add(w.qid);
    out = out.filter((w) => keep.has(w.qid));
    // the held-out folds are folds of these queries too (not of the whole year: a few training queries and a
    // full fold to score made small runs slow for nothing)
    trainLists = trainLists.filter((l) => keep.has(l.qid));
  }
  let devLists = dev.lists;
  if (cfg.folds > 0 && cfg.fold >= 0) {
    const folds = queryFolds(cfg.train, trainLists.map((l) => l.qid), cfg.folds);
    out = out.filter((w) => folds.get(w.qid) !== cfg.fold);
    const trained = new Set(out.map((w) => w.qid));
    devLists = trainLists.filter((l) => folds.get(l.qid) === cfg.fold && !trained.has(l.qid));
  } else if (outer && dev.name === train.name) {
    devLists = trainLists;
  }
  if (cfg.devQueries > 0) devLists = devLists.slice(0, cfg.devQueries);
  return { windows: out, devLists };
}
