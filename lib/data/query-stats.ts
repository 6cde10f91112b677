/**
 * Query statistics for the long-tail view: length in words and question vs keyword form.
 * RRADistill targets long, rare queries, so every table can be cut by these.
 */
import type { Query } from "./types";

/** The form of a query. */
export type QueryForm = "question" | "keyword";

/** Per-query statistics. */
export interface QueryStats {
  qid: string;
  text: string;
  /** Number of white-space separated words. */
  words: number;
  form: QueryForm;
  /** Length bucket label, see `lengthBucket`. */
  bucket: string;
}

const QUESTION_WORDS = new Set([
  "what", "whats", "what's", "how", "why", "who", "whom", "whose", "when", "where", "which",
  "is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "would", "will", "shall", "may", "might", "has", "have", "had",
]);

/** Words of a query: white-space separated tokens with surrounding punctuation removed (empty ones dropped). */
export function queryWords(text: string): string[] {
  return text.trim().split(/\s+/).map((w) => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "")).filter((w) => w !== "");
}

/**
 * Question form when the query ends with "?" or starts with an interrogative or auxiliary word
 * ("what", "how", "is", "does", ...); keyword form otherwise ("flea life cycle length").
 */
export function queryForm(text: string): QueryForm {
  if (text.trim().endsWith("?")) return "question";
  const first = queryWords(text)[0]?.toLowerCase() ?? "";
  return QUESTION_WORDS.has(first) ? "question" : "keyword";
}

/** Length bucket by words: "1-3", "4-6", "7-9", "10+". Short buckets are the head, long ones the tail. */
export function lengthBucket(words: number): string {
  if (words <= 3) return "1-3";
  if (words <= 6) return "4-6";
  if (words <= 9) return "7-9";
  return "10+";
}

/** The bucket labels in order. */
export const LENGTH_BUCKETS: readonly string[] = ["1-3", "4-6", "7-9", "10+"];

/** Statistics of every query. */
export function computeQueryStats(queries: readonly Query[]): QueryStats[] {
  return queries.map((q) => {
    const words = queryWords(q.text).length;
    return { qid: q.qid, text: q.text, words, form: queryForm(q.text), bucket: lengthBucket(words) };
  });
}
