/**
 * The typed kysely schema of the workbench store (SQLite or PostgreSQL). Columns are snake_case, nullable columns are
 * `T | null`, configs and version tables are JSON text, times are ISO-8601 UTC text.
 * `ord` columns keep the order of the objects they came from (arrays, Map insertion order, file order),
 * so that what is loaded back is equal to what was saved. Migrations in ./migrations create these tables.
 */
import type { Generated, Insertable, Selectable, Updateable } from "kysely";

/** An evaluation dataset (`datasets`): one row per name; its content lives in the tables below. */
export interface DatasetTable {
  name: string;
  /** Where it came from: file paths or the loader that produced it. */
  source: string;
  /** SHA-256 of the source bytes, or of the dataset's content when no files are given. */
  fingerprint: string;
  created_at: Generated<string>;
}

/** A query of a dataset (`queries`), with the dataset's first-stage list for it when there is one. */
export interface QueryTable {
  dataset: string;
  qid: string;
  text: string;
  /** Position in `Dataset.queries`. */
  ord: number;
  /** Position of this query's list in `Dataset.lists`; null when the query has no list. */
  list_ord: number | null;
  /** `RankedList.query` as the list gives it (may differ from `text`); null when there is no list. */
  list_query: string | null;
}

/** A passage text (`passages`), shared by every dataset: MS MARCO docids are global. */
export interface PassageTable {
  docid: string;
  text: string;
}

/** Which passages belong to a dataset (`dataset_passages`), in `Dataset.passages` order. */
export interface DatasetPassageTable {
  dataset: string;
  docid: string;
  ord: number;
}

/** A first-stage candidate of a dataset's list (`candidates`). */
export interface CandidateTable {
  dataset: string;
  qid: string;
  docid: string;
  /** Position in the list's `candidates` array. */
  ord: number;
  rank: number;
  score: number;
  /** 1 when the saved candidate carried its text (restored from `passages`), else 0. */
  has_text: number;
}

/** A graded relevance judgment of a dataset (`judgments`). */
export interface JudgmentTable {
  dataset: string;
  qid: string;
  docid: string;
  rel: number;
  /** Position in the qrels' iteration order (query, then document). */
  ord: number;
}

/** A stored run with the metadata needed to reproduce it (`runs`). */
export interface RunTable {
  /** `${name}-${hash8(config)}`. */
  id: string;
  name: string;
  dataset: string;
  /** TREC run tag (sixth column). */
  tag: string;
  /** File path or producer (e.g. `trec:data/…/bm25.txt`, `student:train.ts`). */
  source: string;
  config_json: string;
  seed: number | null;
  /** `tf.getBackend()` when the run was produced by a model. */
  backend: string | null;
  /** JSON object name -> version (node, tfjs, …). */
  versions_json: string;
  git_sha: string | null;
  created_at: Generated<string>;
}

/** One ranked document of a run (`run_entries`). */
export interface RunEntryTable {
  run_id: string;
  qid: string;
  docid: string;
  /** Position in the run file (0-based over the whole run): restores query and document order. */
  ord: number;
  rank: number;
  score: number;
}

/** One metric value of a run (`metrics`): per query, or `qid = 'all'` for the mean. */
export interface MetricTable {
  run_id: string;
  qid: string;
  metric: string;
  value: number;
  /** Minimum grade counted as relevant for binary metrics when it was computed. */
  rel_threshold: number;
}

/** Every request made to a teacher, with its answer: log, cache and resume record (`teacher_calls`). */
export interface TeacherCallTable {
  id: Generated<number>;
  /** sha256 of (teacher kind, model, template version, request). */
  cache_key: string;
  teacher: string;
  model: string;
  template_version: string;
  /** The request as sent (messages and parameters), JSON. Never holds an API key. */
  request_json: string;
  response: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  latency_ms: number | null;
  /** `pending` (sent, no answer recorded), `done` or `error`. */
  status: string;
  error: string | null;
  attempts: Generated<number>;
  created_at: Generated<string>;
  finished_at: string | null;
}

/** One label generation job (`label_jobs`). */
export interface LabelJobTable {
  id: string;
  dataset: string;
  teacher: string;
  model: string;
  template_version: string;
  /** Selection mode, e.g. `top10+bottom10`, `top20`, `sliding20/10`. */
  selection: string;
  seed: number;
  config_json: string;
  versions_json: string;
  git_sha: string | null;
  /** `running` or `done`. */
  status: string;
  /** The last run's summary (cost, anomalies, label quality), JSON. */
  summary_json: string | null;
  created_at: Generated<string>;
  finished_at: string | null;
}

/** One window shown to a teacher (`label_windows`). */
export interface LabelWindowTable {
  job_id: string;
  window_id: string;
  qid: string;
  /** Order of the window within the job. */
  ord: number;
  /** Docids in the order shown (after the seeded shuffle), JSON array. */
  docids_json: string;
  shuffle_seed: number | null;
  call_id: number | null;
  /** Parse anomalies by category, JSON object; null until answered. */
  anomalies_json: string | null;
  /** `pending`, `done` or `error`. */
  status: string;
}

/** Raw label facts for one document of one window (`labels`). */
export interface LabelTable {
  job_id: string;
  window_id: string;
  qid: string;
  docid: string;
  /** 1-based position in the prompt. */
  position_shown: number;
  /** 1-based rank in the teacher's parsed list; null when missing. */
  teacher_rank: number | null;
  /** 1 when the teacher left the document out of its ranking. */
  missing: number;
  flags_json: string;
}

/** A teacher's rationale for one window (`rationales`). */
export interface RationaleTable {
  job_id: string;
  window_id: string;
  qid: string;
  call_id: number | null;
  text: string;
}

