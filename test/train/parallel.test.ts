import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import * as tf from "@tensorflow/tfjs";
import type { Kysely } from "kysely";
import { initBackend } from "../../lib/backend/tf";
import { loadDataset } from "../../lib/data/datasets";
import { runLabelJob } from "../../lib/labels/pipeline";
import { shippedLexicon } from "../../lib/lexical/shipped";
import { resolveEncoderConfig } from "../../lib/models/presets";
import { createRraBert } from "../../lib/models/tcl";
import { closeStore, openStore } from "../../lib/store/db";
import { loadWindows } from "../../lib/store/labels";
import type { Database } from "../../lib/store/schema";
import { buildGroups, packGroups, type TrainBatch } from "../../lib/train/batches";
import { resolveTrainConfig, studentTokenizer, trainRunId, type CurvePoint, type TrainConfig } from "../../lib/train/config";
import { setNativeMatMulThreads } from "../../lib/backend/native-matmul";
import { linuxThreadId, threadAlive } from "../../lib/core/process";
import { trainStudent } from "../../lib/train/loop";
import { assignParts, createParallelTrainStep, parallelPartSize, type ParallelStepOptions } from "../../lib/train/parallel";
import { createAdamW } from "../../lib/train/schedule";
import { createTrainStep } from "../../lib/train/step";

