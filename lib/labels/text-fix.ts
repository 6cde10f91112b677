/**
 * A small, documented subset of ftfy's `fix_text` (Robyn Speer's "fixes text for you"), which
 * castorini/rank_llm applies to every RankVicuna prompt. It is needed to render prompts exactly as
 * rank_llm did, so that logged windows can be found again by their content. Steps, in ftfy's order:
 * 1. mojibake: runs of characters that are UTF-8 bytes decoded as Latin-1 or Windows-1252
 *    ("itâ\u0080\u0099s", "Â¼") are re-decoded as UTF-8 ("it’s", "¼");
 * 2. curly quotes become straight ones (uncurl_quotes);
 * 3. the Latin ligatures ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ are spelled out (fix_latin_ligatures);
 * 4. NFC normalization;
 * and, first, HTML entities are decoded when the text holds no "<" (ftfy's unescape_html="auto").
 * A space where a UTF-8 continuation byte is due is read as the no-break space it was (restore_byte_a0).
 * It does not do ftfy's width fixes or its badness heuristics, so a few heavily mangled passages differ.
 */

// Windows-1252 characters for bytes 0x80-0x9F (the five undefined ones decode as Latin-1 C1 controls).
const CP1252_HIGH = "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";
const TO_BYTE = new Map<number, number>();
for (let b = 0; b < 256; b++) TO_BYTE.set(b, b); // Latin-1 (including the C1 controls U+0080-U+009F)
for (let i = 0; i < 32; i++) TO_BYTE.set(CP1252_HIGH.charCodeAt(i), 0x80 + i);

/** Byte value of a character under Latin-1/Windows-1252, or undefined. */
function byteOf(ch: number): number | undefined {
  return TO_BYTE.get(ch);
}

/** Length of a valid UTF-8 multi-byte sequence starting at bytes[i], or 0. */
function utf8SeqLen(bytes: number[], i: number): number {
  const b0 = bytes[i];
  const need = b0 >= 0xc2 && b0 <= 0xdf ? 2 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xf0 && b0 <= 0xf4 ? 4 : 0;
  if (need === 0 || i + need > bytes.length) return 0;
  for (let k = 1; k < need; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return 0;
  if (b0 === 0xe0 && bytes[i + 1] < 0xa0) return 0; // overlong
  if (b0 === 0xed && bytes[i + 1] > 0x9f) return 0; // surrogates
  if (b0 === 0xf0 && bytes[i + 1] < 0x90) return 0;
  if (b0 === 0xf4 && bytes[i + 1] > 0x8f) return 0;
  return need;
}

/** Re-decode UTF-8 that was decoded as Latin-1/Windows-1252 (only complete, valid sequences). */
export function fixMojibake(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const b = c >= 0x80 ? byteOf(c) : undefined;
    if (b === undefined || b < 0xc2) { out += text[i]; i++; continue; }
    // collect the bytes of the following characters and see whether they complete a UTF-8 sequence
    const bytes: number[] = [b];
    for (let k = 1; k < 4 && i + k < text.length; k++) {
      // ftfy's restore_byte_a0: a space where a continuation byte is due was a no-break space (0xA0)
      const bk = text[i + k] === " " ? 0xa0 : byteOf(text.charCodeAt(i + k));
      if (bk === undefined || bk < 0x80) break;
      bytes.push(bk);
    }
    const len = utf8SeqLen(bytes, 0);
    if (len === 0) { out += text[i]; i++; continue; }
    out += Buffer.from(bytes.slice(0, len)).toString("utf8");
    i += len;
  }
  return out;
}

const QUOTES: Array<[RegExp, string]> = [[/[\u2018\u2019\u201A\u201B]/g, "'"], [/[\u201C\u201D\u201E\u201F]/g, "\""]];
const NAMED_ENTITIES: Record<string, string> = { quot: "\"", amp: "&", lt: "<", gt: ">", apos: "'", nbsp: "\u00a0" };

/** HTML entities (&quot; &#39; &#x27; &amp; ...) decoded, as ftfy does for text that holds no "<". */
export function unescapeHtml(text: string): string {
  if (text.includes("<")) return text;
  return text.replace(/&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return NAMED_ENTITIES[e] ?? m;
  });
}
const LIGATURES: Record<string, string> = { "\uFB00": "ff", "\uFB01": "fi", "\uFB02": "fl", "\uFB03": "ffi", "\uFB04": "ffl", "\uFB05": "ft", "\uFB06": "st" };

/** ftfy-style clean-up of a prompt (see the module comment for what is and is not done). */
export function fixText(text: string): string {
  let s = fixMojibake(unescapeHtml(text));
  for (const [re, rep] of QUOTES) s = s.replace(re, rep);
  s = s.replace(/[\uFB00-\uFB06]/g, (m) => LIGATURES[m] ?? m);
  return s.normalize("NFC");
}
