/** `rra export`: a trained student as ONNX or a TensorFlow.js graph model, with a parity check. */
import { initBackend } from "../backend/tf";
import { ConfigError, show } from "../core/errors";
import { DATASET_NAMES, type DatasetName } from "../data/datasets";
import { exportModel, PARITY_TOLERANCE } from "../export/model";
import { numberFlag, parseFlags, required, type Command } from "./args";

const HELP = `rra export --model DIR --format onnx|tfjs --out DIR [options]

Write a student trained by rra train (RRA-BERT or RRA-GPT) as a portable inference graph (no TCL, no
LM head): --format onnx writes model.onnx (IR 8, opset 17) with inputs input_ids, attention_mask
(and token_type_ids 0/1 for RRA-BERT) like a Hugging Face cross-encoder, plus match_ids (the
exact-match channel) for a student that reads it, for ONNX Runtime or any ONNX stack; --format tfjs
writes a TensorFlow.js graph model (model.json + weights) for tf.loadGraphModel in Node or a browser.
Both folders are also Hugging Face model folders: tokenizer.json + tokenizer_config.json (the
WordPiece tokenizer, loadable by the Rust tokenizers, tokenizers.js and transformers), config.json
with model_type, model.safetensors with Hugging Face parameter names; plus vocab.txt, packing.json
(the packing settings), score.json + lexicon.json (the score composition) and a model card (README.md:
data, teacher, config, metrics, seed, versions, inputs, files).

Parity: the export is re-loaded from disk and scored on real shipped pairs against the in-memory
model; it fails (exit 1, nothing written) when the largest absolute difference exceeds ${PARITY_TOLERANCE}.
The difference is printed and stored in config.json and the model card.

Options:
  --model DIR        model directory written by rra train
  --format F         onnx or tfjs
  --out DIR          directory to write (an earlier export there is replaced)
  --parity-pairs N   real pairs in the parity check, at least 200 (default 300)
  --parity-data D    shipped dataset of the parity pairs: ${DATASET_NAMES.join(", ")} (default dl20)
  --batch N          pairs per forward pass (default 64)
  --allow-unfinished export a model folder whose training did not finish (no training.json yet)
  --json             print {kind, model, format, out, files, bytes, seconds, parity} on stdout
  -h, --help         this text

Example:
  rra export --model runs/students/models/student-1a811fa3 --format onnx --out exports/bert-onnx
  rra rerank --model exports/bert-onnx --input data/trec-dl-2019-2020/bm25_retrieve_results_dl20.json --out runs/onnx-dl20.txt`;

/** The export command. */
export const exportCommand: Command = {
  name: "export",
  summary: "export a student as ONNX or a TensorFlow.js graph model, with a parity check",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("export", argv, {
      model: { type: "string" }, format: { type: "string" }, out: { type: "string" }, "parity-pairs": { type: "string" }, "parity-data": { type: "string" }, batch: { type: "string" },
      "allow-unfinished": { type: "boolean" }, json: { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const model = required("export", values, "model");
    const format = required("export", values, "format");
    if (format !== "onnx" && format !== "tfjs") throw new ConfigError(`rra export: --format expects onnx or tfjs, got ${show(format)}`);
    const out = required("export", values, "out");
    const dataset = (values["parity-data"] as string | undefined) ?? "dl20";
    if (!(DATASET_NAMES as readonly string[]).includes(dataset)) throw new ConfigError(`rra export: --parity-data expects one of ${DATASET_NAMES.join(", ")}, got ${show(dataset)}`);
    await initBackend({ quiet: true });
    const t0 = Date.now();
    const r = await exportModel({
      model, format, out, parityPairs: numberFlag("export", values, "parity-pairs", 300), parityDataset: dataset as DatasetName, batchSize: numberFlag("export", values, "batch", 64),
      allowUnfinished: Boolean(values["allow-unfinished"]),
    });
    const seconds = (Date.now() - t0) / 1000;
    if (values.json) {
      console.log(JSON.stringify({ kind: r.kind, model, format, out: r.out, files: r.files, bytes: r.bytes, seconds, parity: r.parity }, null, 1));
      return 0;
    }
    console.log(`exported ${r.kind === "bert" ? "RRA-BERT" : "RRA-GPT"} (${model}) as ${format} -> ${r.out} (${r.files.join(", ")}; ${(r.bytes / 2 ** 20).toFixed(1)} MiB) in ${seconds.toFixed(1)} s`);
    console.log(`parity: ${r.parity.pairs} pairs (${r.parity.source}), max |diff| ${r.parity.maxAbsDiff.toExponential(2)}, mean ${r.parity.meanAbsDiff.toExponential(2)}, limit ${r.parity.tolerance} (${r.parity.engine})`);
    return 0;
  },
};
