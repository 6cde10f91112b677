/**
 * Wall time of `rra train --init` at a real size (issue 13 item 8): a random BERT-L4-H256-shaped checkpoint
 * (4 layers, hidden 256, 4 heads, FFN 1024, vocabulary 30522, 512 positions; written by
 * scripts/bench-init-checkpoint.py with the reference code of test/fixtures/hf-checkpoints.py, plus a
 * 30522-token WordPiece vocabulary trained on the shipped corpus), fine-tuned for one epoch over DL19's
 * teacher windows at 128 tokens, the default recipe (TCL v3, IDF match channel, features, prior).
 * A benchmark, not a test: it prints numbers.
 *
 *   npx tsx scripts/bench-warm-start.ts [--dev-queries N] [--batch G] [--micro-batch M] [--keep DIR]
 * (--micro-batch 2 by default: measured faster than a whole batch of 8 groups x 20 pairs, 36.6 against 27.7
 * examples/s on 2026-12-03; before the encoder's per-sub-layer tidy a whole batch exceeded the wasm heap)
 */
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { parseArgs } from "util";
import { trainShippedVocab } from "../lib/tokenize/corpus";

const { values } = parseArgs({ options: { "dev-queries": { type: "string", default: "1" }, batch: { type: "string", default: "8" }, "micro-batch": { type: "string", default: "2" }, keep: { type: "string" } } });
const root = resolve(__dirname, "..");
const work = values.keep ?? mkdtempSync(join(tmpdir(), "rra-bench-warm-"));
const ckpt = join(work, "bert-l4-h256");
const python = process.env.RRA_PEER_PYTHON ?? "/usr/bin/python3";
let t = Date.now();
const py = spawnSync(python, [join(root, "scripts/bench-init-checkpoint.py"), ckpt, "4", "256", "4", "1024", "30522", "512"], { encoding: "utf8" });
if (py.status !== 0) throw new Error(`bench-init-checkpoint.py failed: ${py.stderr}`);
const vocab = trainShippedVocab({ vocabSize: 30522 });
vocab.saveVocab(ckpt);
writeFileSync(join(ckpt, "tokenizer_config.json"), JSON.stringify({ do_lower_case: true, model_max_length: 512, tokenizer_class: "BertTokenizer" }));
console.error(`[bench] checkpoint (${JSON.parse(py.stdout).params} parameters, vocab.txt ${vocab.size} tokens) in ${((Date.now() - t) / 1000).toFixed(1)} s: ${ckpt}`);

const args = ["bin/rra.js", "train", "--arch", "bert", "--init", ckpt, "--train", "dl19", "--dev", "dl19", "--dev-queries", values["dev-queries"] as string, "--epochs", "1",
  "--max-length", "128", "--batch", values.batch as string, "--micro-batch", values["micro-batch"] as string, "--db", join(work, "store.sqlite"), "--out", join(work, "model"), "--json"];
t = Date.now();
const run = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
const wall = (Date.now() - t) / 1000;
if (run.status !== 0) throw new Error(`rra train --init failed (exit ${run.status})`);
const r = JSON.parse(run.stdout) as { steps: number; throughput: { stepsPerSec: number; examplesPerSec: number } };
const rec = JSON.parse(readFileSync(join(work, "model", "training.json"), "utf8")) as { groups: number; backend: string; encoder: Record<string, unknown> };
console.log(JSON.stringify({
  shape: "bert-l4-h256 (random weights), 128 tokens", command: `node ${args.join(" ")}`, backend: rec.backend, groups: rec.groups, steps: r.steps,
  trainSeconds: +(r.steps / r.throughput.stepsPerSec).toFixed(1), examplesPerSec: +r.throughput.examplesPerSec.toFixed(1), wallSeconds: +wall.toFixed(1),
  note: "wall = the whole command: label job from the store or the shipped logs, lexicon, checkpoint read, dev evaluation (epochs 0 and 1), saving",
}, null, 1));
if (!values.keep) rmSync(work, { recursive: true, force: true });
