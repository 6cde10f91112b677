/**
 * The body of a data-parallel training thread (parallel.ts starts it through parallel-entry.js). It builds
 * the same RRA-BERT as the main thread on its own TensorFlow.js backend, and per step: reads the main
 * thread's weights from shared memory, computes the gradients of its micro-batches (partLoss of step.ts,
 * the code of the single-thread step) one at a time, and hands each to the main thread through a shared
 * slot (Atomics: wait until the slot is empty, write, mark it full). Any failure (starting, a step, an
 * uncaught error, the thread exiting) is written to the shared error buffer and marks the slot failed, so
 * the main thread, which waits on the slot synchronously, sees it instead of waiting forever. V8 killing
 * the thread (out of JS heap) runs no handler: the main thread sees this thread's id (CTRL.tid) leave
 * /proc/self/task instead.
 * Messages in: StepMessage; nothing goes out by message.
 */
import * as tf from "@tensorflow/tfjs";
import { parentPort, workerData } from "worker_threads";
import { initBackend } from "../backend/tf";
import { linuxThreadId } from "../core/process";
import { createRraBert, type RraBert } from "../models/tcl";
import { CTRL, floatsOf, SLOT, type ParallelWorkerData, type StepMessage } from "./parallel-protocol";
import { partLoss } from "./step";

function run(): void {
  const port = parentPort!;
  const data = workerData as ParallelWorkerData;
  const ctrl = new Int32Array(data.shared.ctrl);
  const lossBuf = new Float32Array(data.shared.loss), gradBuf = new Float32Array(data.shared.grads), hasGrad = new Uint8Array(data.shared.hasGrad);
  const weightBuf = new Float32Array(data.shared.weights), errorBuf = new Uint8Array(data.shared.error);
  const sizes = data.shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const offsets = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
  const gradOffsets = data.trained.map((_, j) => data.trained.slice(0, j).reduce((a, i) => a + sizes[i], 0));
  let failed = false;
  const fail = (where: string, e: unknown): void => {
    if (failed) return;
    failed = true;
    const text = `${where}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    const bytes = Buffer.from(text, "utf8").subarray(0, errorBuf.length);
    errorBuf.set(bytes);
    Atomics.store(ctrl, CTRL.errorLength, bytes.length);
    Atomics.store(ctrl, CTRL.slot, SLOT.failed);
    Atomics.notify(ctrl, CTRL.slot);
  };
  process.on("uncaughtException", (e) => { fail("uncaught error", e); process.exit(1); });
  process.on("unhandledRejection", (e) => { fail("unhandled rejection", e); process.exit(1); });
  process.on("exit", (code) => fail("thread exit", new Error(`the thread exited with code ${code}`)));
  // V8 running out of heap kills the thread with no handler run: the main thread then sees the thread id vanish
  Atomics.store(ctrl, CTRL.tid, linuxThreadId());

  let model: RraBert | null = null;
  let vars: tf.Variable[] = [], trained: tf.Variable[] = [];
  let wasm = false;
  let floats: (t: tf.Tensor) => Float32Array = (t) => t.dataSync() as Float32Array;
  const ready = (async () => {
    const info = await initBackend({ quiet: true, backend: data.backend });
    // the same kernels as the main thread, or the sum would not be the single-thread one bit for bit
    if ((info.matMul ?? "") !== data.matMul) throw new Error(`this thread's matMul is ${info.matMul ?? "the backend's own"}, the main thread's ${data.matMul || "the backend's own"}`);
    wasm = tf.getBackend() === "wasm";
    floats = floatsOf();
    const m = data.model;
    model = createRraBert(data.encoder, { tcl: m.tcl, tokenSelection: m.tokenSelection, tclConfig: m.tclConfig, ...(m.composition ? { composition: m.composition } : {}) });
    vars = model.trainableVariables();
    const got = vars.map((v) => v.shape.join("x")).join(","), want = data.shapes.map((s) => s.join("x")).join(",");
    if (got !== want) throw new Error(`the rebuilt model's variables [${got}] differ from the main thread's [${want}]`);
    trained = data.trained.map((i) => vars[i]);
  })();

  const stepOnce = (m: StepMessage): void => {
    const t0 = performance.now();
    let waited = 0;
    if (data.fault?.throwAtStep === m.step) throw new Error(`injected fault at step ${m.step}`);
    if (data.fault?.exitAtStep === m.step) process.exit(3);
    if (data.fault?.oomAtStep === m.step) for (const keep: number[][] = []; ; ) keep.push(new Array<number>(1 << 16).fill(m.step + keep.length));
    // the main thread's weights of this step (written before the step was posted). On wasm they are copied into the
    // variables' heap memory in place (8 ms against 70 for assign at 11.2M weights): between steps nothing else
    // holds a variable's memory here (no optimizer, no other model); elsewhere assigned from a copy
    vars.forEach((v, i) => {
      const view = weightBuf.subarray(offsets[i], offsets[i] + sizes[i]);
      if (wasm) floats(v).set(view);
      else tf.tidy(() => v.assign(tf.tensor(view.slice(), v.shape)));
    });
    for (let k = m.from; k < m.to; k++) {
      const { value, grads } = tf.tidy(() => tf.variableGrads(() => partLoss(model as RraBert, data.loss, m.batch, m.step, m.size, k), trained));
      try {
        // the previous part must have been taken by the main thread
        const w0 = performance.now();
        while (Atomics.load(ctrl, CTRL.slot) === SLOT.full) Atomics.wait(ctrl, CTRL.slot, SLOT.full);
        waited += performance.now() - w0;
        trained.forEach((v, j) => {
          const g = grads[v.name];
          hasGrad[j] = g ? 1 : 0;
          if (g) gradBuf.set(floats(g), gradOffsets[j]);
        });
        lossBuf[0] = value.dataSync()[0];
        Atomics.store(ctrl, CTRL.part, k);
        if (k === m.to - 1) Atomics.add(ctrl, CTRL.busyUs, Math.round(1000 * (performance.now() - t0 - waited)));
        Atomics.store(ctrl, CTRL.slot, SLOT.full);
        Atomics.notify(ctrl, CTRL.slot);
      } finally {
        tf.dispose([value, ...Object.values(grads)]);
      }
    }
  };

  let chain: Promise<void> = ready.catch((e: unknown) => fail("starting", e));
  port.on("message", (m: StepMessage) => {
    chain = chain.then(() => {
      if (failed) return;
      try {
        stepOnce(m);
      } catch (e) {
        fail(`step ${m.step}`, e);
      }
    });
  });
}

run();
