import assert from "node:assert/strict";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../lib/backend/tf";
import { evalCommand } from "../../lib/cli/eval-command";
import { unexpectedErrorText } from "../../lib/cli/main";
import { makeStudentDir } from "../fixtures/tiny-student";
import { ROOT, runCli, spawnCli } from "./run-cli";

const BAD = join(ROOT, "test/fixtures/bad-model");
const INPUT = join(ROOT, "test/fixtures/rerank/two-queries.json");

describe("rra: crashes become sentences (issue 15 item 8)", function () {
  this.timeout(120_000);
  let tmp: string;
  let student: string;
  /** A copy of the fixture student with `file` replaced by `from` (or removed when `from` is null). */
  const broken = (file: string, from: string | null): string => {
    const dir = mkdtempSync(join(tmp, "model-"));
    cpSync(student, dir, { recursive: true });
    if (from === null) rmSync(join(dir, file));
    else copyFileSync(from, join(dir, file));
    return dir;
  };
  before(async () => {
    await initBackend({ quiet: true });
    tmp = mkdtempSync(join(tmpdir(), "rra-crash-"));
    student = makeStudentDir();
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("a truncated config.json: one line naming file and line, exit 1, no stack, no wasm source (child process)", () => {
    const dir = broken("config.json", join(BAD, "config-truncated.json"));
    const r = spawnCli(["rerank", "--model", dir, "--input", INPUT, "--out", join(tmp, "x.run")]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^rra rerank: .*config\.json:\d+: expected valid model config JSON, got a truncated document/);
    assert.doesNotMatch(r.stderr, /tfjs-backend-wasm|at .*\.ts:\d+/);
  });

  it("a config.json with a UTF-8 BOM is read like any other (issue 15 item 16)", async () => {
    const dir = mkdtempSync(join(tmp, "bom-"));
    cpSync(student, dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(join(student, "config.json"))]));
    const r = await runCli(["rerank", "--model", dir, "--input", INPUT, "--out", join(tmp, "bom.run")]);
    assert.equal(r.code, 0, r.stderr);
  });

  it("a truncated lexicon.json names lexicon.json", async () => {
    const r = await runCli(["rerank", "--model", broken("lexicon.json", join(BAD, "lexicon-truncated.json")), "--input", INPUT, "--out", join(tmp, "x.run")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^rra rerank: .*lexicon\.json:1: expected valid lexicon \(lexicon\.json\) JSON, got a truncated document/);
  });

  it("a corrupt model.onnx names model.onnx and says to re-export", async () => {
    const dir = mkdtempSync(join(tmp, "onnx-"));
    cpSync(join(BAD, "export-onnx"), dir, { recursive: true });
    copyFileSync(join(student, "vocab.txt"), join(dir, "vocab.txt"));
    const r = await runCli(["rerank", "--model", dir, "--input", INPUT, "--out", join(tmp, "x.run")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^rra rerank: .*model\.onnx: expected an ONNX model written by rra export --format onnx, got a file ONNX Runtime cannot load .*re-export the model/);
  });

  it("a missing vocab.txt of an export names vocab.txt", async () => {
    const dir = mkdtempSync(join(tmp, "novocab-"));
    cpSync(join(BAD, "export-onnx"), dir, { recursive: true });
    const r = await runCli(["rerank", "--model", dir, "--input", INPUT, "--out", join(tmp, "x.run")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^rra rerank: .*vocab\.txt: expected an existing vocabulary \(vocab\.txt\) file, got no such file/);
  });

  it("--out pointing at a folder is refused by name and leaves no .tmp file behind", async () => {
    const out = join(tmp, "a-folder");
    mkdirSync(out);
    const r = await runCli(["rerank", "--model", student, "--input", INPUT, "--out", out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^rra rerank: .*a-folder: expected a file path to write, got a directory/);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.includes(".tmp-")), []);
    assert.deepEqual(readdirSync(out), []);
  });

  it("an unexpected error prints one line and a hint; --debug adds the stack", async () => {
    const run = evalCommand.run;
    evalCommand.run = async () => { throw new SyntaxError("Unexpected token } in JSON at position 7\n    more detail"); };
    try {
      const plain = await runCli(["eval"]);
      assert.equal(plain.code, 1);
      assert.equal(plain.stderr, "rra eval: unexpected SyntaxError: Unexpected token } in JSON at position 7\n(re-run with --debug for the stack; please report it if the message does not say what to fix)\n");
      const debug = await runCli(["eval", "--debug"]);
      assert.equal(debug.code, 1);
      assert.match(debug.stderr, /^rra eval: unexpected SyntaxError: .*\nSyntaxError: [\s\S]*\n\s+at /);
    } finally {
      evalCommand.run = run;
    }
    assert.match(unexpectedErrorText("rra x", "a thrown string", false), /^rra x: unexpected Error: a thrown string\n/);
  });
});

describe("rra: conventions (issue 15 item 16)", () => {
  it("rra --version prints the package version", async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    const r = await runCli(["--version"]);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `rra ${version}\n`, ""]);
  });

  it("bare rra prints its usage on stderr (nothing on stdout) and exits 2; rra --help prints it on stdout", async () => {
    const bare = await runCli([]);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, "");
    assert.match(bare.stderr, /^rra: the RRADistill workbench command line\n\nusage: rra <command>/);
    const help = await runCli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: rra <command>/);
    assert.equal(help.stderr, "");
  });
});
