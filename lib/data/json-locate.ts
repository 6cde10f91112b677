/**
 * Find where a JSON text stops being valid. JSON.parse does not always report a position (V8 says
 * "Unexpected token '}', ..." for some errors), so on failure we scan the text once more with a small
 * recursive-descent checker that returns the offset of the first offending character.
 */

/** Result of `locateJsonError`: the offset of the first bad character and what was expected there. */
export interface JsonErrorLocation {
  offset: number;
  expected: string;
  /** True when the text ended before the value was complete. */
  truncated: boolean;
}

class Stop {
  constructor(readonly offset: number, readonly expected: string) {}
}

/** The first error of a JSON text, or undefined when the text is valid JSON. */
export function locateJsonError(text: string): JsonErrorLocation | undefined {
  let i = 0;
  const n = text.length;
  const ws = () => { while (i < n && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t")) i++; };
  const fail = (expected: string): never => { throw new Stop(i, expected); };
  const lit = (word: string) => { for (const ch of word) { if (text[i] !== ch) fail(`the literal ${word}`); i++; } };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail("a closing quote");
      const c = text.charCodeAt(i);
      if (c === 34) { i++; return; }
      if (c < 32) fail("no control characters inside a string");
      if (c === 92) {
        i++;
        if (i >= n) fail("an escape sequence");
        if (text[i] === "u") { for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? "")) { i += k; fail("4 hex digits after \\u"); } i += 5; continue; }
        if (!"\"\\/bfnrt".includes(text[i])) fail("a valid escape");
      }
      i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail("a value");
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    if (i >= n) fail("a value");
    const c = text[i];
    if (c === "{") {
      i++; ws();
      if (text[i] === "}") { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== "\"") fail("a double-quoted property name");
        str(); ws();
        if (text[i] !== ":") fail("':' after a property name");
        i++; value(); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return; }
        fail("',' or '}' in an object");
      }
    }
    if (c === "[") {
      i++; ws();
      if (text[i] === "]") { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return; }
        fail("',' or ']' in an array");
      }
    }
    if (c === "\"") return str();
    if (c === "t") return lit("true");
    if (c === "f") return lit("false");
    if (c === "n") return lit("null");
    return num();
  };
  try {
    value(); ws();
    if (i < n) fail("the end of the document");
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { offset: Math.min(e.offset, n), expected: e.expected, truncated: e.offset >= n };
  }
}
