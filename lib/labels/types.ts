/**
 * Shapes shared by the label pipeline: windows shown to a teacher, chat requests, teacher calls and
 * the teacher interface every kind (replay, live, projected, local, oracle, bm25) implements.
 */

/** A passage as shown in a window. */
export interface WindowDoc {
  docid: string;
  text: string;
}

/** One listwise window: the documents a teacher ranks in one call, in the order shown. */
export interface LabelWindow {
  /** Stable id within a job, e.g. `1037798/top10+bottom10/0`. */
  windowId: string;
  qid: string;
  query: string;
  /** Documents in prompt order ([1] is docs[0]), after the seeded shuffle if any. */
  docs: WindowDoc[];
  /** Seed of the shuffle applied before prompting; null when shown in pre-ranked order. */
  shuffleSeed: number | null;
}

/** One chat message (OpenAI chat-completions format). */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A rendered request for a teacher: what an LLM would be sent. */
export interface TeacherRequest {
  window: LabelWindow;
  /** Version of the prompt template that rendered `messages` (part of every cache key). */
  templateVersion: string;
  messages: ChatMessage[];
  /** The same prompt flattened for completion models (what replay logs hold). */
  prompt: string;
  /** Upper bound on completion tokens asked from the model. */
  maxTokens: number;
}

/** What a teacher answered for one request, with its cost. */
export interface TeacherAnswer {
  /** Raw text of the answer, e.g. `[2] > [3] > [1]`; empty string when the model said nothing. */
  response: string;
  promptTokens: number | null;
  completionTokens: number | null;
  latencyMs: number;
  /** True when served from the store's cache (no model was called). */
  cached: boolean;
  /** Id of the `teacher_calls` row holding this call, when stored. */
  callId?: number;
}

/** The kinds of teacher. `oracle` and `bm25` are bounds for ablations, not LLMs. */
export type TeacherKind = "replay" | "live" | "projected" | "local" | "oracle" | "bm25";

/** A teacher ranks one window per call. Failures throw `TeacherError`; parse anomalies are not failures. */
export interface Teacher {
  kind: TeacherKind;
  /** Full name, e.g. `replay:rankvicuna-7b_bm25-top20-single_dl19`, `live:gpt-4o-mini`, `oracle`. */
  name: string;
  /** Model id recorded with every call. */
  model: string;
  /** Whether the teacher can leave documents out (projected, oracle and bm25 never do). */
  canMiss: boolean;
  rank(request: TeacherRequest): Promise<TeacherAnswer>;
  /** Release connections, files, workers. */
  close?(): Promise<void>;
}
