import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "child_process";
import * as tf from "@tensorflow/tfjs";
import { backendInfo, describeBackend, initBackend, parseBackendName } from "../../lib/backend/tf";

const node = (code: string, env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["-r", "tsx/cjs", "-e", code], { env: { ...process.env, ...env }, encoding: "utf8" });
const PRINT = "require('./lib/backend/tf').initBackend().then(b => console.log(JSON.stringify(b)), e => { console.error(e.message); process.exit(3); })";

describe("backend selection", () => {
  it("picks the best available backend and reports it", async () => {
    const b = await initBackend({ quiet: true });
    assert.equal(tf.getBackend(), b.name);
    assert.deepEqual(backendInfo(), b);
    assert.match(describeBackend(b), new RegExp(`^${b.name} \\(`));
    // without native libtensorflow (as on this machine) wasm with SIMD must take, never a silent cpu
    if (!process.env.RRA_BACKEND && b.name !== "tensorflow") {
      assert.equal(b.name, "wasm");
      assert.equal(b.simd, true);
    }
  });
  it("trains through the gradient overrides (embedding gather + transposed matMul) on this backend", async () => {
    await initBackend({ quiet: true });
    const table = tf.variable(tf.randomNormal([50, 8], 0, 1, "float32", 1));
    const w = tf.variable(tf.randomNormal([8, 1], 0, 1, "float32", 2));
    const ids = tf.tensor1d([1, 3, 3, 7], "int32");
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.matMul(tf.gather(table, ids), w)) as tf.Scalar);
    assert.ok(Number.isFinite((await value.data())[0]));
    // row 3 appears twice: its gradient is twice w^T
    const g = await grads[table.name].array() as number[][];
    const wv = (await w.array() as number[][]).map((r) => r[0]);
    g[3].forEach((x, j) => assert.ok(Math.abs(x - 2 * wv[j]) < 1e-5));
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([table, w, ids]);
  });
  it("honours RRA_BACKEND=cpu and prints the choice", () => {
    const r = node(PRINT, { RRA_BACKEND: "cpu" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim()).name, "cpu");
    assert.match(r.stderr, /\[rra\] TensorFlow.js backend: cpu .*forced by RRA_BACKEND/);
  });
  it("fails loudly when a forced backend cannot start or is unknown", () => {
    const native = (() => { try { return require("@tensorflow/tfjs-node/package.json").name === "@tensorflow/tfjs-node"; } catch { return false; } })();
    if (!native) {
      const r = node(PRINT, { RRA_BACKEND: "tensorflow" });
      assert.equal(r.status, 3);
      assert.match(r.stderr, /backend tensorflow was forced \(RRA_BACKEND=tensorflow\) but cannot start/);
    }
    assert.throws(() => parseBackendName("gpu", "RRA_BACKEND"), /RRA_BACKEND: unknown backend "gpu"; expected one of tensorflow, wasm, cpu/);
  });
});

describe("rra CLI", () => {
  const rra = (...args: string[]) => spawnSync(process.execPath, ["bin/rra.js", ...args], { encoding: "utf8" });
  it("prints nDCG@10 0.5058 for the shipped DL19 BM25 run", () => {
    const out = execFileSync(process.execPath, ["bin/rra.js", "eval", "--qrels", "data/trec-dl-2019-2020/qrels.dl19-passage.txt", "--run", "data/trec-dl-2019-2020/bm25_trec_results_dl19.txt", "--metrics", "ndcg@10,mrr@10"], { encoding: "utf8" });
    assert.match(out, /ndcg@10\s+0\.5058/);
    assert.match(out, /mrr@10\s+0\.7024/);
  });
  it("prints {all, perQuery} with --json (DL20: 0.4796)", () => {
    const r = rra("eval", "--qrels", "data/trec-dl-2019-2020/qrels.dl20-passage.txt", "--run", "data/trec-dl-2019-2020/bm25_trec_results_dl20.txt", "--metrics", "ndcg@10", "--json");
    const j = JSON.parse(r.stdout);
    assert.equal(j.all["ndcg@10"].toFixed(4), "0.4796");
    assert.equal(Object.keys(j.perQuery).length, 54);
  });
  it("exits non-zero with a clear message on bad input", () => {
    const r = rra("eval", "--qrels", "data/trec-dl-2019-2020/qrels.dl19-passage.txt", "--run", "data/noveleval/queries.tsv");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /rra eval: .*queries\.tsv:1: expected 6 fields `qid Q0 docid rank score tag`, got 11 field\(s\)/);
    const u = rra("eval", "--bogus");
    assert.equal(u.status, 2);
    assert.match(u.stderr, /Unknown option '--bogus'/);
  });
  it("has --help for every command", () => {
    const top = rra("--help");
    assert.equal(top.status, 0);
    const names = [...top.stdout.matchAll(/^  (\S+)  /gm)].map((m) => m[1]);
    assert.ok(names.length >= 2);
    for (const n of names) {
      const h = rra(n, "--help");
      assert.equal(h.status, 0, `${n} --help`);
      assert.match(h.stdout, new RegExp(`rra ${n}`));
    }
  });
});

describe("gradient overrides after danfo.js loads its own tfjs", () => {
  it("are restored by initBackend, so embedding gradients work on wasm again", async () => {
    await initBackend({ quiet: true });
    require("danfojs-node"); // loads a second copy of the tfjs bundle, which re-registers the stock gradients
    await initBackend({ quiet: true });
    const table = tf.variable(tf.ones([10, 4]));
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.gather(table, tf.tensor1d([2, 2, 5], "int32"))) as tf.Scalar);
    const g = await grads[table.name].array() as number[][];
    assert.deepEqual(g[2], [2, 2, 2, 2]);
    assert.deepEqual(g[5], [1, 1, 1, 1]);
    tf.dispose([value, table, ...Object.values(grads)]);
  });
});

describe("the tfjs Node banner (issue 14 item 4)", () => {
  it("is not printed on the CPU backend's first tensor; every other console.warn still is", () => {
    const script = [
      'const tf = require("@tensorflow/tfjs");',
      'require("./lib/backend/tf.ts");',
      'tf.setBackend("cpu").then(() => { tf.tensor1d([1, 2]).dataSync(); console.warn("a warning of our own"); });',
    ].join("\n");
    const r = node(script);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stderr.includes("install our node"), r.stderr);
    assert.match(r.stderr, /a warning of our own/);
    // the check can fail: without the filter the banner is there
    const bare = node(script.replace('require("./lib/backend/tf.ts");', ""));
    assert.match(bare.stderr, /install our node/);
  });
});
