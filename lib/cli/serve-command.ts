/** `rra serve`: a trained or exported re-ranker as an HTTP JSON service (lib/serve/server.ts). */
import { ConfigError, show } from "../core/errors";
import { startServer } from "../serve/server";
import { startWorkerScorer } from "../serve/worker-scorer";
import type { LoadRerankerOptions } from "../train/reranker";
import { numberFlag, parseFlags, required, type Command } from "./args";

const HELP = `rra serve --model DIR [options]

Serve a student written by rra train (or a directory written by rra export) over HTTP. Requests are
checked as they arrive and scored one at a time in arrival order, in a worker thread, so /health and
the queue answer at once while a batch is scored; at most 256 wait, later ones get 503. A bad request
gets a 4xx {"error": "..."} naming the field; a scoring failure gets 500 and the server goes on.
SIGINT or SIGTERM (also when the parent that started it, e.g. npx, is killed) stops accepting, answers
every waiting request 503 with Retry-After, finishes the one being scored, then exits 0. Prints
"listening on http://HOST:PORT" on stderr once ready.

  POST /rerank     {"query": "...", "passages": [{"id": "...", "text": "..."}], "topK": 10}   (topK optional)
               ->  {"ranking": [{"id", "score", "rank"}], "model": {"kind", "format", "engine"}, "took_ms"}
                   ranked by score, highest first (ties in input order), cut to topK
  POST /v1/rerank  {"model": "...", "query": "...", "documents": ["..." or {"text": "..."}], "top_n": 3,
                   "return_documents": true}   (the Cohere / Jina rerank API; model, top_n and
                   return_documents optional; model is ignored)
               ->  {"id", "model", "results": [{"index", "relevance_score", "document": {"text"}}], "meta"}
  GET  /health     ->  {"status": "ok", "model": {"dir", "kind", "format", "engine"}, "uptime_s", "requests_served", "queued"}

Options:
  --model DIR         model directory (rra train --out, or rra export)
  --port P            TCP port; 0 picks a free one (default 8080)
  --host H            interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --max-passages N    passages per request (default 1000); more get 413
  --max-chars N       characters per passage text (default 10000); longer get 413
  --batch N           pairs (bert) or prompts (gpt) per forward pass (default 128)
  --engine E          exported ONNX models: auto, tfjs or onnxruntime (default auto)
  --allow-unfinished  serve a model folder whose training did not finish (no training.json yet)
  -h, --help          this text

Example:
  rra serve --model models/tiny-listnet --port 8080
  curl -s localhost:8080/rerank -H 'content-type: application/json' \\
    -d '{"query": "what is a lobster roll", "passages": [{"id": "a", "text": "New England sandwich"}]}'`;

const ENGINES = ["auto", "tfjs", "onnxruntime"] as const;

function intFlag(values: Record<string, unknown>, flag: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = numberFlag("serve", values, flag, fallback);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`rra serve: --${flag} expects an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`}, got ${show(values[flag])}`);
  return n;
}

/** Resolve on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** The serve command. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve a trained or exported re-ranker over HTTP (POST /rerank, GET /health)",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("serve", argv, {
      model: { type: "string" }, port: { type: "string" }, host: { type: "string" }, "max-passages": { type: "string" }, "max-chars": { type: "string" }, batch: { type: "string" }, engine: { type: "string" },
      "allow-unfinished": { type: "boolean" },
    });
    if (values.help) { console.log(HELP); return 0; }
    const modelDir = required("serve", values, "model");
    const port = intFlag(values, "port", 8080, 0, 65535);
    const host = (values.host as string | undefined) ?? "127.0.0.1";
    const maxPassages = intFlag(values, "max-passages", 1000, 1);
    const maxChars = intFlag(values, "max-chars", 10_000, 1);
    const batchSize = intFlag(values, "batch", 128, 1);
    const engine = (values.engine as string | undefined) ?? "auto";
    if (!(ENGINES as readonly string[]).includes(engine)) throw new ConfigError(`rra serve: --engine expects one of ${ENGINES.join(", ")}, got ${show(engine)}`);
    const model = await startWorkerScorer(modelDir, { engine: engine as LoadRerankerOptions["engine"], batchSize, allowUnfinished: Boolean(values["allow-unfinished"]) });
    try {
      const server = await startServer(model, { port, host, maxPassages, maxChars, log: (line) => console.error(`[serve] ${line}`) });
      const stopped = untilSignal();
      console.error(`[serve] ${modelDir}: ${model.kind}, ${model.format}, ${model.engine}`);
      console.error(`listening on ${server.url}`);
      const signal = await stopped;
      console.error(`[serve] ${signal}: answering the requests in flight, then stopping`);
      await server.close();
      const s = server.stats();
      console.error(`[serve] stopped; requests: ${s.requestsServed} ranked, ${s.requestsRejected} rejected, ${s.requestsFailed} failed`);
      return 0;
    } finally {
      // only now, with every request answered, is the model disposed (in its thread)
      await model.close();
    }
  },
};
