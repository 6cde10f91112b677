/** `rra train`: train a student re-ranker on teacher labels and write a model directory. */
import { ConfigError } from "../core/errors";
import { closeStore, defaultDbPath, openStore } from "../store/db";
import { trainStudent, TRAIN_DEFAULTS, type TrainConfig } from "../train/loop";
import { numberFlag, parseFlags, required, type Command } from "./args";

const HELP = `rra train --arch bert --preset tiny|small --train dl19 --dev dl20 --out DIR [options]

Train a student ranker (RRA-BERT) on listwise teacher labels with a seeded loop: query groups of
the labelled windows (listed + missing + bottom candidates), AdamW with warm-up and linear decay,
gradient clipping, dev nDCG@10 every epoch, early stopping, a checkpoint per epoch. A rerun with the same
settings and --out resumes from the last checkpoint. Writes DIR/config.json, weights.json + weights.bin,
vocab.txt, tokenizer.json, training.json (config, seed, backend, versions, curves, best epoch).

Options:
  --arch A           bert (gpt: not yet)                            default ${TRAIN_DEFAULTS.arch}
  --preset P         tiny or small                                  default ${TRAIN_DEFAULTS.preset}
  --train NAME       training dataset (labels of its windows)       default ${TRAIN_DEFAULTS.train}
  --dev NAME         dev dataset, evaluated every epoch             default ${TRAIN_DEFAULTS.dev}
  --labels FILE      a labels.jsonl (rra label --out) instead of the stored label job
                     (default: projected:rankvicuna-7b top10+bottom10 on --train, run if not stored)
  --loss NAME        listNet, listMle, rankNet, lambdaNdcg2, pointwiseBce   default ${TRAIN_DEFAULTS.loss}
  --missing P        hardNegative, append or drop                    default ${TRAIN_DEFAULTS.missing}
  --tcl on|off       Term Control Layer during training              default on
  --ts MODE          token selection: exact, topk:<k>, exact+query, topk:<k>+query   default ${TRAIN_DEFAULTS.ts}
  --seed S                                                          default ${TRAIN_DEFAULTS.seed}
  --epochs N                                                        default ${TRAIN_DEFAULTS.epochs}
  --lr X             peak learning rate                             default ${TRAIN_DEFAULTS.lr}
  --batch G          query groups per batch                         default ${TRAIN_DEFAULTS.groupsPerBatch}
  --micro-batch M    groups per forward/backward pass; gradients are accumulated over
                     the batch before one AdamW step (0 = whole batch; e.g. 2 for small)   default ${TRAIN_DEFAULTS.microBatch}
  --pretrain-steps N self-supervised pseudo-query warm-up steps on the shipped passages
                     before label training (0 = off)                default ${TRAIN_DEFAULTS.pretrainSteps}
  --max-length T     tokens per query-passage pair                  default ${TRAIN_DEFAULTS.maxLength}
  --vocab-size V     WordPiece vocabulary trained on the shipped corpus   default ${TRAIN_DEFAULTS.vocabSize}
  --patience N       epochs without dev gain before stopping (0 = never)  default ${TRAIN_DEFAULTS.patience}
  --max-steps N      stop after N optimizer steps (smoke runs)
  --dev-queries N    evaluate on the first N dev queries only
  --train-queries N  train on the first N training queries only
  --out DIR          model directory (required)
  --db FILE          SQLite store (default: RRA_DB or data/rra.sqlite)
  --json             print the final training record (no progress bar)
  -h, --help         this text

Example:
  rra train --arch bert --preset tiny --train dl19 --dev dl20 --out models/tiny-listnet`;

function onOff(values: Record<string, unknown>, flag: string): boolean | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (v !== "on" && v !== "off") throw new ConfigError(`rra train: --${flag} expects on or off, got ${JSON.stringify(v)}`);
  return v === "on";
}

/** The train command. */
export const trainCommand: Command = {
  name: "train",
  summary: "train a student re-ranker (RRA-BERT) on teacher labels; writes a model directory",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("train", argv, {
      arch: { type: "string" }, preset: { type: "string" }, train: { type: "string" }, dev: { type: "string" }, labels: { type: "string" },
      loss: { type: "string" }, missing: { type: "string" }, tcl: { type: "string" }, ts: { type: "string" }, seed: { type: "string" },
      epochs: { type: "string" }, lr: { type: "string" }, batch: { type: "string" }, "max-length": { type: "string" }, "vocab-size": { type: "string" },
      "micro-batch": { type: "string" }, "pretrain-steps": { type: "string" }, patience: { type: "string" }, "max-steps": { type: "string" }, "dev-queries": { type: "string" }, "train-queries": { type: "string" },
      out: { type: "string" }, db: { type: "string" }, json: { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const str = (f: string): string | undefined => values[f] as string | undefined;
    const num = (f: string): number | undefined => (values[f] === undefined ? undefined : numberFlag("train", values, f, 0));
    const config: Partial<TrainConfig> = {
      arch: str("arch"), preset: str("preset"), train: str("train"), dev: str("dev"), labels: str("labels"), loss: str("loss"),
      missing: str("missing") as TrainConfig["missing"] | undefined, tcl: onOff(values, "tcl"), ts: str("ts"), seed: num("seed"), epochs: num("epochs"),
      lr: num("lr"), groupsPerBatch: num("batch"), maxLength: num("max-length"), vocabSize: num("vocab-size"), patience: num("patience"),
      maxSteps: num("max-steps"), microBatch: num("micro-batch"), pretrainSteps: num("pretrain-steps"), devQueries: num("dev-queries"), trainQueries: num("train-queries"), out: required("train", values, "out"),
    };
    const db = await openStore((values.db as string | undefined) ?? defaultDbPath());
    try {
      const r = await trainStudent(db, config, { quiet: Boolean(values.json) });
      if (values.json) console.log(JSON.stringify({ runId: r.runId, outDir: r.outDir, status: r.status, steps: r.steps, best: r.best, throughput: r.throughput, pretrain: r.pretrain, resumedFromEpoch: r.resumedFromEpoch }, null, 1));
      else console.log(`[train] ${r.runId}: ${r.status} after ${r.steps} steps; best dev nDCG@10 ${r.best ? r.best["ndcg@10"].toFixed(4) : "-"} (epoch ${r.best?.epoch ?? "-"}); model in ${r.outDir}`);
      return 0;
    } finally {
      await closeStore(db);
    }
  },
};
