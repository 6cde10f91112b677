/**
 * Saving and loading evaluation datasets (queries, judgments, first-stage lists, passage texts).
 * A save validates the whole dataset first, then writes it in one transaction with chunked multi-row
 * inserts; saving a name again replaces the old content. Passage texts are shared between datasets by
 * docid (MS MARCO ids are global), so one docid can never have two texts.
 */
import type { Kysely, Transaction } from "kysely";
import { DataError, show } from "../core/errors";
import { sha256, stableStringify } from "../core/hash";
import type { Candidate, Dataset, Passage, Qrels, RankedList } from "../data/types";
import { chunkRows } from "./db";
import type { Database, DatasetRow, NewCandidate, NewDatasetPassage, NewJudgment, NewPassage, NewQuery } from "./schema";

/** Options of `saveDataset`. */
export interface SaveDatasetOptions {
  /** Fingerprint to record, e.g. sha256 of the source files' bytes. Default: `computeDatasetFingerprint(dataset)`. */
  fingerprint?: string;
}

/** SHA-256 of a dataset's content (queries, lists, judgments, passages, in order); the name is not part of it. */
export function computeDatasetFingerprint(dataset: Dataset): string {
  return sha256(
    stableStringify({
      queries: dataset.queries,
      lists: dataset.lists,
      qrels: [...dataset.qrels].map(([qid, docs]) => [qid, [...docs]]),
      passages: [...dataset.passages.values()],
    }),
  );
}

/** Rows of every table for one dataset, built and validated before anything is written. */
interface DatasetRows {
  queries: NewQuery[];
  passages: NewPassage[];
  links: NewDatasetPassage[];
  candidates: NewCandidate[];
  judgments: NewJudgment[];
}

/**
 * Store a dataset under `dataset.name` (replacing any dataset of that name) in one transaction.
 * `source` says where it came from (file paths or loader). Returns the stored `datasets` row.
 */
export async function saveDataset(
  db: Kysely<Database>,
  dataset: Dataset,
  source: string,
  options: SaveDatasetOptions = {},
): Promise<DatasetRow> {
  const rows = datasetRows(dataset);
  const name = dataset.name;
  const fingerprint = options.fingerprint ?? computeDatasetFingerprint(dataset);
  return db.transaction().execute(async (trx) => {
    await removeDataset(trx, name);
    const row = await trx.insertInto("datasets").values({ name, source, fingerprint }).returningAll().executeTakeFirstOrThrow();
    for (const chunk of chunkRows(rows.passages, 2)) {
      await trx.insertInto("passages").values(chunk).onConflict((oc) => oc.column("docid").doNothing()).execute();
    }
    await checkPassageTexts(trx, name, rows.passages);
    for (const chunk of chunkRows(rows.links, 3)) await trx.insertInto("dataset_passages").values(chunk).execute();
    for (const chunk of chunkRows(rows.queries, 6)) await trx.insertInto("queries").values(chunk).execute();
    for (const chunk of chunkRows(rows.candidates, 7)) await trx.insertInto("candidates").values(chunk).execute();
    for (const chunk of chunkRows(rows.judgments, 5)) await trx.insertInto("judgments").values(chunk).execute();
    return row;
  });
}

