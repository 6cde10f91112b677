import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { compareAttention, inspectPairs, loadStudentWithTcl } from "../../lib/analysis/tcl-inspect";
import type { PairInspection } from "../../lib/analysis/tcl-types";
import { initBackend } from "../../lib/backend/tf";
import { ConfigError, DataError } from "../../lib/core/errors";
import { resolveEncoderConfig } from "../../lib/models/presets";
import { createRraBert, tclVersion, type RraBert } from "../../lib/models/tcl";
import { lexiconFromIdf } from "../../lib/lexical/lexicon";
import { loadTclInto, readTclFile, saveTcl, TCL_FILE } from "../../lib/models/tcl-file";
import { attentionShareFigure, figureHeight, passageGrid, tclScoreFigure, termWeightFigure } from "../../lib/plots/tcl";
import { packPairs } from "../../lib/train/batches";
import { saveStudent } from "../../lib/train/rerank";
import { WordPieceTokenizer } from "../../lib/tokenize/wordpiece";

const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "seoul", "night", "mar", "##ket", "sells", "street", "food", "what", "is", "a", "cheap", "in", "rain"];
const tokenizer = new WordPieceTokenizer(VOCAB);
const PAIRS = [
  { query: "seoul food market", passage: "the seoul night market sells street food", label: "relevant" },
  { query: "cheap food", passage: "rain in the night", label: "no overlap" },
  { query: "what is a cheap street food market in seoul", passage: "the market sells food in the rain in seoul at night", label: "long" },
];
const IDF = new Map([["seoul", 2], ["market", 3], ["food", 1.5], ["street", 0.7]]);
const LEX = lexiconFromIdf(IDF);
const close = (a: number, b: number, tol = 1e-5): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

/** A tiny model with the TCL v2 (mean term score) whose TCL variables are not the seeded init (u random, c = 0.3). */
function tinyModel(seed: number, tcl: boolean, typeVocabSize = 2): RraBert {
  const config = resolveEncoderConfig({ vocabSize: VOCAB.length, typeVocabSize, seed, dropout: 0, numLayers: 2, hiddenSize: 16, numHeads: 2, ffnSize: 32, maxLen: 64 });
  const model = createRraBert(config, { tcl, tokenSelection: "exact", tclConfig: { ...tclVersion(2), seed } });
  if (model.tcl) {
    const [u, c] = model.tcl.variables();
    tf.tidy(() => {
      u.assign(tf.randomNormal(u.shape, 0, 1, "float32", seed));
      c.assign(tf.scalar(0.3));
    });
  }
  return model;
}

