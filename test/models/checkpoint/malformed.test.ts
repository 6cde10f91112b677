/**
 * The malformed-checkpoint suite: every broken input fails with a DataError that names the file and
 * what was wrong, and leaves the folder as it was (loading writes nothing). Inputs are derived from the
 * reference checkpoints of test/fixtures/hf-checkpoints.py, plus hand-made pickles.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { DataError } from "../../../lib/core/errors";
import { loadPretrainedDecoder, loadPretrainedEncoder } from "../../../lib/models/checkpoint/pretrained";
import { unpickle } from "../../../lib/models/checkpoint/pickle";
import { readSafetensors, readSafetensorsHeader } from "../../../lib/models/checkpoint/safetensors";
import { readTorchCheckpoint } from "../../../lib/models/checkpoint/torch-zip";
import { halfToFloat, gatherStrided } from "../../../lib/models/checkpoint/tensors";
import { hfFixtures } from "../../fixtures/hf-fixtures";

const work = mkdtempSync(join(tmpdir(), "rra-malformed-"));
let n = 0;

/** A copy of fixture folder `name` to break. */
function copyOf(name: string): string {
  const dir = join(work, `${n++}-${name}`);
  cpSync(join(hfFixtures(), name), dir, { recursive: true });
  return dir;
}

/** Folder listing with sizes, to check that a failed load wrote nothing. */
function listing(dir: string): string {
  return readdirSync(dir).sort().map((f) => `${f}:${statSync(join(dir, f)).size}`).join(",");
}

/** Expect a DataError whose message matches every pattern; the folder must be unchanged. */
function rejects(dir: string, load: () => unknown, ...patterns: RegExp[]): DataError {
  const before = listing(dir);
  let caught: unknown;
  try {
    load();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof DataError, `expected a DataError, got ${String(caught)}`);
  for (const p of patterns) assert.match((caught as Error).message, p);
  assert.equal(listing(dir), before, "nothing written");
  return caught as DataError;
}

/** Rewrite a safetensors file with `edit` applied to its header (data section kept). */
function editHeader(file: string, edit: (h: Record<string, any>) => void): void {
  const buf = readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + len).toString("utf8"));
  edit(header);
  let h = Buffer.from(JSON.stringify(header), "utf8");
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(file, Buffer.concat([out, h, buf.subarray(8 + len)]));
}

