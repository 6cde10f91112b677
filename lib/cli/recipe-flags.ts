/**
 * The flags of the student recipe (reconstruction v3) shared by rra train, rra students and rra ablate:
 * statistics, residual prior, lexical features, TCL version, targets, honest selection.
 */
import { LEXICAL_FEATURES } from "../lexical/features";
import { TRAIN_DEFAULTS, type TrainConfig } from "../train/config";
import { numberFlag, onOffFlag, type OptionSpec } from "./args";

/** The option table of the recipe flags. */
export const RECIPE_FLAGS: OptionSpec = {
  "tcl-version": { type: "string" }, "tcl-lambda": { type: "string" }, "tcl-rank-weight": { type: "string" }, "tcl-align-weight": { type: "string" },
  prior: { type: "string" }, "learn-prior": { type: "string" }, "zero-head": { type: "string" }, features: { type: "string" }, network: { type: "string" },
  "composition-fit": { type: "string" }, lexicon: { type: "string" }, targets: { type: "string" }, tau: { type: "string" }, folds: { type: "string" },
  "score-scale": { type: "string" }, "match-idf": { type: "string" }, match: { type: "string" },
};

const D = TRAIN_DEFAULTS;

/** The help lines of the recipe flags. */
export const RECIPE_HELP = `Student recipe (reconstruction v3; DESIGN.md):
  --prior B          residual student: score = s_net + w . f + B * z(first-stage score within its
                     list), B trained from this start; 0 = the pure student   default ${D.prior}
  --learn-prior on|off  train B                                        default on
  --zero-head on|off start the score head at 0, so the untrained student ranks as its prior  default on
  --features LIST    lexical features of the score (all = every one but firstStage, none, or
                     some of ${LEXICAL_FEATURES.join(", ")})   default ${D.features}
  --composition-fit first|joint  fit the features' weights and B on all training lists before
                     the network trains (first), or with it (joint)   default ${D.compositionFit}
  --network on|off   off: no transformer, the fitted features and prior alone   default on
  --tcl-version V    Term Control Layer: 3 = BM25-shaped contextual term impacts, 2 = mean term
                     score + KL align, 1 = mean + MSE align          default ${D.tclVersion}
  --tcl-lambda L     v3: weight of z(t) in the augmented score       default ${D.tclLambda}
  --tcl-rank-weight A / --tcl-align-weight B   TCL loss weights     default ${D.tclRankWeight} / ${D.tclAlignWeight}
  --targets F        gains of teacher ranks: exp (2^-(r-1)/tau, top-heavy) or linear ((m-r+1)/m)   default ${D.targets}
  --tau T            ranks per halving of exp gains                  default ${D.targetTau}
  --folds K          honest selection: the epoch count (0 = the untrained student) is picked on
                     K held-out folds of the training queries, then one run on all of them stops
                     there (0 = pick the best epoch on --dev, the old way)   default ${D.folds}
  --lexicon FILE     collection statistics (rra stats --out); default: recovered from the shipped
                     BM25 runs
  --match on|off     match channel: token types mark words sharing a stem with the other side   default on
  --match-idf on|off bucket the match channel by the matched term's collection idf   default on
  --score-scale K    logit scale of the network score                default ${D.scoreScale}`;

/** The TrainConfig fields the recipe flags set (undefined where absent). */
export function recipeConfig(command: string, values: Record<string, unknown>): Partial<TrainConfig> {
  const num = (f: string): number | undefined => (values[f] === undefined ? undefined : numberFlag(command, values, f, 0));
  const str = (f: string): string | undefined => values[f] as string | undefined;
  const onOff = (f: string): boolean | undefined => onOffFlag(command, values, f);
  return {
    tclVersion: num("tcl-version"), tclLambda: num("tcl-lambda"), tclRankWeight: num("tcl-rank-weight"), tclAlignWeight: num("tcl-align-weight"),
    prior: num("prior"), learnPrior: onOff("learn-prior"), zeroHead: onOff("zero-head"), features: str("features"), network: onOff("network"),
    compositionFit: str("composition-fit"), lexicon: str("lexicon"), targets: str("targets"), targetTau: num("tau"), folds: num("folds"),
    scoreScale: num("score-scale"), matchIdf: onOff("match-idf"), match: onOff("match"),
  };
}

/** Drop undefined fields (so that defaults apply). */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
