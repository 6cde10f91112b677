/** The `idf.json` of a model folder (an IDF-bucketed match channel): `{word: idf}`, every value a finite number. */
import { DataError, show } from "../core/errors";
import { readJsonObject } from "./text-file";

/** Read and check an idf.json; errors name the file and the word whose value is not a finite number. */
export function readIdfFile(file: string): Map<string, number> {
  const table = readJsonObject(file, "IDF table (idf.json)");
  const out = new Map<string, number>();
  for (const [word, v] of Object.entries(table)) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new DataError({ file, field: word }, "a finite IDF value", show(v));
    out.set(word, v);
  }
  return out;
}