describe("malformed checkpoints", function () {
  this.timeout(300_000);
  before(() => hfFixtures());
  after(() => rmSync(work, { recursive: true, force: true }));

  it("a truncated safetensors header", () => {
    const dir = copyOf("bert-safetensors");
    const f = join(dir, "model.safetensors");
    truncateSync(f, 200);
    const e = rejects(dir, () => loadPretrainedEncoder(dir), /model\.safetensors/, /JSON header of at most 192 bytes/, /truncated/);
    assert.equal(e.file, f);
  });

  it("a safetensors file cut inside its data", () => {
    const dir = copyOf("bert-safetensors");
    const f = join(dir, "model.safetensors");
    truncateSync(f, statSync(f).size - 100);
    rejects(dir, () => loadPretrainedEncoder(dir), /a range inside the \d+ data bytes/, /the file is truncated/);
  });

  it("a wrong dtype", () => {
    const dir = copyOf("bert-safetensors");
    editHeader(join(dir, "model.safetensors"), (h) => { h["pooler.dense.bias"].dtype = "F8_E4M3"; });
    rejects(dir, () => loadPretrainedEncoder(dir), /pooler\.dense\.bias\.dtype/, /one of F64, F32, F16/, /"F8_E4M3"/);
  });

  it("a dtype that does not fit the byte range", () => {
    const dir = copyOf("bert-safetensors");
    editHeader(join(dir, "model.safetensors"), (h) => { h["pooler.dense.bias"].dtype = "F16"; });
    rejects(dir, () => loadPretrainedEncoder(dir), /pooler\.dense\.bias\.data_offsets/, /64 bytes for F16 \[32\]/, /128 bytes/);
  });

  it("a shape that does not match config.json", () => {
    const dir = copyOf("bert-safetensors");
    editHeader(join(dir, "model.safetensors"), (h) => { h["encoder.layer.1.intermediate.dense.weight"].shape = [32, 64]; });
    rejects(dir, () => loadPretrainedEncoder(dir), /encoder\.layer\.1\.intermediate\.dense\.weight/, /shape \[64, 32\]/, /got \[32, 64\]/);
  });

  it("unknown and missing tensors are listed", () => {
    const dir = copyOf("bert-safetensors");
    editHeader(join(dir, "model.safetensors"), (h) => {
      h["encoder.layer.7.attention.self.query.weight"] = h["pooler.dense.weight"];
      delete h["encoder.layer.0.output.LayerNorm.bias"];
      delete h["embeddings.token_type_embeddings.weight"];
    });
    rejects(dir, () => loadPretrainedEncoder(dir), /2 missing: embeddings\.token_type_embeddings\.weight, encoder\.layer\.0\.output\.LayerNorm\.bias/);
    const dir2 = copyOf("bert-safetensors");
    editHeader(join(dir2, "model.safetensors"), (h) => { h["encoder.layer.7.attention.self.query.weight"] = h["pooler.dense.weight"]; });
    rejects(dir2, () => loadPretrainedEncoder(dir2), /1 unknown: encoder\.layer\.7\.attention\.self\.query\.weight/);
  });

  it("a pickle that is not a state dict", () => {
    const file = join(hfFixtures(), "malformed", "list-pytorch_model.bin");
    assert.throws(() => readTorchCheckpoint(file), (e: Error) => e instanceof DataError && /expected a state dict/.test(e.message) && /a list\/tuple of 2 items \(tensors\)/.test(e.message));
  });

  it("a pickle that would call os.system is refused at its GLOBAL, before anything runs", () => {
    const file = join(hfFixtures(), "malformed", "evil-pytorch_model.bin");
    assert.throws(() => readTorchCheckpoint(file), (e: Error) => e instanceof DataError && /GLOBAL posix\.system/.test(e.message) && /nothing in it is executed/.test(e.message));
  });

  it("a truncated legacy (pre-1.6) pytorch_model.bin", () => {
    const dir = copyOf("bert-legacy-pytorch");
    const f = join(dir, "pytorch_model.bin");
    truncateSync(f, statSync(f).size - 50);
    rejects(dir, () => loadPretrainedEncoder(dir), /pytorch_model\.bin/, /truncated/);
  });

  it("a truncated pytorch_model.bin", () => {
    const dir = copyOf("bert-pytorch");
    const f = join(dir, "pytorch_model.bin");
    truncateSync(f, Math.floor(statSync(f).size / 2));
    rejects(dir, () => loadPretrainedEncoder(dir), /pytorch_model\.bin/, /no end-of-central-directory record/);
  });

  it("a missing vocabulary", () => {
    const dir = copyOf("bert-pytorch");
    rmSync(join(dir, "vocab.txt"));
    rejects(dir, () => loadPretrainedEncoder(dir), /neither tokenizer\.json nor vocab\.txt/);
    const g = copyOf("gpt2-safetensors");
    rmSync(join(g, "merges.txt"));
    rejects(g, () => loadPretrainedDecoder(g), /no merges\.txt/);
  });

  it("no weights, an unsupported architecture, an unsupported activation", () => {
    const dir = copyOf("bert-pytorch");
    rmSync(join(dir, "pytorch_model.bin"));
    rejects(dir, () => loadPretrainedEncoder(dir), /one of model\.safetensors, model\.safetensors\.index\.json, pytorch_model\.bin/);
    const d2 = copyOf("bert-pytorch");
    const cfg = JSON.parse(readFileSync(join(d2, "config.json"), "utf8"));
    writeFileSync(join(d2, "config.json"), JSON.stringify({ ...cfg, model_type: "roberta" }));
    rejects(d2, () => loadPretrainedEncoder(d2), /model_type/, /"roberta"/);
    writeFileSync(join(d2, "config.json"), JSON.stringify({ ...cfg, hidden_act: "relu" }));
    rejects(d2, () => loadPretrainedEncoder(d2), /hidden_act/, /"relu"/);
    writeFileSync(join(d2, "config.json"), JSON.stringify({ ...cfg, position_embedding_type: "relative_key" }));
    rejects(d2, () => loadPretrainedEncoder(d2), /position_embedding_type/);
  });

  it("a GPT-2 whose lm_head differs from wte though tied", () => {
    const dir = copyOf("gpt2-safetensors");
    editHeader(join(dir, "model.safetensors"), (h) => { h["lm_head.weight"] = h["wte.weight"]; });
    // same bytes: accepted as the tied copy
    assert.doesNotThrow(() => loadPretrainedDecoder(dir));
    // a copy of wte with one value changed, appended to the data section
    const f = join(dir, "model.safetensors");
    const buf = readFileSync(f);
    const start = 8 + Number(buf.readBigUInt64LE(0));
    let wte: [number, number] = [0, 0];
    editHeader(f, (h) => { wte = h["wte.weight"].data_offsets; });
    const copy = Buffer.from(buf.subarray(start + wte[0], start + wte[1]));
    copy.writeFloatLE(copy.readFloatLE(0) + 1, 0);
    const end = buf.length - start;
    writeFileSync(f, Buffer.concat([buf, copy]));
    editHeader(f, (h) => { h["lm_head.weight"] = { ...h["wte.weight"], data_offsets: [end, end + copy.length] }; });
    rejects(dir, () => loadPretrainedDecoder(dir), /lm_head\.weight/, /the same values as wte\.weight/);
  });
});

