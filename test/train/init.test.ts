/**
 * Warm start (issue 13 item 5): `rra train --init` from the independent reference checkpoints of
 * test/fixtures/hf-checkpoints.py (tiny random BERT, BERT with a one-label classifier, GPT-2, written by
 * PyTorch), then `rra rerank` and `rra export` of the trained folder; step 0 equals the checkpoint; the
 * provenance is recorded; bad --init values fail before anything is written.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/tf";
import { loadDataset } from "../../lib/data/datasets";
import { readRun } from "../../lib/data/trec";
import type { Dataset } from "../../lib/data/types";
import { evaluateRun } from "../../lib/eval/evaluate";
import { studentKinds } from "../../lib/pipeline/students";
import { resolveReproduceConfig } from "../../lib/reproduce/config";
import { closeStore, openStore } from "../../lib/store/db";
import { loadCrossEncoder } from "../../lib/train/cross-encoder";
import { trainStudent } from "../../lib/train/loop";
import { loadStudent, scorePairs } from "../../lib/train/rerank";
import { loadReranker } from "../../lib/train/reranker";
import { hfFixtures, hfReference } from "../fixtures/hf-fixtures";
import { ROOT, runCli } from "../cli/run-cli";

const INPUT = join(ROOT, "test/fixtures/rerank/two-queries.json");
/**
 * A few steps on a few queries (the fixtures have 40 positions). The dev queries are the training queries,
 * so that a trained epoch beats the untrained one and the folder tested below holds trained weights.
 */
const SMALL = ["--train", "dl19", "--dev", "dl19", "--train-queries", "3", "--dev-queries", "3", "--epochs", "2", "--max-steps", "4", "--batch", "2", "--lr", "0.01", "--patience", "0"];

interface TrainingJson { runId: string; status: string; best: { epoch: number; "ndcg@10": number }; devQueries: string[]; init: { name: string; revision: string | null; modelType: string; weightFile: string; files: Array<{ name: string; bytes: number; sha256: string }> } }

const sha256 = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex");
const runScores = (file: string): Map<string, number> => {
  const out = new Map<string, number>();
  for (const [qid, docs] of readRun(file).queries) for (const d of docs) out.set(`${qid} ${d.docid}`, d.score);
  return out;
};

