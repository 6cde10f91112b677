/** Lexicons (collection statistics) in the store (`lexicons`, migration 0006): one row per distinct lexicon. */
import type { Kysely } from "kysely";
import { lexiconId, lexiconJson, parseLexicon, type Lexicon } from "../lexical/lexicon";
import type { Database } from "./schema";

/** Store a lexicon (once per id) and return its id. */
export async function storeLexicon(db: Kysely<Database>, lex: Lexicon): Promise<string> {
  const id = lexiconId(lex);
  const have = await db.selectFrom("lexicons").select("id").where("id", "=", id).executeTakeFirst();
  if (!have) {
    await db.insertInto("lexicons").values({
      id, name: String(lex.provenance.name ?? "lexicon"), k1: lex.k1, b: lex.b, avgdl: lex.avgdl, recovered_terms: lex.recovered.size,
      provenance_json: JSON.stringify(lex.provenance), table_json: lexiconJson(lex),
    }).onConflict((oc) => oc.column("id").doNothing()).execute();
  }
  return id;
}

/** A stored lexicon by id, or null. */
export async function loadStoredLexicon(db: Kysely<Database>, id: string): Promise<Lexicon | null> {
  const row = await db.selectFrom("lexicons").select(["table_json"]).where("id", "=", id).executeTakeFirst();
  return row ? parseLexicon(row.table_json, `lexicons id ${id}`) : null;
}
