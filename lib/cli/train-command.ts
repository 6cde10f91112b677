/** `rra train`: train a student re-ranker on teacher labels and write a model directory. */
import { closeStore, defaultStoreTarget, openStore } from "../store/db";
import { join } from "path";
import { resolveTrainConfig, trainStudent, TRAIN_DEFAULTS, type TrainConfig } from "../train/loop";
import { MEASURED_SETTINGS } from "../train/config";
import { trainSelected } from "../train/select";
import { numberFlag, onOffFlag, parseFlags, required, type Command } from "./args";
import { defined, RECIPE_FLAGS, RECIPE_HELP, recipeConfig } from "./recipe-flags";

/**
 * With --init, a pretrained network is fine-tuned: the usual BERT fine-tuning rate and the checkpoint's own
 * logit scale (a kept cross-encoder classifier then scores exactly as published). Not measured here: no real
 * checkpoint can be fetched on this project's machines.
 */
export const INIT_COMMAND_DEFAULTS = Object.freeze({ lr: 5e-5, scoreScale: 1 });

const HELP = `rra train --arch bert|gpt --preset tiny|small --train dl19 [--dev dl20] --out DIR [options]
rra train --arch bert|gpt --init DIR|hf:ORG/NAME[@REV] --train dl19 [--dev dl20] --out DIR [options]

Train a student ranker (RRA-BERT, or the RRA-GPT decoder with --arch gpt) on listwise teacher labels
with a seeded loop: query groups of the labelled windows (listed + missing + bottom candidates), AdamW
with warm-up and linear decay, gradient clipping, dev nDCG@10 every epoch, early stopping, a checkpoint
per epoch. A rerun with the same settings and --out resumes from the last checkpoint. Writes
DIR/config.json, weights.json + weights.bin, vocab.txt, tokenizer.json, training.json (config, seed,
backend, versions, curves, best epoch).
RRA-GPT trains L = L_rank + a * L_cls + b * L_lm (ranking layer, listed-vs-missing classification,
rationale generation) and re-ranks from the ranking layer in one forward pass; its DIR/config.json
says kind "rra-gpt", so rra rerank --model DIR serves both kinds. --tcl, --ts, --match and
--pretrain-steps are RRA-BERT only.

Warm start (--init): the encoder (--arch bert: a BERT checkpoint) or decoder (--arch gpt: GPT-2) starts
from a Hugging Face checkpoint instead of a preset: its config.json sizes, weights and its own
tokenizer (WordPiece or byte-level BPE; --preset and --vocab-size do not apply). The match channel
enters as a separate zero-initialised embedding, so step 0 scores as the checkpoint (a one-label
classifier, e.g. a cross-encoder's, is kept as the score head). --init takes a model folder, or
hf:ORG/NAME[@REVISION] from the Hugging Face cache (rra pull fetches it; it is pulled here when missing
unless HF_HUB_OFFLINE=1). The checkpoint's name, revision and file hashes go to training.json, the
store and, through rra export, the export's config.json and model card. DIR/init-tokenizer/ keeps the
checkpoint's tokenizer files.

With --folds K (K >= 2) the epoch count is selected honestly: K fold runs each train on the other
folds' training queries and score their own fold after every epoch (and before the first: the
untrained residual student ranks exactly as the first stage), the epoch with the best pooled held-out
nDCG@10 wins, and one run on every training query stops there; it is the model in DIR (fold runs in
DIR/selection/). --dev is then the training set itself.

Options:
  --arch A           bert (RRA-BERT) or gpt (RRA-GPT decoder)       default ${TRAIN_DEFAULTS.arch}
  --rationale R      gpt: auto (the label job's stored LLM rationales, else template),
                     template (synthetic stand-in built from the label facts, e.g.
                     "ranked 3 of 12; matches: ..."; not an LLM rationale) or none (no LM loss)
                                                                    default ${TRAIN_DEFAULTS.rationale}
  --cls-weight A     gpt: weight of the listed-vs-missing classification loss   default ${TRAIN_DEFAULTS.clsWeight}
  --lm-weight B      gpt: weight of the rationale LM loss           default ${TRAIN_DEFAULTS.lmWeight}
  --preset P         tiny or small                                  default ${TRAIN_DEFAULTS.preset}
  --init SRC         warm start from a checkpoint: a Hugging Face model folder or
                     hf:ORG/NAME[@REVISION] (see above)             default: none (the preset, from scratch)
  --train NAME       training dataset (labels of its windows)       default ${TRAIN_DEFAULTS.train}
  --dev NAME         select the best epoch on this dataset instead of held-out folds of
                     --train (--folds 0 then, unless --folds is given); naming the year you
                     test on makes that year's numbers optimistic   default: folds of --train
  --labels FILE      a labels.jsonl (rra label --out) instead of the stored label job
                     (default: projected:rankvicuna-7b top10+bottom10 on --train, run if not stored)
  --loss NAME        listNet, listMle, rankNet, lambdaNdcg2, pointwiseBce   default ${TRAIN_DEFAULTS.loss}
  --missing P        hardNegative, append or drop                    default ${TRAIN_DEFAULTS.missing}
  --tcl on|off       Term Control Layer during training              default on
  --teacher T        teacher of the stored label job (see rra label --help)   default ${TRAIN_DEFAULTS.teacher}
  --select MODE      window selection of that job: top10+bottom10, top20, sliding20/10   default ${TRAIN_DEFAULTS.selection}
  --ts MODE          token selection of TCL v1/v2: exact, topk:<k>, exact+query, topk:<k>+query   default ${TRAIN_DEFAULTS.ts}
  --seed S                                                          default ${TRAIN_DEFAULTS.seed}
  --epochs N                                                        default ${MEASURED_SETTINGS.epochs}
  --lr X             peak learning rate                             default ${MEASURED_SETTINGS.lr}
  --batch G          query groups per batch                         default ${MEASURED_SETTINGS.groupsPerBatch}
  --micro-batch M    groups per forward/backward pass; gradients are accumulated over
                     the batch before one AdamW step (0 = whole batch; e.g. 2 for small)   default ${TRAIN_DEFAULTS.microBatch}
  --workers W        threads per training step (data parallelism; the default 1 already
                     uses 2 cores through the kernels' threads, measured 1.5x against 1.3x
                     for W = 2 at BERT-L4-H256 8x128, notes/speed.md): each thread
                     computes a contiguous run of the batch's micro-batches, gradients
                     are summed in micro-batch order, one AdamW step. A batch of G
                     groups runs in micro-batches of min(M, ceil(G/W)) groups
                     (M = --micro-batch, 0 = no limit), bit-identical to --workers 1
                     with that --micro-batch; so W > 1 needs --batch >= W to keep every
                     thread busy. --arch bert only (gpt and the warm-up run on one thread)
                                                                    default ${TRAIN_DEFAULTS.workers}
  --pretrain-steps N self-supervised pseudo-query warm-up steps on the shipped passages
                     before label training (0 = off)                default ${TRAIN_DEFAULTS.pretrainSteps}
  --max-length T     tokens per query-passage pair                  default ${TRAIN_DEFAULTS.maxLength}
  --vocab-size V     WordPiece vocabulary trained on the shipped corpus   default ${TRAIN_DEFAULTS.vocabSize}
  --patience N       epochs without dev gain before stopping (0 = never)  default ${TRAIN_DEFAULTS.patience}
  --max-steps N      stop after N optimizer steps (smoke runs)
  --stop-epoch N     train N epochs and keep the last model, with no selection on --dev
                     (e.g. a fixed fine-tuning budget with --init)
  --dev-queries N    evaluate on the first N dev queries only
  --train-queries N  train on the first N training queries only
  --out DIR          model directory (required)
  --db FILE|URL      SQLite file or postgres:// URL (default: RRA_DB_URL, else RRA_DB, else data/rra.sqlite)
  --json             print the final training record (no progress bar)
  -h, --help         this text

${RECIPE_HELP}
  (rra train uses --folds ${MEASURED_SETTINGS.folds} (0 when --dev is given) and --score-scale ${MEASURED_SETTINGS.scoreScale} unless told
  otherwise: the settings of npm start and rra students; with --init, --lr ${INIT_COMMAND_DEFAULTS.lr} and --score-scale ${INIT_COMMAND_DEFAULTS.scoreScale},
  the usual fine-tuning settings of a pretrained model, not measured here)

Examples:
  rra train --arch bert --preset tiny --train dl19 --out models/tiny-v3          (epoch count on 3 folds of dl19)
  rra train --arch bert --preset tiny --train dl19 --dev dl20 --out models/tiny-listnet
  rra train --arch gpt --preset tiny --train dl19 --dev dl20 --rationale template --out models/tiny-gpt
  rra pull google/bert_uncased_L-4_H-256_A-4 && rra train --arch bert --init hf:google/bert_uncased_L-4_H-256_A-4 --lr 5e-5 --out models/bert-l4`;

