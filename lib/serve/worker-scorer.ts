/**
 * A model scored in a worker thread: `rra serve` loads its model here instead of in the HTTP thread, so
 * that scoring a batch (tens to hundreds of ms on tfjs) never holds up /health or the queue's own answers.
 * The worker (score-worker.ts) loads the model with loadReranker on its own backend; requests go to it one
 * at a time (the server's queue already serialises them) and scores come back as transferred Float32Arrays.
 */
import { join } from "path";
import { Worker } from "worker_threads";
import { ConfigError, ModelError, RraError } from "../core/errors";
import type { LoadRerankerOptions } from "../train/reranker";
import type { ScoreWorkerReply, ScoreWorkerRequest } from "./score-worker";
import type { ServedModel } from "./server";

/** A served model whose scores are computed in a worker thread. */
export interface WorkerScorer extends ServedModel {
  /** Stop the thread after the scoring in progress (the model is disposed there). */
  close(): Promise<void>;
}

/** Start the scoring thread for the model directory `dir`; resolves once the model is loaded (rejects with its loading error). */
export function startWorkerScorer(dir: string, options: LoadRerankerOptions = {}): Promise<WorkerScorer> {
  const worker = new Worker(join(__dirname, "worker-entry.js"), { workerData: { dir, options } });
  const pending = new Map<number, { resolve: (s: Float32Array) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let gone: Error | null = null;
  return new Promise<WorkerScorer>((resolveReady, rejectReady) => {
    const fail = (e: Error): void => {
      gone ??= e;
      for (const p of pending.values()) p.reject(gone);
      pending.clear();
      rejectReady(gone);
    };
    worker.on("error", (e) => fail(new RraError(`the scoring thread failed: ${e.message}`)));
    worker.on("exit", (code) => fail(new RraError(`the scoring thread exited (code ${code})`)));
    worker.on("message", (m: ScoreWorkerReply) => {
      if (m.type === "failed") {
        // the loader's own error, with its kind, so that the CLI prints it as it would without the thread
        const E = m.name === "ConfigError" ? ConfigError : m.name === "ModelError" ? ModelError : RraError;
        fail(new E(m.message));
        void worker.terminate();
      } else if (m.type === "ready") {
        resolveReady({
          kind: m.kind, format: m.format, engine: m.engine, dir: m.dir,
          score(query, passages) {
            if (gone) return Promise.reject(gone);
            const id = nextId++;
            return new Promise<Float32Array>((resolve, reject) => {
              pending.set(id, { resolve, reject });
              worker.postMessage({ type: "score", id, query, passages: [...passages] } satisfies ScoreWorkerRequest);
            });
          },
          async close() {
            if (gone) return;
            const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
            worker.postMessage({ type: "close" } satisfies ScoreWorkerRequest);
            // a backend that keeps the thread alive after dispose must not keep the process alive
            const stop = setTimeout(() => void worker.terminate(), 5000);
            stop.unref();
            await exited;
            clearTimeout(stop);
          },
        });
      } else {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.type === "scores") p?.resolve(m.scores);
        else p?.reject(new Error(m.message));
      }
    });
  });
}