/** Read a stored dataset back; equal (deepStrictEqual) to the one saved. Throws `DataError` for an unknown name. */
export async function loadStoredDataset(db: Kysely<Database>, name: string): Promise<Dataset> {
  const row = await db.selectFrom("datasets").select("name").where("name", "=", name).executeTakeFirst();
  if (!row) {
    const known = (await db.selectFrom("datasets").select("name").orderBy("name").execute()).map((r) => r.name);
    throw new DataError({ file: "store", field: "datasets.name" }, "a stored dataset name", show(name),
      known.length ? `Stored datasets: ${known.join(", ")}` : "The store has no datasets yet; call saveDataset first");
  }
  const queryRows = await db.selectFrom("queries").selectAll().where("dataset", "=", name).orderBy("ord").execute();
  const passageRows = await db
    .selectFrom("dataset_passages as dp")
    .innerJoin("passages as p", "p.docid", "dp.docid")
    .select(["p.docid", "p.text"])
    .where("dp.dataset", "=", name)
    .orderBy("dp.ord")
    .execute();
  const candidateRows = await db.selectFrom("candidates").selectAll().where("dataset", "=", name).orderBy("qid").orderBy("ord").execute();
  const judgmentRows = await db.selectFrom("judgments").selectAll().where("dataset", "=", name).orderBy("ord").execute();

  const passages = new Map<string, Passage>();
  for (const p of passageRows) passages.set(p.docid, { docid: p.docid, text: p.text });

  const byQuery = new Map<string, Candidate[]>();
  for (const c of candidateRows) {
    let list = byQuery.get(c.qid);
    if (!list) byQuery.set(c.qid, (list = []));
    const cand: Candidate = { docid: c.docid, score: c.score, rank: c.rank };
    const text = c.has_text ? passages.get(c.docid)?.text : undefined;
    if (text !== undefined) cand.text = text;
    list.push(cand);
  }
  const lists: RankedList[] = queryRows
    .filter((q) => q.list_ord !== null)
    .sort((a, b) => (a.list_ord as number) - (b.list_ord as number))
    .map((q) => ({ qid: q.qid, query: q.list_query ?? q.text, candidates: byQuery.get(q.qid) ?? [] }));

  const qrels: Qrels = new Map();
  for (const j of judgmentRows) {
    let m = qrels.get(j.qid);
    if (!m) qrels.set(j.qid, (m = new Map()));
    m.set(j.docid, j.rel);
  }
  return { name, queries: queryRows.map((q) => ({ qid: q.qid, text: q.text })), qrels, lists, passages };
}

/** Every stored dataset's row, by name. */
export async function listDatasets(db: Kysely<Database>): Promise<DatasetRow[]> {
  return db.selectFrom("datasets").selectAll().orderBy("name").execute();
}

/** Delete a dataset and the passages no other dataset uses; false when there was no such dataset. */
export async function deleteDataset(db: Kysely<Database>, name: string): Promise<boolean> {
  return db.transaction().execute((trx) => removeDataset(trx, name));
}

/** Delete one dataset's rows (children cascade) and its passages that no other dataset links to. */
async function removeDataset(trx: Transaction<Database>, name: string): Promise<boolean> {
  const orphans = await trx
    .selectFrom("dataset_passages as dp")
    .select("dp.docid")
    .where("dp.dataset", "=", name)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom("dataset_passages as o").select("o.docid").whereRef("o.docid", "=", "dp.docid").where("o.dataset", "<>", name))),
    )
    .execute();
  const res = await trx.deleteFrom("datasets").where("name", "=", name).executeTakeFirst();
  for (const chunk of chunkRows(orphans.map((o) => o.docid), 1)) {
    await trx.deleteFrom("passages").where("docid", "in", chunk).execute();
  }
  return Number(res.numDeletedRows) > 0;
}

/** After insert-or-ignore, every docid must hold the text this dataset gives it. */
async function checkPassageTexts(trx: Transaction<Database>, name: string, passages: readonly NewPassage[]): Promise<void> {
  for (const chunk of chunkRows(passages, 1)) {
    const stored = new Map<string, string>();
    const found = await trx.selectFrom("passages").select(["docid", "text"]).where("docid", "in", chunk.map((p) => p.docid)).execute();
    for (const r of found) stored.set(r.docid, r.text);
    for (const p of chunk) {
      const text = stored.get(p.docid);
      if (text !== p.text) {
        throw new DataError({ file: `dataset ${show(name)}`, field: `passages[${show(p.docid)}].text` },
          `the text already stored for docid ${p.docid} (${show(text)})`, show(p.text),
          "Passages are shared by docid across datasets; delete the other dataset(s) using it first, or fix the input");
      }
    }
  }
}