describe("checkpoint readers (units)", () => {
  it("halfToFloat: normal, subnormal, zero, infinity, NaN", () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.ok(Object.is(halfToFloat(0x8000), -0));
  });

  it("gatherStrided copies a transposed view row-major", () => {
    const storage = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2, 3] row-major
    assert.deepEqual(Array.from(gatherStrided(storage, 0, [3, 2], [1, 3])), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(Array.from(gatherStrided(storage, 1, [2], [3])), [2, 5]);
  });

  it("safetensors header: metadata and entries", () => {
    const h = readSafetensorsHeader(join(hfFixtures(), "bert-safetensors", "model.safetensors"));
    assert.deepEqual(h.metadata, { format: "pt" });
    assert.deepEqual(h.entries.get("embeddings.word_embeddings.weight")?.shape, [139, 32]);
    const t = readSafetensors(join(hfFixtures(), "bert-fp16-safetensors", "model.safetensors"), ["pooler.dense.bias"]);
    assert.deepEqual([...t.keys()], ["pooler.dense.bias"]);
    assert.equal(t.get("pooler.dense.bias")?.dtype, "F16");
  });

  it("unpickle refuses a GLOBAL outside the allow-list (protocol 0 GLOBAL and STACK_GLOBAL) and unknown opcodes", () => {
    const globals = new Map([["collections OrderedDict", () => new Map()]]);
    const o = { file: "x.pkl", globals, expected: "a state dict" };
    // \x80\x02 c builtins\neval\n (S'1+1' tR.  -- eval("1+1")
    const evil = Buffer.from("\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R.", "latin1");
    assert.throws(() => unpickle(evil, o), (e: Error) => e instanceof DataError && /GLOBAL builtins\.eval/.test(e.message) && /pickle byte 17/.test(e.message));
    const stackGlobal = Buffer.from("\x80\x04\x8c\x02os\x8c\x06system\x93.", "latin1");
    assert.throws(() => unpickle(stackGlobal, o), /GLOBAL os\.system/);
    assert.throws(() => unpickle(Buffer.from("\x80\x02\x81.", "latin1"), o), /opcode 0x81/);
    // an allowed OrderedDict with items
    const good = Buffer.from("\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00aK\x07u.", "latin1");
    assert.deepEqual([...(unpickle(good, o) as Map<string, number>)], [["a", 7]]);
    assert.throws(() => unpickle(Buffer.from("\x80\x02X\x05\x00\x00\x00ab", "latin1"), o), /truncated/);
  });

  it("the reference pytorch_model.bin (zip and legacy format) and model.safetensors hold the same values", () => {
    const legacy = readTorchCheckpoint(join(hfFixtures(), "bert-legacy-pytorch", "pytorch_model.bin"));
    const a = readTorchCheckpoint(join(hfFixtures(), "bert-pytorch", "pytorch_model.bin"));
    assert.deepEqual([...legacy.keys()], [...a.keys()]);
    for (const [k, t] of a) assert.deepEqual(Array.from(legacy.get(k)?.values ?? []), Array.from(t.values), k);
    const b = readSafetensors(join(hfFixtures(), "bert-safetensors", "model.safetensors"));
    for (const [k, t] of b) assert.deepEqual(Array.from(a.get(k)?.values ?? []), Array.from(t.values), k);
    assert.deepEqual(a.get("embeddings.position_ids")?.shape, [1, 40]);
    assert.equal(a.get("embeddings.position_ids")?.dtype, "I64");
  });
});
