import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { main } from "../../lib/cli/main";
import { closeStore, openStore } from "../../lib/store/db";
import { compareStudents, pickStudentKinds, studentKinds } from "../../lib/pipeline/students";

describe("pipeline/students (cross-year student table)", () => {
  const tiny = { vocabSize: 2000, maxLength: 48, groupSize: 6, groupsPerBatch: 2, maxSteps: 1, trainQueries: 2, devQueries: 2, epochs: 1 };

  it("trains, re-ranks the held-out year and compares with BM25 and the teacher; a rerun reuses the runs", async () => {
    const out = mkdtempSync(join(tmpdir(), "rra-students-"));
    const db = await openStore(join(out, "store.sqlite"));
    try {
      const spec = { students: [{ name: "bert", config: { ...tiny, tcl: false }, fuse: true }], train: "dl19" as const, test: "dl20" as const, seeds: [1], out, testQueries: 4, quiet: true };
      const r = await compareStudents(db, spec);
      const names = [...new Set(r.rows.map((x) => x.system))];
      assert.deepEqual(names, ["BM25", "teacher rankvicuna-7b", "teacher rankvicuna-7b-top20", "bert", "bert ⊕ BM25"]);
      const bm25 = r.rows.find((x) => x.system === "BM25" && x.metric === "ndcg@10");
      assert.equal(bm25?.n, 4);
      assert.equal(r.runs.length, 1);
      assert.ok(r.runs[0].fusionWeight !== undefined && r.runs[0].fusionWeight >= 0 && r.runs[0].fusionWeight <= 1);
      const record = join(r.runs[0].outDir, "training.json");
      const before = readFileSync(record, "utf8");
      const again = await compareStudents(db, spec);
      assert.equal(readFileSync(record, "utf8"), before, "the finished run is reused, not retrained");
      assert.deepEqual(again.rows.map((x) => x.mean), r.rows.map((x) => x.mean));
      await assert.rejects(compareStudents(db, { ...spec, test: "dl19" }), /held out/);
    } finally {
      await closeStore(db);
    }
  });

  it("rra students rejects bad flags with exit code 2 and writes nothing", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "rra-students-cli-")), "o");
    assert.equal(await main(["students", "--students", "bert,roberta", "--out", out]), 2);
    assert.equal(await main(["students", "--train", "dl21", "--out", out]), 2);
    assert.equal(existsSync(out), false);
  });
});

describe("pickStudentKinds (notebook 05's student names)", () => {
  it("returns the named kinds in order and rejects a mistyped name with a did-you-mean", () => {
    const kinds = studentKinds({ epochs: 1 });
    const picked = pickStudentKinds(kinds, ["lexical", "residual"]);
    assert.deepEqual(picked.map((k) => k.name), [kinds.lexical.name, kinds.residual.name]);
    assert.throws(() => pickStudentKinds(kinds, ["residual", "residul-notcl"]), /students: unknown name "residul-notcl".*did you mean "residual-notcl"/);
  });
});
