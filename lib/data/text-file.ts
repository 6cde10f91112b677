/** Reading text inputs with locations for error messages. */
import { readFileSync, existsSync, statSync } from "fs";
import { DataError } from "../core/errors";
import { locateJsonError } from "./json-locate";

/** A non-blank line of a text file with its 1-based line number. */
export interface NumberedLine {
  line: number;
  text: string;
}

/** Read a whole UTF-8 file, with clear errors for a missing path, a directory or an empty file. */
export function readTextFile(file: string, what: string): string {
  if (!existsSync(file)) throw new DataError({ file }, `an existing ${what} file`, "no such file");
  if (statSync(file).isDirectory()) throw new DataError({ file }, `a ${what} file`, "a directory");
  const text = readFileSync(file, "utf8");
  if (text.trim() === "") throw new DataError({ file }, `a non-empty ${what} file`, "an empty file");
  return text;
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