const onOff = (values: Record<string, unknown>, flag: string): boolean | undefined => onOffFlag("train", values, flag);

/** The train command. */
export const trainCommand: Command = {
  name: "train",
  summary: "train a student re-ranker (RRA-BERT or RRA-GPT) on teacher labels; writes a model directory",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("train", argv, {
      arch: { type: "string" }, init: { type: "string" }, rationale: { type: "string" }, "cls-weight": { type: "string" }, "lm-weight": { type: "string" }, preset: { type: "string" }, train: { type: "string" }, dev: { type: "string" }, labels: { type: "string" },
      loss: { type: "string" }, missing: { type: "string" }, tcl: { type: "string" }, teacher: { type: "string" }, select: { type: "string" }, ts: { type: "string" }, seed: { type: "string" }, ...RECIPE_FLAGS,
      epochs: { type: "string" }, lr: { type: "string" }, batch: { type: "string" }, "max-length": { type: "string" }, "vocab-size": { type: "string" },
      "micro-batch": { type: "string" }, workers: { type: "string" }, "pretrain-steps": { type: "string" }, patience: { type: "string" }, "max-steps": { type: "string" }, "stop-epoch": { type: "string" }, "dev-queries": { type: "string" }, "train-queries": { type: "string" },
      out: { type: "string" }, db: { type: "string" }, json: { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const str = (f: string): string | undefined => values[f] as string | undefined;
    const num = (f: string): number | undefined => (values[f] === undefined ? undefined : numberFlag("train", values, f, 0));
    const config: Partial<TrainConfig> = {
      arch: str("arch"), init: str("init"), rationale: str("rationale"), clsWeight: num("cls-weight"), lmWeight: num("lm-weight"), preset: str("preset"), train: str("train"), dev: str("dev"), labels: str("labels"), loss: str("loss"),
      missing: str("missing") as TrainConfig["missing"] | undefined, tcl: onOff(values, "tcl"), teacher: str("teacher"), selection: str("select"), ts: str("ts"), seed: num("seed"), epochs: num("epochs"), ...recipeConfig("train", values),
      lr: num("lr"), groupsPerBatch: num("batch"), maxLength: num("max-length"), vocabSize: num("vocab-size"), patience: num("patience"),
      maxSteps: num("max-steps"), stopEpoch: num("stop-epoch"), microBatch: num("micro-batch"), workers: num("workers"), pretrainSteps: num("pretrain-steps"), devQueries: num("dev-queries"), trainQueries: num("train-queries"), out: required("train", values, "out"),
    };
    // the measured settings of npm start (MEASURED_SETTINGS), unless told otherwise; the epoch count is picked on held-out folds of
    // the training year unless a --dev set is named (then on it, as asked)
    const given = defined(config);
    const withDefaults: Partial<TrainConfig> = { ...MEASURED_SETTINGS, ...(given.init ? INIT_COMMAND_DEFAULTS : {}), folds: values.dev === undefined ? MEASURED_SETTINGS.folds : 0, ...given };
    const db = await openStore((values.db as string | undefined) ?? defaultStoreTarget());
    try {
      const resolved = resolveTrainConfig(withDefaults);
      if (resolved.folds >= 2) {
        const sel = await trainSelected(db, { ...resolved, dev: resolved.train, out: "" }, { out: join(resolved.out, "selection"), finalOut: resolved.out, quiet: Boolean(values.json) });
        const curve = sel.curve.map((c) => `${c.epoch}: ${c.ndcg.toFixed(4)}`).join(", ");
        if (values.json) console.log(JSON.stringify({ runId: sel.final.runId, outDir: sel.final.outDir, selectedEpoch: sel.epoch, heldOutNdcg10: sel.ndcg, curve: sel.curve, folds: sel.folds.map((f) => f.runId), throughput: sel.final.throughput }, null, 1));
        else console.log(`[train] ${sel.final.runId}: held-out nDCG@10 by epoch (${resolved.folds} folds of ${resolved.train}) ${curve}; selected ${sel.epoch} epoch(s) (${sel.ndcg.toFixed(4)}); model in ${sel.final.outDir}`);
        return 0;
      }
      const r = await trainStudent(db, withDefaults, { quiet: Boolean(values.json) });
      if (values.json) console.log(JSON.stringify({ runId: r.runId, outDir: r.outDir, status: r.status, steps: r.steps, best: r.best, throughput: r.throughput, pretrain: r.pretrain, resumedFromEpoch: r.resumedFromEpoch }, null, 1));
      else console.log(`[train] ${r.runId}: ${r.status} after ${r.steps} steps; best dev nDCG@10 ${r.best && Number.isFinite(r.best["ndcg@10"]) ? r.best["ndcg@10"].toFixed(4) : "-"} (epoch ${r.best?.epoch ?? "-"}); model in ${r.outDir}`);
      return 0;
    } finally {
      await closeStore(db);
    }
  },
};
