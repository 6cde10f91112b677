/**
 * The body of `rra serve`'s scoring thread (worker-scorer.ts starts it through worker-entry.js): loads the
 * model with loadReranker on its own TensorFlow.js backend (or ONNX Runtime), then scores one request at a
 * time as messages arrive. Scoring blocks this thread only, so the HTTP thread keeps answering.
 * Messages in: {type: "score", id, query, passages} | {type: "close"}; out: {type: "ready", ...model} |
 * {type: "scores", id, scores} | {type: "error", id, message} | {type: "failed", message} (loading failed).
 */
import { parentPort, workerData } from "worker_threads";
import { initBackend } from "../backend/tf";
import { loadReranker, type LoadRerankerOptions, type Reranker } from "../train/reranker";

/** What the thread is started with. */
export interface ScoreWorkerData {
  dir: string;
  options: LoadRerankerOptions;
}

/** A message to the thread. */
export type ScoreWorkerRequest = { type: "score"; id: number; query: string; passages: string[] } | { type: "close" };

/** A message from the thread. */
export type ScoreWorkerReply =
  | { type: "ready"; kind: Reranker["kind"]; format: Reranker["format"]; engine: string; dir: string }
  | { type: "scores"; id: number; scores: Float32Array }
  | { type: "error"; id: number; message: string }
  | { type: "failed"; message: string; name: string };

async function run(): Promise<void> {
  const port = parentPort!;
  const { dir, options } = workerData as ScoreWorkerData;
  let model: Reranker;
  try {
    await initBackend({ quiet: true });
    model = await loadReranker(dir, options);
  } catch (e) {
    port.postMessage({ type: "failed", message: (e as Error)?.message ?? String(e), name: (e as Error)?.name ?? "Error" } satisfies ScoreWorkerReply);
    return;
  }
  port.postMessage({ type: "ready", kind: model.kind, format: model.format, engine: model.engine, dir: model.dir } satisfies ScoreWorkerReply);
  port.on("message", (m: ScoreWorkerRequest) => {
    if (m.type === "close") {
      model.dispose();
      port.close();
      return;
    }
    model.score(m.query, m.passages).then(
      (scores) => port.postMessage({ type: "scores", id: m.id, scores } satisfies ScoreWorkerReply, [scores.buffer]),
      (e: unknown) => port.postMessage({ type: "error", id: m.id, message: (e as Error)?.message ?? String(e) } satisfies ScoreWorkerReply),
    );
  });
}

void run();
