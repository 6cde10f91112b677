import assert from "node:assert/strict";
import { initBackend } from "../../lib/backend/tf";
import { RERANK_LIMITS_DEFAULTS } from "../../lib/serve/request";
import { computeRerankV1Results, parseRerankV1Request } from "../../lib/serve/rerank-v1";
import { startServer, type RunningServer } from "../../lib/serve/server";
import { loadReranker, type Reranker } from "../../lib/train/reranker";
import { makeStudentDir } from "../fixtures/tiny-student";

/**
 * A client of the Cohere / Jina rerank API as retrieval frameworks write it (LangChain's CohereRerank,
 * LlamaIndex's CohereRerank / JinaRerank, Haystack's rankers): POST {base}/v1/rerank with a bearer token,
 * the model name, the query and the documents (strings or {text}), top_n and return_documents; it
 * reorders its own documents by `results[].index` and keeps `relevance_score`.
 */
async function frameworkRerank(baseUrl: string, query: string, documents: Array<string | { text: string }>, topN: number): Promise<Array<{ text: string; score: number }>> {
  const res = await fetch(`${baseUrl}/v1/rerank`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", authorization: "Bearer any-key" },
    body: JSON.stringify({ model: "rerank-english-v3.0", query, documents, top_n: topN, return_documents: true, max_chunks_per_doc: 10 }),
  });
  if (res.status !== 200) throw new Error(`rerank failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id: string; results: Array<{ index: number; relevance_score: number; document?: { text: string } }> };
  assert.equal(typeof body.id, "string");
  return body.results.map((r) => {
    const original = documents[r.index];
    assert.equal(r.document?.text, typeof original === "string" ? original : original.text, "document is the one at index");
    return { text: r.document!.text, score: r.relevance_score };
  });
}

describe("POST /v1/rerank: the Cohere / Jina rerank API (issue 15 item 15)", () => {
  let reranker: Reranker;
  let server: RunningServer;
  before(async () => {
    await initBackend({ quiet: true });
    reranker = await loadReranker(makeStudentDir());
    server = await startServer(reranker, { port: 0 });
  });
  after(async () => {
    await server?.close();
    reranker?.dispose();
  });

  it("answers a framework client with the top_n documents by the model's score, indexes into its list", async () => {
    const docs = ["A lobster roll is a sandwich native to New England.", { text: "The stock market fell on Tuesday." }, "Lobster rolls are made with lobster meat on a hot dog bun.", "Paris is the capital of France."];
    const query = "what is a lobster roll";
    const got = await frameworkRerank(server.url, query, docs, 3);
    const scores = await reranker.score(query, docs.map((d) => (typeof d === "string" ? d : d.text)));
    const expected = [...scores].map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i).slice(0, 3);
    assert.deepEqual(got.map((g) => g.text), expected.map((e) => { const d = docs[e.i]; return typeof d === "string" ? d : d.text; }));
    got.forEach((g, k) => assert.ok(Math.abs(g.score - expected[k].s) < 1e-5));
  });

  it("leaves documents out unless return_documents, and keeps /rerank as it was", async () => {
    const res = await fetch(`${server.url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "q", documents: ["a", "bb"] }) });
    const body = (await res.json()) as { model: string; results: Array<Record<string, unknown>> };
    assert.equal(res.status, 200);
    assert.deepEqual(body.results.map((r) => Object.keys(r).sort()), [["index", "relevance_score"], ["index", "relevance_score"]]);
    const old = await fetch(`${server.url}/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "q", passages: [{ id: "a", text: "a" }] }) });
    assert.equal(old.status, 200);
  });

  it("refuses malformed bodies naming the field, 413 above the limits", () => {
    const limits = { ...RERANK_LIMITS_DEFAULTS, maxPassages: 2 };
    const bad: Array<[unknown, number, RegExp]> = [
      [{ documents: ["a"] }, 400, /^query: expected a non-empty string, got nothing/],
      [{ query: "q", documents: [] }, 400, /^documents: expected at least 1 document/],
      [{ query: "q", documents: ["a", 3] }, 400, /^documents\[1\]: expected a string or an object \{text: string\}, got the number 3/],
      [{ query: "q", documents: ["a"], top_n: 0 }, 400, /^top_n: expected a positive integer, got the number 0/],
      [{ query: "q", documents: ["a"], return_documents: "yes" }, 400, /^return_documents: expected true or false/],
      [{ query: "q", documents: ["a"], temperature: 1 }, 400, /^body: unknown field "temperature"/],
      [{ query: "q", documents: ["a", "b", "c"] }, 413, /^documents: expected at most 2 documents/],
    ];
    for (const [body, status, pattern] of bad) {
      assert.throws(() => parseRerankV1Request(body, limits), (e: unknown) => (e as { status?: number }).status === status && pattern.test((e as Error).message), JSON.stringify(body));
    }
  });

  it("ranks ties in request order, cuts to top_n, and refuses non-finite scores", () => {
    const req = parseRerankV1Request({ query: "q", documents: ["a", "b", "c"], top_n: 2 }, RERANK_LIMITS_DEFAULTS);
    assert.deepEqual(computeRerankV1Results(req, [1, 2, 2]).map((r) => r.index), [1, 2]);
    assert.throws(() => computeRerankV1Results(req, [1, NaN, 0]), /non-finite score \(NaN\) for documents\[1\]/);
  });
});
