/**
 * Reading text inputs with locations for error messages. Every file the workbench reads from a user
 * (TREC files, rank_llm JSON, labels, model folders) goes through `readTextFile` / `readJsonFile`, so a
 * missing, unreadable, empty, truncated or malformed file is reported with its path and position.
 * A UTF-8 byte order mark is dropped, as editors on Windows write one.
 */
import { readFileSync, existsSync, statSync } from "fs";
import { DataError, show } from "../core/errors";
import { checkId } from "./ids";
import { locateJsonError } from "./json-locate";

/** A non-blank line of a text file with its 1-based line number. */
export interface NumberedLine {
  line: number;
  text: string;
}

/** Refuse a missing path or a directory where a `what` file is expected (before streaming it). */
export function checkInputFile(file: string, what: string): void {
  if (!existsSync(file)) throw new DataError({ file }, `an existing ${what} file`, "no such file");
  if (statSync(file).isDirectory()) throw new DataError({ file }, `a ${what} file`, "a directory");
}

/** The bytes of a file, with clear errors for a missing path, a directory or an unreadable file. */
export function readFileBytes(file: string, what: string): Buffer {
  checkInputFile(file, what);
  try {
    return readFileSync(file);
  } catch (e) {
    throw new DataError({ file }, `a readable ${what} file`, (e as Error).message);
  }
}

/**
 * Read a whole UTF-8 file (a leading byte order mark dropped), with clear errors for a missing path, a
 * directory or an empty file. Bytes that are not valid UTF-8 become U+FFFD, which id readers refuse (ids.ts).
 */
export function readTextFile(file: string, what: string): string {
  let text = readFileBytes(file, what).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === "") throw new DataError({ file }, `a non-empty ${what} file`, "an empty file");
  return text;
}

/** Read and parse a JSON file; errors name the file and the line and column where it stops being valid JSON. */
export function readJsonFile(file: string, what: string): unknown {
  return parseJsonText(readTextFile(file, what), file, what);
}

/** A JSON object, or a DataError naming the file (and `field`) with what it was instead. */
export function expectJsonObject(value: unknown, file: string, what: string, field?: string): Record<string, unknown> {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new DataError({ file, field }, `a JSON object (${what})`, value === null ? "null" : Array.isArray(value) ? "an array" : `${typeof value} ${show(value)}`);
}

/** Read a JSON file that must hold one object (config.json, tokenizer.json, state.json, ...). */
export function readJsonObject(file: string, what: string): Record<string, unknown> {
  return expectJsonObject(readJsonFile(file, what), file, what);
}

/** The non-blank lines of a file (CR LF tolerated), numbered from 1 as an editor shows them. */
export function readLines(file: string, what: string): NumberedLine[] {
  const lines = readTextFile(file, what).split("\n");
  const out: NumberedLine[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].replace(/\r$/, "");
    if (text.trim() !== "") out.push({ line: i + 1, text });
  }
  return out;
}

/** One `id<TAB>text` line of a two-column TSV file. */
export interface IdTextLine {
  id: string;
  /** Everything after the first tab, untrimmed. */
  text: string;
  line: number;
}

/**
 * Read a two-column `id<TAB>text` TSV (topics, corpora): every line needs a tab, a non-empty id and a
 * non-empty text, and each id may appear once. `idName`/`textName` name the columns in errors.
 */
export function readIdTextTsv(file: string, what: string, idName: string, textName: string): IdTextLine[] {
  const seen = new Map<string, number>();
  return readLines(file, what).map(({ line, text }) => {
    const tab = text.indexOf("\t");
    if (tab < 0) throw new DataError({ file, line }, `\`${idName}<TAB>${textName}\``, `no tab in ${show(text)}`);
    const id = text.slice(0, tab).trim();
    const rest = text.slice(tab + 1);
    if (id === "") throw new DataError({ file, line, field: idName }, `a ${idName}`, "an empty field");
    checkId(id, { file, line, field: idName }, idName);
    if (rest.trim() === "") throw new DataError({ file, line, field: textName }, textName, "an empty field");
    const prev = seen.get(id);
    if (prev !== undefined) throw new DataError({ file, line, field: idName }, `each ${idName} once`, `${idName} ${show(id)} again (first at line ${prev})`);
    seen.set(id, line);
    return { id, text: rest, line };
  });
}

/** 1-based line and column of a character offset in `text`. */
export function lineOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lastNl = -1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastNl = i;
    }
  }
  return { line, column: end - lastNl };
}

/**
 * JSON.parse with an error that names the file, line and column of the first invalid character and
 * what was expected there; a document cut short is reported as truncated at its last line.
 */
export function parseJsonText(text: string, file: string, what: string, baseOffset = 0, fullText?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const where = locateJsonError(text);
    const offset = baseOffset + (where ? where.offset : text.length);
    const { line, column } = lineOf(fullText ?? text, offset);
    const got = !where || where.truncated
      ? "a truncated document (the file ends inside a value)"
      : `${JSON.stringify((fullText ?? text).slice(offset, offset + 12))} at column ${column} where ${where.expected} was expected`;
    throw new DataError({ file, line }, `valid ${what} JSON`, got);
  }
}