describe("data-parallel training step (lib/train/parallel.ts)", function () {
  this.timeout(60000);
  let db: Kysely<Database>;
  let batch: TrainBatch;
  let vocab = 0;
  let groupsOf: ReturnType<typeof buildGroups> = [];
  // the equivalence holds for the same kernels: one OpenBLAS thread on both sides (the parallel step sets 1
  // for its run; OpenBLAS's rounding differs between 1 and 2 threads)
  let blasBefore = 1;
  before(async () => {
    await initBackend({ quiet: true });
    blasBefore = setNativeMatMulThreads(1);
    db = await openStore(":memory:");
    const dl19 = loadDataset("dl19");
    const { summary } = await runLabelJob(db, { dataset: "dl19", teacher: "projected:rankvicuna-7b", selection: "top10+bottom10" }, { quiet: true, dataset: dl19 });
    const groups = buildGroups(await loadWindows(db, summary.job), dl19, "hardNegative", 8);
    groupsOf = groups;
    const tok = studentTokenizer(2000);
    vocab = tok.idToToken.length;
    batch = packGroups(tok, groups, [0, 1, 2, 3], { maxLength: 48, tokenSelection: null, lexicon: shippedLexicon(), termArrays: true });
  });
  after(async () => {
    setNativeMatMulThreads(blasBefore);
    await closeStore(db);
  });

  // tiny preset, TCL v3, dropout on, a first-stage prior (the composition trains with the network)
  const build = () => {
    const model = createRraBert(resolveEncoderConfig({ vocabSize: vocab, seed: 1, dropout: 0.1 }, { preset: "tiny" }), { tcl: true, tokenSelection: "exact", tclConfig: { seed: 2 }, composition: { prior: 1, scale: 10 } });
    return { model, opt: createAdamW(model.trainableVariables()) };
  };
  const weightsOf = (vars: tf.Variable[]) => vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));

  it("splits the micro-batches over the threads as documented", () => {
    assert.equal(parallelPartSize(4, 0, 2), 2);
    assert.equal(parallelPartSize(5, 0, 2), 3);
    assert.equal(parallelPartSize(8, 3, 2), 3);
    assert.equal(parallelPartSize(1, 0, 2), 1);
    assert.deepEqual(assignParts(3, 2), [[0, 2], [2, 3]]);
    assert.deepEqual(assignParts(1, 2), [[0, 1], [1, 1]]);
  });

  // microBatch 0: one micro-batch per thread; microBatch 1: two per thread, handed over one at a time through the slot
  for (const [micro, refMicro] of [[0, 2], [1, 1]]) {
    it(`3 steps on 2 threads (microBatch ${micro}) are bit-identical to microBatch ${refMicro} on one (losses, grad norms, weights)`, async () => {
      const one = build();
      const ref = createTrainStep(one.model, one.opt, { loss: "listNet", clip: 1, seed: 3, microBatch: refMicro }, (s) => 1e-3 * (s + 1));
      const refStats = [0, 1, 2].map((s) => ref(batch, s));
      const refW = weightsOf(one.model.trainableVariables());
      one.opt.dispose();
      one.model.dispose();

      const two = build();
      const step = createParallelTrainStep(two.model, two.opt, { loss: "listNet", clip: 1, seed: 3, microBatch: micro }, (s) => 1e-3 * (s + 1), { workers: 2 });
      try {
        const before = tf.memory().numTensors;
        const stats = [0, 1, 2].map((s) => step(batch, s));
        assert.equal(tf.memory().numTensors, before, "no leaked tensors");
        assert.deepEqual(stats, refStats);
        weightsOf(two.model.trainableVariables()).forEach((w, i) => assert.ok(w.every((x, j) => x === refW[i][j]), `variable ${i} differs`));
        const t = step.timings();
        assert.equal(t.steps, 3);
        assert.ok(t.workerMs > 0 && t.ownMs > 0, `timings ${JSON.stringify(t)}`);
      } finally {
        await step.close();
        two.opt.dispose();
        two.model.dispose();
      }
    });
  }

  it("a batch of fewer groups than threads runs on the main thread, said once, as the single-thread step", async () => {
    const single = packGroups(studentTokenizer(2000), groupsOf, [0], { maxLength: 48, tokenSelection: null, lexicon: shippedLexicon(), termArrays: true });
    const one = build();
    const ref = createTrainStep(one.model, one.opt, { loss: "listNet", clip: 1, seed: 3 }, () => 1e-3);
    const refStats = [0, 1].map((s) => ref(single, s));
    one.opt.dispose();
    one.model.dispose();
    const two = build();
    const lines: string[] = [];
    const step = createParallelTrainStep(two.model, two.opt, { loss: "listNet", clip: 1, seed: 3 }, () => 1e-3, { workers: 2, log: (l) => lines.push(l) });
    try {
      assert.deepEqual([0, 1].map((s) => step(single, s)), refStats);
      assert.deepEqual(lines, ["workers 2: a batch of 1 group makes 1 micro-batch, so 1 of 2 threads idle in such steps (use at least 2 groups per batch)"]);
    } finally {
      await step.close();
      two.opt.dispose();
      two.model.dispose();
    }
  });

  it("trainStudent with workers 2 trains as workers 1 with microBatch ceil(groups / 2); workers joins the run id only when not 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rra-parallel-"));
    const base: Partial<TrainConfig> = { preset: "tiny", vocabSize: 2000, maxLength: 48, groupsPerBatch: 2, groupSize: 8, trainQueries: 6, devQueries: 1, patience: 0, epochs: 1, maxSteps: 3 };
    const datasets = { dl19: loadDataset("dl19"), dl20: loadDataset("dl20") };
    const curve = (c: CurvePoint[]) => c.filter((p) => p.split === "train").map((p) => `${p.metric}=${p.value}`);
    const one = await trainStudent(db, { ...base, microBatch: 1, out: join(dir, "one") }, { quiet: true, datasets });
    const two = await trainStudent(db, { ...base, workers: 2, out: join(dir, "two") }, { quiet: true, datasets });
    assert.equal(two.steps, 3);
    assert.deepEqual(curve(two.curves), curve(one.curves));
    assert.ok(readFileSync(join(dir, "two", "weights.bin")).equals(readFileSync(join(dir, "one", "weights.bin"))), "same weights.bin");
    assert.equal(JSON.parse(readFileSync(join(dir, "two", "training.json"), "utf8")).config.workers, 2);
    assert.equal(trainRunId(resolveTrainConfig({ workers: 1 })), trainRunId(resolveTrainConfig({})));
    assert.notEqual(trainRunId(resolveTrainConfig({ workers: 2 })), trainRunId(resolveTrainConfig({})));
    assert.throws(() => resolveTrainConfig({ workers: 0 }), /workers must be an integer >= 1, got 0/);
    assert.throws(() => resolveTrainConfig({ arch: "gpt", workers: 2 }), /workers 2 .* is for arch "bert"/);
  });

  for (const [what, fault, pattern] of [
    ["throws", { throwAtStep: 1 }, /data-parallel worker 1 of 1 failed \(step 1: Error: injected fault at step 1\) during training step 1/],
    ["exits", { exitAtStep: 0 }, /data-parallel worker 1 of 1 failed \(thread exit: Error: the thread exited with code 3\) during training step 0/],
    // V8 ends the thread with no handler run: seen by its thread id leaving /proc/self/task (this hung before)
    ["runs out of JS heap", { oomAtStep: 0 }, /data-parallel worker 1 of 1 died during training step 0 without a report: its thread is gone/],
  ] as Array<[string, ParallelStepOptions["fault"], RegExp]>) {
    it(`a worker that ${what} surfaces as an error naming it, and the threads end`, async () => {
      const m = build();
      const step = createParallelTrainStep(m.model, m.opt, { loss: "listNet", clip: 1, seed: 3 }, () => 1e-3, { workers: 2, fault, ...(fault?.oomAtStep !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: 160 } } : {}) });
      try {
        if (!fault?.exitAtStep && fault?.throwAtStep) step(batch, 0);
        assert.throws(() => step(batch, fault?.throwAtStep ?? 0), pattern);
        assert.throws(() => step(batch, 5), pattern, "the step stays failed");
      } finally {
        await step.close();
        m.opt.dispose();
        m.model.dispose();
      }
    });
  }

  it("threadAlive: this process's main thread is alive, an id that is not one of its threads is not, an unknown id counts as alive", () => {
    assert.equal(threadAlive(process.pid), true);
    assert.equal(linuxThreadId(), process.pid, "the main thread's id is the process id");
    assert.equal(threadAlive(2 ** 30), false);
    assert.equal(threadAlive(0), true);
  });
});