describe("TCL inspection (inspectPairs, tcl.json)", () => {
  let dir: string;
  before(async () => {
    await initBackend({ quiet: true });
    dir = mkdtempSync(join(tmpdir(), "rra-tcl-inspect-"));
  });

  it("saveTcl / loadTclInto round-trip u, c and the config: identical term weights", () => {
    const a = tinyModel(3, true);
    const b = createRraBert(a.encoder.config, { tcl: true, tokenSelection: "exact", tclConfig: { ...tclVersion(2), seed: 99 } });
    b.encoder.setWeights(a.encoder.getWeights());
    assert.equal(saveTcl(join(dir, "rt"), a), true);
    const file = loadTclInto(b, join(dir, "rt"));
    assert.equal(file.hiddenSize, 16);
    assert.equal(file.tokenSelection, "exact");
    const batch = packPairs(tokenizer, PAIRS, { maxLength: 32, tokenSelection: "exact", lexicon: LEX });
    assert.deepEqual(b.termWeights(batch), a.termWeights(batch));
    a.dispose();
    b.dispose();
  });

  it("saveTcl is a no-op for a model without TCL; loading checks the file and the model", () => {
    const off = tinyModel(3, false);
    assert.equal(saveTcl(join(dir, "off"), off), false);
    assert.equal(existsSync(join(dir, "off", TCL_FILE)), false);
    assert.throws(() => loadTclInto(off, join(dir, "rt")), ConfigError);
    assert.throws(() => readTclFile(join(dir, "off")), /tcl\.json.*does not exist/);
    const sqrt = createRraBert(off.encoder.config, { tcl: true, tokenSelection: "exact", tclConfig: { ...tclVersion(2), norm: "sqrt" } });
    assert.throws(() => loadTclInto(sqrt, join(dir, "rt")), /norm "count"/);
    const bad = mkdtempSync(join(tmpdir(), "rra-tcl-bad-"));
    writeFileSync(join(bad, TCL_FILE), JSON.stringify({ format: "rra-tcl/1", hiddenSize: 2, tokenSelection: "exact", config: {}, u: [1], c: 0 }));
    assert.throws(() => readTclFile(bad), DataError);
    off.dispose();
    sqrt.dispose();
  });

  it("inspectPairs: s_cls equals inferenceScores, t equals sum(mask*idf*w)/max(1,n_sel), attention rows sum to 1, no leaked tensors", () => {
    const model = tinyModel(5, true);
    const n0 = tf.memory().numTensors;
    const rows = inspectPairs(model, tokenizer, PAIRS, { maxLength: 32, lexicon: LEX, batchSize: 2 });
    assert.equal(tf.memory().numTensors, n0);
    const batch = packPairs(tokenizer, PAIRS, { maxLength: 32, tokenSelection: null, padTo: "longest" });
    const s = model.inferenceScores(batch);
    const ref = Array.from(s.dataSync());
    s.dispose();
    assert.equal(rows.length, 3);
    rows.forEach((r, i) => {
      assert.equal(r.label, PAIRS[i].label);
      assert.ok(close(r.sCls, ref[i]), `${r.sCls} vs ${ref[i]}`);
      const n = r.tokens.length;
      for (const a of [r.side, r.selected, r.matched, r.idf, r.termWeights as number[], r.clsAttentionMean]) assert.equal(a.length, n);
      assert.equal(r.tokens[0], "[CLS]");
      assert.equal(r.tokens[n - 1], "[SEP]");
      const w = r.termWeights as number[];
      const nSel = r.selected.reduce((x, y) => x + y, 0);
      const t = r.selected.reduce((acc, m, k) => acc + m * r.idf[k] * w[k], 0) / Math.max(1, nSel);
      assert.ok(close(r.t as number, t), `t ${r.t} vs ${t}`);
      assert.ok(close(r.sTcl as number, r.sCls + t));
      assert.equal(r.clsAttention.length, 2);
      for (const layer of [...r.clsAttention, r.clsAttentionMean]) assert.ok(close(layer.reduce((x, y) => x + y, 0), 1, 1e-4));
      const share = r.clsAttentionMean.reduce((acc, a, k) => acc + a * r.matched[k], 0);
      assert.ok(close(r.matchedShare, share));
      r.matched.forEach((m, k) => m && assert.equal(r.side[k], 1));
    });
    // relevant pair: seoul, mar ##ket, food selected (exact = passage side); no-overlap pair: nothing.
    assert.deepEqual(rows[0].tokens.filter((_, k) => rows[0].selected[k]), ["seoul", "mar", "##ket", "food"]);
    assert.deepEqual(rows[0].idf.filter((v) => v), [2, 3, 3, 1.5]);
    assert.equal(rows[1].selected.reduce((x, y) => x + y, 0), 0);
    assert.equal(rows[1].t, 0);
    assert.equal(rows[1].matchedShare, 0);
    model.dispose();
  });

  it("loadStudentWithTcl rebuilds a saved student with its TCL; compareAttention runs two students (match channel too)", () => {
    const withTcl = tinyModel(7, true, 4), without = tinyModel(7, false, 4);
    const sdir = join(dir, "student");
    saveStudent(sdir, { model: withTcl, tokenizer, maxLength: 32, matchChannel: true, matchIdf: false, lexicon: LEX, features: [], composition: () => ({ scale: 1, prior: 0, weights: [] }) });
    saveTcl(sdir, withTcl);
    const loaded = loadStudentWithTcl(sdir);
    assert.equal(loaded.matchChannel, true);
    const opts = { maxLength: 32, matchChannel: true, lexicon: LEX };
    const a = inspectPairs(withTcl, tokenizer, PAIRS, opts), b = inspectPairs(loaded.model, tokenizer, PAIRS, opts);
    assert.deepEqual(b.map((r) => [r.sCls, r.t, r.termWeights]), a.map((r) => [r.sCls, r.t, r.termWeights]));
    assert.deepEqual(a[0].side.slice(0, 6), [0, 0, 0, 0, 0, 0]);
    assert.ok(a[0].side.slice(6).every((s) => s === 1));
    const n0 = tf.memory().numTensors;
    const cmp = compareAttention(loaded, { model: without, tokenizer, maxLength: 32, matchChannel: true, matchIdf: false, lexicon: LEX, features: [], composition: () => ({ scale: 1, prior: 0, weights: [] }) }, PAIRS);
    assert.equal(tf.memory().numTensors, n0);
    assert.equal(cmp.length, 3);
    assert.ok(close(cmp[0].shareA, a[0].matchedShare));
    assert.ok(cmp.every((r) => r.shareB >= 0 && r.shareB <= 1 + 1e-6));
    assert.ok(close(cmp[0].matchedFraction, 4 / a[0].tokens.length));
    assert.throws(() => loadStudentWithTcl(join(dir, "nothing-here")), ConfigError);
    const w0 = inspectPairs(without, tokenizer, PAIRS.slice(0, 1), opts)[0];
    assert.equal(w0.termWeights, null);
    assert.equal(w0.t, null);
    loaded.dispose();
    withTcl.dispose();
    without.dispose();
  });

  it("figure builders: one heatmap cell per passage token, bars per pair", () => {
    const model = tinyModel(11, true);
    const rows = inspectPairs(model, tokenizer, PAIRS, { maxLength: 32, lexicon: LEX });
    model.dispose();
    const grid = passageGrid(rows[0], 4);
    // passage "the seoul night mar ##ket sells street food" = 8 tokens -> 2 rows of 4
    assert.deepEqual(grid.text, [["the", "seoul", "night", "mar"], ["##ket", "sells", "street", "food"]]);
    assert.deepEqual(grid.w.map((r) => r.map((v) => v !== null)), [[false, true, false, true], [true, false, false, true]]);
    const heat = termWeightFigure(rows, { rowLength: 4 });
    assert.equal(heat.data.length, 2 * rows.length);
    const passageTokens = (p: PairInspection): number => p.side.filter((s, k) => s === 1 && p.tokens[k] !== "[SEP]").length;
    rows.forEach((p, k) => {
      const tr = heat.data[2 * k + 1] as { z: Array<Array<number | null>>; text: string[][] };
      assert.equal(tr.z.length, Math.ceil(passageTokens(p) / 4));
      assert.equal(tr.z.flat().filter((v) => v !== null).length, p.selected.reduce((x, y) => x + y, 0));
      const grey = heat.data[2 * k] as { z: Array<Array<number | null>> };
      assert.equal(grey.z.flat().filter((v) => v !== null).length, passageTokens(p));
    });
    assert.ok(figureHeight(heat) > 200);
    const scores = tclScoreFigure(rows, { without: rows });
    assert.equal(scores.data.length, 3);
    for (const tr of scores.data as Array<{ x: unknown[]; y: unknown[] }>) assert.equal(tr.y.length, 3);
    const att = attentionShareFigure(rows.map((r) => ({ label: r.label, shareA: r.matchedShare, shareB: r.matchedShare / 2, matchedFraction: r.matchedFraction })));
    assert.equal(att.data.length, 3);
    for (const tr of att.data as Array<{ x: unknown[]; y: unknown[] }>) assert.equal(tr.x.length, 3);
    assert.throws(() => termWeightFigure([{ ...rows[0], termWeights: null }]), /no term weights/);
  });
});
