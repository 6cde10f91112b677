/**
 * `rra reproduce`: its configuration, the stored steps, and the --fast run end to end through the CLI —
 * killed in the middle of training, resumed, and rerun from the store.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { ConfigError, DataError } from "../../lib/core/errors";
import { DEFAULT_REPRODUCE, FAST_REPRODUCE, readReproduceConfig, reproduceId, resolveReproduceConfig } from "../../lib/reproduce/config";
import { readStep, step, stepFileName, type StepStore } from "../../lib/reproduce/steps";
import { dataFingerprint } from "../../lib/reproduce/pipeline";

describe("reproduce configuration", () => {
  it("resolves the presets; the fast one is smaller in every dimension that costs time", () => {
    const d = resolveReproduceConfig();
    const f = resolveReproduceConfig({}, { fast: true });
    assert.equal(d.name, "default");
    assert.equal(f.name, "fast");
    assert.deepEqual(d.directions, ["dl19->dl20", "dl20->dl19"]);
    assert.ok((f.student.epochs ?? 0) < (d.student.epochs ?? 0));
    assert.ok(f.testQueries > 0 && d.testQueries === 0);
    assert.ok(f.labelQueries > 0 && d.labelQueries === 0);
    assert.notEqual(reproduceId(d), reproduceId(f));
    assert.equal(reproduceId(d), reproduceId(resolveReproduceConfig()), "the id is a function of the config");
    // the teacher's own job is always among the label jobs
    assert.ok(resolveReproduceConfig({ labelJobs: [] }).labelJobs.some((j) => j.teacher === DEFAULT_REPRODUCE.teacher));
    assert.equal(FAST_REPRODUCE.seeds.length, 1);
  });

  it("rejects unknown keys, controlled training keys and bad values with the field named", () => {
    assert.throws(() => resolveReproduceConfig({ epochs: 3 } as never), (e: unknown) => e instanceof ConfigError && /unknown key "epochs"/.test(e.message));
    assert.throws(() => resolveReproduceConfig({ student: { seed: 3 } }), /student\.seed is set by reproduce itself/);
    assert.throws(() => resolveReproduceConfig({ directions: ["dl19->dl19"] }), /trains and tests on the same year/);
    assert.throws(() => resolveReproduceConfig({ directions: ["dl20->dl19"] }), /lossAblation\.direction "dl19->dl20" is not one of directions/);
    assert.throws(() => resolveReproduceConfig({ lossAblation: { direction: "dl19->dl20", losses: ["listnett"], targets: ["exp"], student: "lexical" } }), /unknown loss "listnett"/);
    assert.throws(() => resolveReproduceConfig({ lossAblation: { direction: "dl19->dl20", losses: ["listNet"], targets: ["log"], student: "lexical" } }), /unknown target form "log"/);
    assert.throws(() => resolveReproduceConfig({ students: ["residual", "Lexical"] }), /unknown student "Lexical"/);
    assert.throws(() => resolveReproduceConfig({ crossval: { students: ["lexical"], folds: 1 } }), /crossval must be null or/);
    assert.throws(() => resolveReproduceConfig({ seeds: [] }), /seeds must be a non-empty list/);
    assert.throws(() => resolveReproduceConfig({ exportFormat: "pt" as never }), /exportFormat must be onnx or tfjs, got "pt"/);
  });

  it("reads a config file and names the file in its errors", () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-repro-cfg-"));
    const good = join(dir, "good.json");
    writeFileSync(good, JSON.stringify({ seeds: [1, 2], testQueries: 5 }));
    const cfg = readReproduceConfig(good);
    assert.deepEqual(cfg.seeds, [1, 2]);
    assert.equal(cfg.name, "custom");
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ seeds: [1] }");
    assert.throws(() => readReproduceConfig(bad), (e: unknown) => e instanceof DataError && e.file === bad && /expected a JSON object/.test(e.message));
    const unknown = join(dir, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ sedes: [1] }));
    assert.throws(() => readReproduceConfig(unknown), (e: unknown) => e instanceof ConfigError && e.message.includes(unknown) && /unknown key "sedes"/.test(e.message));
  });
});

describe("reproduce steps", () => {
  const fresh = (): StepStore => ({ dir: mkdtempSync(join(tmpdir(), "rra-steps-")), outcomes: [] });

  it("runs a step once, reads it back while its inputs are unchanged, and runs it again when they change", async () => {
    const store = fresh();
    let calls = 0;
    const fn = async () => ({ value: ++calls });
    assert.deepEqual(await step(store, "students dl19->dl20", { a: 1 }, fn), { value: 1 });
    assert.deepEqual(await step(store, "students dl19->dl20", { a: 1 }, fn), { value: 1 });
    assert.equal(calls, 1);
    assert.deepEqual(store.outcomes.map((o) => o.status), ["ran", "cached"]);
    assert.deepEqual(await step(store, "students dl19->dl20", { a: 2 }, fn), { value: 2 });
    assert.ok(existsSync(join(store.dir, `${stepFileName("students dl19->dl20")}.json`)));
    assert.equal(stepFileName("students dl19->dl20"), "students_dl19-dl20");
  });

  it("recomputes when forced, when the record is damaged and when the check rejects the stored output", async () => {
    const store = fresh();
    let calls = 0;
    const fn = async () => ++calls;
    await step(store, "s", {}, fn);
    await step({ ...store, force: true }, "s", {}, fn);
    assert.equal(calls, 2);
    writeFileSync(join(store.dir, "s.json"), "{ not json");
    assert.equal(readStep(store, "s", {}), null);
    await step(store, "s", {}, fn);
    assert.equal(calls, 3);
    await step(store, "s", {}, fn, () => false);
    assert.equal(calls, 4);
  });

  it("leaves no record when the step throws, so a rerun computes it", async () => {
    const store = fresh();
    await assert.rejects(step(store, "boom", {}, async () => { throw new Error("killed"); }), /killed/);
    assert.equal(readStep(store, "boom", {}), null);
    assert.equal(await step(store, "boom", {}, async () => 7), 7);
  });

  it("the data fingerprint follows the data files, not the store or its lock beside them", () => {
    // found by a fresh npm start: the store's lock file (<db>-lock, written while a run holds the store)
    // was part of the fingerprint, so a second run recomputed the data steps
    const dir = mkdtempSync(join(tmpdir(), "rra-fp-"));
    const before = process.env.RRA_DATA_DIR;
    process.env.RRA_DATA_DIR = dir;
    try {
      writeFileSync(join(dir, "topics.tsv"), "1\tq\n");
      const base = dataFingerprint();
      for (const f of ["rra.sqlite", "rra.sqlite-wal", "rra.sqlite-shm", "rra.sqlite-journal", "rra.sqlite-lock", "other.db-lock"]) writeFileSync(join(dir, f), `{"pid":${process.pid}}`);
      assert.equal(dataFingerprint(), base);
      writeFileSync(join(dir, "topics.tsv"), "1\tq2\n");
      assert.notEqual(dataFingerprint(), base);
    } finally {
      if (before === undefined) delete process.env.RRA_DATA_DIR; else process.env.RRA_DATA_DIR = before;
    }
  });
});

describe("rra reproduce --fast end to end", function () {
  this.timeout(15 * 60_000);
  const dir = mkdtempSync(join(tmpdir(), "rra-reproduce-"));
  const args = ["bin/rra.js", "reproduce", "--fast", "--quiet", "--db", join(dir, "store.sqlite"), "--work", join(dir, "work"), "--results", join(dir, "results.md"),
    "--figures", join(dir, "figures"), "--export", join(dir, "model")];
  const env = { ...process.env, RRA_DB_URL: "", SMOKE: "" };

  it("killed while training, resumes where it stopped and writes results, figures and the model", async () => {
    // the first run is killed (with its child process) once the first direction has trained a model
    const killed = await new Promise<{ log: string }>((resolve, reject) => {
      const child = spawn(process.execPath, args, { env, detached: true });
      let log = "";
      const onData = (b: Buffer) => {
        log += b.toString();
        if (/ablation 1\/2 .* seed 1: /.test(log)) {
          try { process.kill(-child.pid!, "SIGKILL"); } catch { /* already gone */ }
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("error", reject);
      child.on("close", (code, signal) => (signal === "SIGKILL" || code !== 0 ? resolve({ log }) : reject(new Error(`the run finished before it was killed:\n${log}`))));
    });
    assert.match(killed.log, /labels: done/);
    assert.equal(existsSync(join(dir, "results.md")), false, "no results from a killed run");

    const resumed = spawnSync(process.execPath, args, { env, encoding: "utf8" });
    assert.equal(resumed.status, 0, resumed.stderr);
    for (const s of ["data check", "baselines", "labels"]) assert.match(resumed.stderr, new RegExp(`${s}: stored`), `${s} was reused`);
    assert.match(resumed.stderr, /ablation 1\/2 listNet · hardNegative · TCL exact seed 1: reused/, "the model trained before the kill was reused");

    const md = readFileSync(join(dir, "results.md"), "utf8");
    for (const section of ["## Headline", "### DL19 labels → DL20", "### DL20 labels → DL19", "## Ablations", "## Label generation", "## Exported model", "## Figures", "## Steps", "```json"]) {
      assert.ok(md.includes(section), `results.md has ${section}`);
    }
    assert.match(md, /\| RRA-BERT residual \+ features \+ TCL v3 \|/);
    assert.match(md, /\| RRA-GPT residual \+ features \|/);
    assert.match(md, /\| lexical features \+ prior \(no transformer\) \|/);
    assert.match(md, /## Cross-validation over both years/);
    assert.match(md, /## Collection statistics/);
    assert.match(md, /noveleval/);
    const figures = readdirSync(join(dir, "figures"));
    for (const name of ["label_cost_quality", "hard_negative_precision", "loss_ablation", "tcl_on_off", "by_query_length_dl20", "by_query_length_dl19", "training_curves_dl19", "training_curves_dl20", "students_vs_bm25_dl20"]) {
      for (const ext of ["png", "svg", "html"]) assert.ok(figures.includes(`${name}.${ext}`), `figure ${name}.${ext}`);
    }
    const card = JSON.parse(readFileSync(join(dir, "model", "config.json"), "utf8")) as { format: string };
    assert.equal(card.format, "rra-export/2");
    assert.ok(existsSync(join(dir, "model", "model.onnx")));
  });

  it("a second run reuses every step and computes nothing", () => {
    const again = spawnSync(process.execPath, args, { env, encoding: "utf8" });
    assert.equal(again.status, 0, again.stderr);
    const m = /\((\d+(?:\.\d+)?) s; (\d+)\/(\d+) steps reused\)/.exec(again.stderr);
    assert.ok(m, again.stderr);
    assert.equal(m[2], m[3], "every step reused");
    assert.doesNotMatch(again.stderr, /: running/);
    const md = readFileSync(join(dir, "results.md"), "utf8");
    assert.match(md, /\| students dl20->dl19 \| reused \|/);
  });

  it("--json prints the headline numbers and the paths as one JSON object (issue 15 item 16)", () => {
    const r = spawnSync(process.execPath, [...args, "--json"], { env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { directions: Array<{ direction: string; "ndcg@10": Record<string, number> }>; results: string; figures: string; model: string };
    assert.deepEqual(out.directions.map((d) => d.direction), ["dl19->dl20", "dl20->dl19"]);
    for (const d of out.directions) assert.ok(typeof d["ndcg@10"].BM25 === "number" && typeof d["ndcg@10"]["RRA-BERT residual + features, no TCL"] === "number", JSON.stringify(d));
    assert.equal(out.results, join(dir, "results.md"));
    assert.equal(out.model, join(dir, "model"));
  });
});
