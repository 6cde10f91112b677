/**
 * Typed records shared by every module: queries, passages, judgments, candidates and ranked lists.
 * Ids are strings everywhere (TREC qids and MS MARCO docids are numeric-looking but compared as text,
 * exactly as trec_eval does).
 */

/** A search query (a TREC topic). */
export interface Query {
  qid: string;
  text: string;
}

/** A passage of the collection. */
export interface Passage {
  docid: string;
  text: string;
}

/** One graded relevance judgment (TREC qrels line). `rel` is the grade as written (0-3 for TREC DL). */
export interface Judgment {
  qid: string;
  docid: string;
  rel: number;
}

/** Judgments indexed by query then document: `qrels.get(qid)?.get(docid)` is the grade. */
export type Qrels = Map<string, Map<string, number>>;

/** A retrieved document for one query with its score and 1-based rank. `text` is present when known. */
export interface Candidate {
  docid: string;
  score: number;
  rank: number;
  text?: string;
}

/** A query with its ranked candidates (rank_llm's "request"): the unit every re-ranker works on. */
export interface RankedList {
  qid: string;
  query: string;
  candidates: Candidate[];
}

/**
 * A TREC run: for every query, its documents in the order of the file. Evaluation re-orders them
 * by trec_eval's rule (score descending, ties by docid descending), never by the rank column.
 */
export interface Run {
  /** The run tag of the file's sixth column (the first one seen). */
  tag: string;
  /** qid -> documents in file order. */
  queries: Map<string, Candidate[]>;
}

/** One `{prompt, response}` record of a rank_llm prompt/response log. */
export interface PromptLogEntry {
  prompt: string;
  response: string;
  /** 1-based line of the file where the object starts. */
  line: number;
}

/** A loaded evaluation dataset: queries, judgments, first-stage candidates with text. */
export interface Dataset {
  name: string;
  queries: Query[];
  qrels: Qrels;
  /** First-stage candidate lists, one per judged query (BM25 top-100 for TREC DL). */
  lists: RankedList[];
  /** Every passage text seen in the candidate lists, by docid. */
  passages: Map<string, Passage>;
}
