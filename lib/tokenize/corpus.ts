/**
 * The shipped training corpus for the student tokenizer: every query and candidate passage text of the
 * shipped datasets (dl19, dl20, noveleval), and a WordPiece vocabulary trained on it.
 */
import { DATASET_NAMES, dataDir, loadDataset } from "../data/datasets";
import { trainWordPiece, type WordPieceTrainConfig } from "./wordpiece-train";
import type { WordPieceTokenizer } from "./wordpiece";

/**
 * Texts of every query and every candidate passage of the shipped datasets, each distinct text once,
 * in a stable order: datasets in DATASET_NAMES order; per dataset its queries, then its candidate lists
 * in file order with candidates by rank. Candidates without text are skipped.
 */
export function shippedCorpus(dir = dataDir()): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (t: string | undefined): void => {
    if (t === undefined || seen.has(t)) return;
    seen.add(t);
    out.push(t);
  };
  for (const name of DATASET_NAMES) {
    const ds = loadDataset(name, dir);
    for (const q of ds.queries) add(q.text);
    for (const list of ds.lists) for (const c of list.candidates) add(c.text);
  }
  return out;
}

/** Train a WordPiece vocabulary (default 8000 tokens) on `shippedCorpus()`. */
export function trainShippedVocab(config: Partial<WordPieceTrainConfig> = {}, dir = dataDir()): WordPieceTokenizer {
  return trainWordPiece(shippedCorpus(dir), { vocabSize: 8000, ...config });
}
