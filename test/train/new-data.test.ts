/**
 * A student on a query set it has never seen, given only a candidates file (rank_llm retrieve-results
 * JSON with first-stage scores and passage text): the statistics of the new query terms are recovered
 * from that file's own scores and its passages join the corpus; no judgments are read.
 */
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type { Kysely } from "kysely";
import { initBackend } from "../../lib/backend/tf";
import { main } from "../../lib/cli/main";
import { loadDataset } from "../../lib/data/datasets";
import { readRetrieveResults } from "../../lib/data/rankllm";
import { readRun } from "../../lib/data/trec";
import type { Dataset, Qrels, RankedList } from "../../lib/data/types";
import { evaluateRun } from "../../lib/eval/evaluate";
import { analyzeLists } from "../../lib/lexical/analyzed";
import { buildLexicon, saveLexicon } from "../../lib/lexical/lexicon";
import { closeStore, openStore } from "../../lib/store/db";
import type { Database } from "../../lib/store/schema";
import { trainStudent } from "../../lib/train/loop";
import { loadReranker } from "../../lib/train/reranker";
import { lexiconFor } from "../../lib/train/scoring";

describe("a student on a query set it never saw (only a candidates file)", function () {
  this.timeout(300_000);
  let db: Kysely<Database>;
  let dl19: Dataset, dl20: Dataset;
  const dir = mkdtempSync(join(tmpdir(), "rra-new-data-"));
  before(async () => {
    await initBackend({ quiet: true });
    db = await openStore(":memory:");
    dl19 = loadDataset("dl19");
    dl20 = loadDataset("dl20");
  });
  after(async () => {
    await closeStore(db);
  });

  it("recovers the new queries' statistics from the file's scores and re-ranks them (library and CLI)", async () => {
    // statistics of DL19 alone: DL20's query terms are new to the student
    const lexFile = join(dir, "dl19-lexicon.json");
    saveLexicon(lexFile, buildLexicon(analyzeLists(dl19.lists), [], { name: "dl19 only" }));
    const r = await trainStudent(db, { train: "dl19", dev: "dl19", network: false, tcl: false, lexicon: lexFile, out: join(dir, "model") }, { quiet: true, datasets: { dl19, dl20 } });
    // the "new" file: ten DL20 queries under ids the student never saw, in rank_llm's format
    const rename = (id: string) => `new-${id}`;
    const lists: RankedList[] = dl20.lists.slice(0, 10);
    const file = join(dir, "new.json");
    writeFileSync(file, JSON.stringify(lists.map((l) => ({ query: l.query, hits: l.candidates.map((c) => ({ content: c.text, qid: rename(l.qid), docid: rename(c.docid), rank: c.rank, score: c.score })) }))));
    const fresh = readRetrieveResults(file);
    const reranker = await loadReranker(r.outDir);
    try {
      const before = reranker.scoring.lexicon;
      assert.ok(before && fresh.every((l) => l.candidates.every((c) => !before.corpus.docids.has(c.docid))));
      const lex = lexiconFor(reranker.scoring, fresh);
      const terms = [...new Set(analyzeLists(fresh).flatMap((l) => [...l.queryTerms.keys()]))];
      const newTerms = terms.filter((t) => !before?.recovered.has(t));
      assert.ok(newTerms.length > 5, `${newTerms.length} new terms`);
      const got = newTerms.filter((t) => lex?.recovered.has(t));
      assert.ok(got.length >= 0.9 * newTerms.length, `recovered ${got.length} of ${newTerms.length} new query terms from the file's scores`);
      const run = await reranker.rerank(fresh);
      const qrels: Qrels = new Map(lists.map((l) => [rename(l.qid), new Map([...(dl20.qrels.get(l.qid) ?? new Map())].map(([d, g]) => [rename(d), g]))]));
      const bm25: typeof run = { tag: "bm25", queries: new Map(fresh.map((l) => [l.qid, l.candidates])) };
      const student = evaluateRun(qrels, run, { metrics: ["ndcg@10"] }).all["ndcg@10"];
      const first = evaluateRun(qrels, bm25, { metrics: ["ndcg@10"] }).all["ndcg@10"];
      assert.ok(student > first - 0.05, `student ${student} vs BM25 ${first} on the new queries`);
      // the CLI does the same from the file alone
      const out = join(dir, "new.run");
      assert.equal(await main(["rerank", "--model", r.outDir, "--input", file, "--out", out]), 0);
      const cli = readRun(out);
      assert.deepEqual([...cli.queries.keys()].sort(), [...run.queries.keys()].sort());
      assert.deepEqual(cli.queries.get(fresh[0].qid)?.slice(0, 10).map((c) => c.docid), run.queries.get(fresh[0].qid)?.slice(0, 10).map((c) => c.docid));
    } finally {
      reranker.dispose();
    }
  });
});