/** A student training run (0003_training). */
export interface TrainRunTable {
  /** student-<hash8 of the resolved config>. */
  id: string;
  config_json: string;
  /** The checkpoint a warm-started run starts from (train/init.ts InitRecord, JSON); null when trained from scratch (and in rows older than 0007). */
  init_json: string | null;
  seed: number;
  backend: string;
  versions_json: string;
  git_sha: string | null;
  /** running, done, stopped (early stopping) or interrupted. */
  status: string;
  created_at: Generated<string>;
  finished_at: string | null;
  out_dir: string;
}

/** One point of a training curve: train loss per step, dev metrics per epoch. */
export interface TrainCurveTable {
  run_id: string;
  /** Optimizer steps done when measured. */
  step: number;
  epoch: number;
  /** train or dev. */
  split: string;
  /** loss, lr, grad_norm, ndcg@10. */
  metric: string;
  value: number;
}

/** One `rra bench` run (0004_bench): lib/bench's resolved config, its BenchReport and the package versions. */
export interface BenchRunTable {
  id: Generated<number>;
  created_at: Generated<string>;
  config_json: string;
  /** The whole BenchReport (machine facts, measurements, what was skipped and why), JSON. */
  results_json: string;
  versions_json: string;
}

/** Collection statistics with their provenance (0006_lexicons). */
export interface LexiconTable {
  /** lexiconId: a hash of the statistics. */
  id: string;
  name: string;
  created_at: Generated<string>;
  k1: number;
  b: number;
  avgdl: number;
  recovered_terms: number;
  provenance_json: string;
  /** The whole lexicon in lexicon.json's format. */
  table_json: string;
}

/** One work item of a label job run by several workers (0005_claims): a query and all its windows. */
export interface LabelClaimTable {
  job_id: string;
  qid: string;
  /** Position of the query in the job; items are claimed in this order. */
  ord: number;
  /** `pending`, `claimed`, `done` or `failed`. */
  status: string;
  /** The worker holding (claimed) or last holding the item. */
  worker_id: string | null;
  /** ISO-8601 UTC time (database clock) after which another worker may take the item over. */
  lease_until: string | null;
  /** Times the item was claimed. */
  attempts: Generated<number>;
  /** Ranking, counts and tokens of the labelled query (not its windows, which are stored), JSON. */
  result_json: string | null;
  created_at: Generated<string>;
  finished_at: string | null;
}

/** The whole store, as kysely sees it. */
export interface Database {
  datasets: DatasetTable;
  queries: QueryTable;
  passages: PassageTable;
  dataset_passages: DatasetPassageTable;
  candidates: CandidateTable;
  judgments: JudgmentTable;
  runs: RunTable;
  run_entries: RunEntryTable;
  metrics: MetricTable;
  teacher_calls: TeacherCallTable;
  label_jobs: LabelJobTable;
  label_windows: LabelWindowTable;
  labels: LabelTable;
  rationales: RationaleTable;
  train_runs: TrainRunTable;
  train_curves: TrainCurveTable;
  bench_runs: BenchRunTable;
  label_claims: LabelClaimTable;
  lexicons: LexiconTable;
}

/** The `qid` of the rows holding a run's mean metric values. */
export const ALL_QUERIES = "all";

/** A `datasets` row as read. */
export type DatasetRow = Selectable<DatasetTable>;
/** A `datasets` row to insert. */
export type NewDataset = Insertable<DatasetTable>;
/** A `queries` row as read. */
export type QueryRow = Selectable<QueryTable>;
/** A `queries` row to insert. */
export type NewQuery = Insertable<QueryTable>;
/** A `passages` row as read. */
export type PassageRow = Selectable<PassageTable>;
/** A `passages` row to insert. */
export type NewPassage = Insertable<PassageTable>;
/** A `dataset_passages` row to insert. */
export type NewDatasetPassage = Insertable<DatasetPassageTable>;
/** A `candidates` row as read. */
export type CandidateRow = Selectable<CandidateTable>;
/** A `candidates` row to insert. */
export type NewCandidate = Insertable<CandidateTable>;
/** A `judgments` row as read. */
export type JudgmentRow = Selectable<JudgmentTable>;
/** A `judgments` row to insert. */
export type NewJudgment = Insertable<JudgmentTable>;
/** A `runs` row as read. */
export type RunRow = Selectable<RunTable>;
/** A `runs` row to insert. */
export type NewRun = Insertable<RunTable>;
/** A `runs` row update. */
export type RunUpdate = Updateable<RunTable>;
/** A `run_entries` row as read. */
export type RunEntryRow = Selectable<RunEntryTable>;
/** A `run_entries` row to insert. */
export type NewRunEntry = Insertable<RunEntryTable>;
/** A `metrics` row as read. */
export type MetricRow = Selectable<MetricTable>;
/** A `metrics` row to insert. */
export type NewMetric = Insertable<MetricTable>;

/** A `teacher_calls` row as read. */
export type TeacherCallRow = Selectable<TeacherCallTable>;
/** A `teacher_calls` row to insert. */
export type NewTeacherCall = Insertable<TeacherCallTable>;
/** A `label_jobs` row as read. */
export type LabelJobRow = Selectable<LabelJobTable>;
/** A `label_windows` row as read. */
export type LabelWindowRow = Selectable<LabelWindowTable>;
/** A `labels` row as read. */
export type LabelRow = Selectable<LabelTable>;
/** A `label_claims` row as read. */
export type LabelClaimRow = Selectable<LabelClaimTable>;

/** A stored training run. */
export type TrainRunRow = Selectable<TrainRunTable>;
/** A training curve point. */
export type TrainCurveRow = Selectable<TrainCurveTable>;
/** A stored bench run. */
export type BenchRunRow = Selectable<BenchRunTable>;