/** Validate a dataset and turn it into table rows; throws `DataError` naming the first bad field. */
function datasetRows(dataset: Dataset): DatasetRows {
  const name = dataset.name;
  if (typeof name !== "string" || name.trim() === "") {
    throw new DataError({ file: "dataset", field: "name" }, "a non-empty dataset name", show(name));
  }
  function fail(field: string, expected: string, got: string, hint?: string): never {
    throw new DataError({ file: `dataset ${show(name)}`, field }, expected, got, hint);
  }

  const passages: NewPassage[] = [];
  const links: NewDatasetPassage[] = [];
  for (const [key, p] of dataset.passages) {
    if (!p || p.docid !== key) fail(`passages[${show(key)}].docid`, `docid ${show(key)} (the map key)`, show(p?.docid));
    if (typeof p.text !== "string") fail(`passages[${show(key)}].text`, "a passage text", show(p.text));
    links.push({ dataset: name, docid: key, ord: links.length });
    passages.push({ docid: key, text: p.text });
  }

  const queries: NewQuery[] = [];
  const queryIndex = new Map<string, NewQuery>();
  dataset.queries.forEach((q, i) => {
    if (typeof q.qid !== "string" || q.qid === "") fail(`queries[${i}].qid`, "a non-empty query id", show(q.qid));
    if (typeof q.text !== "string") fail(`queries[${i}].text`, "a query text", show(q.text));
    if (queryIndex.has(q.qid)) fail(`queries[${i}].qid`, "each qid once", `qid ${show(q.qid)} again`);
    const row: NewQuery = { dataset: name, qid: q.qid, text: q.text, ord: i, list_ord: null, list_query: null };
    queryIndex.set(q.qid, row);
    queries.push(row);
  });

  const candidates: NewCandidate[] = [];
  dataset.lists.forEach((list, li) => {
    const at = `lists[${li}]`;
    const q = queryIndex.get(list.qid);
    if (!q) fail(`${at}.qid`, "the qid of a query in dataset.queries", show(list.qid), "Every list needs its query");
    if (q.list_ord !== null) fail(`${at}.qid`, "one list per query", `a second list for qid ${show(list.qid)}`);
    if (typeof list.query !== "string") fail(`${at}.query`, "a query text", show(list.query));
    q.list_ord = li;
    q.list_query = list.query;
    const seen = new Set<string>();
    list.candidates.forEach((c, ci) => {
      const f = `${at}.candidates[${ci}]`;
      if (typeof c.docid !== "string" || c.docid === "") fail(`${f}.docid`, "a non-empty docid", show(c.docid));
      if (seen.has(c.docid)) fail(`${f}.docid`, "each docid once per list", `docid ${show(c.docid)} again for qid ${list.qid}`);
      seen.add(c.docid);
      if (typeof c.score !== "number" || !Number.isFinite(c.score)) fail(`${f}.score`, "a finite score", show(c.score));
      if (!Number.isInteger(c.rank)) fail(`${f}.rank`, "an integer rank", show(c.rank));
      if (c.text !== undefined && dataset.passages.get(c.docid)?.text !== c.text) {
        fail(`${f}.text`, `the text of passage ${c.docid} in dataset.passages`, show(c.text), "Add the passage to dataset.passages");
      }
      candidates.push({ dataset: name, qid: list.qid, docid: c.docid, ord: ci, rank: c.rank, score: c.score, has_text: c.text !== undefined ? 1 : 0 });
    });
  });

  const judgments: NewJudgment[] = [];
  for (const [qid, docs] of dataset.qrels) {
    for (const [docid, rel] of docs) {
      if (!Number.isInteger(rel)) fail(`qrels[${show(qid)}][${show(docid)}]`, "an integer relevance grade", show(rel));
      judgments.push({ dataset: name, qid, docid, rel, ord: judgments.length });
    }
  }
  return { queries, passages, links, candidates, judgments };
}