describe("warm start: rra train --init (issue 13 item 5)", function () {
  this.timeout(300_000);
  let tmp: string, fx: string, dbFile: string;
  let dl19: Dataset;
  before(async () => {
    await initBackend({ quiet: true });
    fx = hfFixtures();
    tmp = mkdtempSync(join(tmpdir(), "rra-init-"));
    dbFile = join(tmp, "store.sqlite");
    dl19 = loadDataset("dl19");
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** Train, check provenance (training.json and the store), the exact reload, rerank and export; returns the model folder. */
  async function endToEnd(arch: "bert" | "gpt", fixture: string, maxLength: number, formats: Array<"onnx" | "tfjs">, extra: string[] = []): Promise<void> {
    const init = join(fx, fixture);
    const out = join(tmp, `${arch}-model`);
    const r = await runCli(["train", "--arch", arch, "--init", init, ...SMALL, "--max-length", String(maxLength), ...extra, "--db", dbFile, "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    // provenance: training.json
    const rec = JSON.parse(readFileSync(join(out, "training.json"), "utf8")) as TrainingJson;
    assert.equal(rec.status, "done");
    assert.ok(rec.best.epoch >= 1, `the saved model is a trained one (best epoch ${rec.best.epoch})`);
    assert.equal(rec.init.name, init);
    assert.equal(rec.init.revision, null);
    assert.equal(rec.init.modelType, arch === "gpt" ? "gpt2" : "bert");
    assert.equal(rec.init.weightFile, "model.safetensors");
    const names = rec.init.files.map((f) => f.name);
    for (const f of ["config.json", "model.safetensors", arch === "gpt" ? "vocab.json" : "vocab.txt"]) assert.ok(names.includes(f), `${f} in ${names}`);
    for (const f of rec.init.files) assert.equal(f.sha256, sha256(join(init, f.name)), f.name);
    // the store's run row
    const db = await openStore(dbFile);
    try {
      const row = await db.selectFrom("train_runs").select(["init_json", "out_dir"]).where("id", "=", rec.runId).executeTakeFirstOrThrow();
      const stored = JSON.parse(row.init_json as string) as TrainingJson["init"];
      assert.deepEqual(stored.files, rec.init.files);
      assert.equal(stored.name, init);
    } finally {
      await closeStore(db);
    }
    // the checkpoint's tokenizer travels with the model
    assert.ok(existsSync(join(out, "init-tokenizer", arch === "gpt" ? "merges.txt" : "vocab.txt")));
    // exact reload: the reloaded model ranks the run's dev queries to the nDCG@10 recorded during training
    const reloaded = await loadReranker(out);
    try {
      assert.equal(reloaded.kind, arch);
      if (rec.devQueries.length) {
        const lists = dl19.lists.filter((l) => rec.devQueries.includes(l.qid));
        assert.equal(lists.length, 3);
        const ndcg = evaluateRun(dl19.qrels, await reloaded.rerank(lists), { metrics: ["ndcg@10"], querySet: "intersection" }).all["ndcg@10"];
        assert.ok(Math.abs(ndcg - rec.best["ndcg@10"]) < 1e-12, `reloaded ${ndcg} vs trained ${rec.best["ndcg@10"]}`);
      }
      // short pairs: the fixtures' 40 positions leave no room for a real passage next to RRA-GPT's prompt
      const net = await reloaded.scorePairs(["a search engine", "the rank of a passage", "cafe", "how many"].map((passage) => ({ query: "what is", passage })));
      assert.ok(new Set(Array.from(net, (v) => v.toFixed(6))).size > 1, `the network scores vary: ${Array.from(net)}`);
    } finally {
      reloaded.dispose();
    }
    // rra rerank with the trained folder, and with each export: the same scores
    const native = join(tmp, `${arch}-native.run`);
    const rr = await runCli(["rerank", "--model", out, "--input", INPUT, "--out", native]);
    assert.equal(rr.code, 0, rr.stderr);
    const want = runScores(native);
    assert.ok(want.size > 0);
    for (const format of formats) {
      const exp = join(tmp, `${arch}-${format}`);
      const e = await runCli(["export", "--model", out, "--format", format, "--out", exp, "--parity-pairs", "200", "--json"]);
      assert.equal(e.code, 0, e.stderr);
      const res = JSON.parse(e.stdout) as { parity: { maxAbsDiff: number; pairs: number } };
      assert.equal(res.parity.pairs, 200);
      // the export's own limit is 1e-4; these graphs match to ~5e-8, and the tanh GELU in place of BERT's erf would differ by ~2e-5
      assert.ok(res.parity.maxAbsDiff < 1e-6, `${format} parity ${res.parity.maxAbsDiff}`);
      const cfg = JSON.parse(readFileSync(join(exp, "config.json"), "utf8")) as { init: TrainingJson["init"] };
      assert.equal(cfg.init.name, init);
      assert.deepEqual(cfg.init.files, rec.init.files);
      assert.match(readFileSync(join(exp, "README.md"), "utf8"), new RegExp(`warm-started from ${init.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(config\\.json sha256 [0-9a-f]{12}`));
      const run = join(tmp, `${arch}-${format}.run`);
      const er = await runCli(["rerank", "--model", exp, "--input", INPUT, "--out", run]);
      assert.equal(er.code, 0, er.stderr);
      const got = runScores(run);
      assert.equal(got.size, want.size);
      for (const [k, v] of want) assert.ok(Math.abs((got.get(k) as number) - v) < 1e-4, `${format} ${k}: ${got.get(k)} vs ${v}`);
    }
  }

  it("fine-tunes a BERT checkpoint end to end: train (TCL v3, IDF match channel), rerank, ONNX and TF.js export with parity", async () => {
    await endToEnd("bert", "bert-safetensors", 32, ["onnx", "tfjs"]);
  });

  it("fine-tunes a GPT-2 checkpoint end to end: train (byte-level BPE, 2 epochs kept), rerank, ONNX export with parity", async () => {
    // a fixed budget (--stop-epoch): on these few queries no trained RRA-GPT epoch beats the untrained one, and the folder must hold trained weights
    await endToEnd("gpt", "gpt2-safetensors", 40, ["onnx"], ["--stop-epoch", "2"]);
  });

  it("at step 0 scores as the checkpoint: a BERT cross-encoder's logits within 1e-5, with the match channel on", async () => {
    const init = join(fx, "bert-cls-safetensors");
    const out = join(tmp, "step0");
    const db = await openStore(":memory:");
    try {
      // stopEpoch 0: no step is taken, the saved model is the warm-started student as built
      await trainStudent(db, { arch: "bert", init, train: "dl19", dev: "dl19", trainQueries: 2, epochs: 1, stopEpoch: 0, maxLength: 32, groupSize: 8, prior: 0, features: "none", tcl: false, out }, { quiet: true, datasets: { dl19 } });
    } finally {
      await closeStore(db);
    }
    const student = loadStudent(out);
    const ce = loadCrossEncoder(init);
    try {
      assert.equal(student.matchChannel && student.matchIdf, true);
      const ref = hfReference("bert-cls-safetensors");
      const batch = { inputIds: Int32Array.from(ref.inputs.input_ids), tokenTypeIds: Int32Array.from(ref.inputs.token_type_ids as number[]), attentionMask: Int32Array.from(ref.inputs.attention_mask), batch: ref.inputs.batch, seqLen: ref.inputs.seqLen };
      const s = student.model.inferenceScores(batch);
      const got = Array.from(s.dataSync());
      s.dispose();
      (ref.logits as number[]).forEach((want, i) => assert.ok(Math.abs(got[i] - want) < 1e-5, `row ${i}: ${got[i]} vs ${want}`));
      // packed text with the match channel (zero-initialised rows): the checkpoint's own scores
      const pairs = [{ query: "what is a search engine", passage: "a search engine ranks passages" }, { query: "how many", passage: "the rank of the query" }, { query: "cafe", passage: "naive cafe" }];
      const mine = scorePairs(student, pairs), theirs = ce.scorePairs(pairs);
      pairs.forEach((_, i) => assert.ok(Math.abs(mine[i] - theirs[i]) < 1e-5, `pair ${i}: ${mine[i]} vs ${theirs[i]}`));
    } finally {
      student.dispose();
      ce.dispose();
    }
  });

  describe("bad --init values fail before anything is written", () => {
    let n = 0;
    async function refused(args: string[], pattern: RegExp, code = 1): Promise<void> {
      const out = join(tmp, `refused-${++n}`);
      const db = join(tmp, `refused-${n}.sqlite`);
      const r = await runCli(["train", ...args, ...SMALL, "--max-length", "32", "--db", db, "--out", out]);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(existsSync(out), false, "no model folder");
      if (existsSync(db)) {
        const h = await openStore(db);
        try {
          assert.equal((await h.selectFrom("train_runs").selectAll().execute()).length, 0, "no run row");
        } finally {
          await closeStore(h);
        }
      }
    }

    it("a folder that is not a checkpoint: names what was expected and what the folder holds", async () => {
      const empty = join(tmp, "empty");
      mkdirSync(empty);
      await refused(["--init", empty], /init\): expected a Hugging Face model folder \(config\.json, model\.safetensors or pytorch_model\.bin, tokenizer files\) or hf:ORG\/NAME\[@REVISION\], got an empty folder/);
      const notModel = join(tmp, "not-a-model");
      mkdirSync(notModel);
      writeFileSync(join(notModel, "notes.txt"), "x");
      await refused(["--init", notModel], /got a folder without config\.json \(notes\.txt\)/);
      await refused(["--init", join(tmp, "no-such-folder")], /got no such file or folder/);
    });

    it("a checkpoint without its tokenizer files, or of the other architecture", async () => {
      const noVocab = join(tmp, "bert-no-vocab");
      cpSync(join(fx, "bert-safetensors"), noVocab, { recursive: true });
      rmSync(join(noVocab, "vocab.txt"));
      await refused(["--init", noVocab], /expected the tokenizer files of a BERT checkpoint \(tokenizer\.json, or vocab\.txt with tokenizer_config\.json\), got neither/);
      await refused(["--arch", "bert", "--init", join(fx, "gpt2-safetensors")], /config\.json \(model_type\): expected "bert" \(a checkpoint for --arch bert\), got "gpt2"\. use --arch gpt/);
      await refused(["--init", join(fx, "bert-safetensors"), "--network", "off"], /network is false/, 2);
    });

    it("an hf: name that is not in the cache while HF_HUB_OFFLINE=1: says how to place the files by hand", async () => {
      const saved = { offline: process.env.HF_HUB_OFFLINE, home: process.env.HF_HOME, cache: process.env.HF_HUB_CACHE };
      process.env.HF_HUB_OFFLINE = "1";
      process.env.HF_HOME = join(tmp, "hf-home");
      delete process.env.HF_HUB_CACHE;
      try {
        await refused(["--init", "hf:acme/missing-bert"], /acme\/missing-bert@main is not in the cache .* HF_HUB_OFFLINE is set[\s\S]*place its files by hand/);
      } finally {
        for (const [k, v] of [["HF_HUB_OFFLINE", saved.offline], ["HF_HOME", saved.home], ["HF_HUB_CACHE", saved.cache]] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    });
  });

  describe("everywhere a student is made", () => {
    it("rra students: --init warm-starts the RRA-BERT transformer kinds, --gpt-init the RRA-GPT ones, never the lexical ranker", () => {
      const k = studentKinds({ epochs: 1 }, undefined, { bert: "models/bert", gpt: "hf:openai-community/gpt2" });
      for (const name of ["residual", "residual-notcl", "residual-nofeat", "pure", "pure-notcl"]) assert.equal(k[name].config.init, "models/bert", name);
      assert.equal(k.gpt.config.init, "hf:openai-community/gpt2");
      assert.equal(k["gpt-pure"].config.init, "hf:openai-community/gpt2");
      assert.equal("init" in k.lexical.config, false);
      assert.equal("init" in studentKinds({ epochs: 1 }).residual.config, false, "no init: the configs (and run ids) of students from scratch are unchanged");
    });

    it("the reproduce config: init and gptInit default to none; init inside student is refused", () => {
      const d = resolveReproduceConfig();
      assert.equal(d.init, undefined);
      assert.equal(d.gptInit, undefined);
      assert.equal(resolveReproduceConfig({ init: "models/bert" }).init, "models/bert");
      assert.equal(resolveReproduceConfig({ init: null }).init, undefined);
      assert.throws(() => resolveReproduceConfig({ student: { init: "models/bert" } }), /student\.init: give the checkpoint as the top-level init/);
      assert.throws(() => resolveReproduceConfig({ gptInit: 3 as unknown as string }), /gptInit must be null or a model folder/);
    });

    it("rra train, rra ablate and rra students document --init", async () => {
      for (const cmd of ["train", "ablate", "students"]) {
        const r = await runCli([cmd, "--help"]);
        assert.equal(r.code, 0);
        assert.match(r.stdout, /--init SRC/, cmd);
      }
    });
  });
});
