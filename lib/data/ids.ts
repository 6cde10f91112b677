/**
 * Query and document ids as the TREC formats need them. A TREC run or qrels line is split on white
 * space, so an id with a space in it cannot be written and read back; and bytes that are not valid UTF-8
 * decode to U+FFFD, so two different ids could silently become the same one. Every reader checks its ids
 * here, naming file, line and field.
 */
import { DataError, show, type DataLocation } from "../core/errors";

/** The replacement character a decoder puts in place of bytes that are not valid UTF-8. */
export const REPLACEMENT_CHAR = "\uFFFD";

/** Why `id` cannot be a TREC id, or null when it can: empty, white space, control characters, U+FFFD. */
export function idProblem(id: string): string | null {
  if (id === "") return "an empty id";
  if (id.includes(REPLACEMENT_CHAR)) return `${show(id)}, which holds bytes that are not valid UTF-8 (decoded as U+FFFD)`;
  const ws = /\s/.exec(id);
  if (ws) return `${show(id)}, which holds white space (${show(ws[0])} at character ${ws.index + 1}); TREC runs and qrels are split on white space`;
  const ctl = /[\u0000-\u001f\u007f]/.exec(id);
  if (ctl) return `${show(id)}, which holds the control character U+${ctl[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}`;
  return null;
}

/** `id` when it is a valid TREC id (see idProblem), else a DataError at `where` naming the field. */
export function checkId(id: string, where: DataLocation, name = "id"): string {
  const problem = idProblem(id);
  if (problem !== null) throw new DataError({ ...where, field: where.field ?? name }, `a ${name} of valid UTF-8 without white space`, problem);
  return id;
}
