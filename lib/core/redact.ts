/**
 * Redacting secrets (API keys) from text a server sent back or an error carries, before it is printed or
 * stored. A server may echo a key in any form it can derive: as is, JSON-escaped, URL-encoded, base64 (of
 * the key alone or inside a larger string such as "Bearer <key>", so at any of the three byte alignments),
 * hex, or masked the OpenAI way ("sk-abc1****************wxyz", which keeps the key's head and tail). Every
 * one of those becomes `***`.
 */

/** Secrets shorter than this are ignored: they would mangle ordinary text without protecting anything. */
export const MIN_SECRET_LENGTH = 4;

/** The base64 texts that any base64 stream holding `bytes` contains, one per byte alignment (standard and URL-safe alphabets, no padding). */
function base64Fragments(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let start = 0; start < 3; start++) {
    const usable = Math.floor((bytes.length - start) / 3) * 3;
    if (usable < 6) continue; // 8+ base64 characters: shorter fragments would match ordinary words
    const b64 = bytes.subarray(start, start + usable).toString("base64");
    out.push(b64, b64.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return out;
}

/** Every encoding of `secret` we can derive (see the module comment), longest first. */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const forms = new Set<string>([
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    encodeURI(secret),
    encodeURIComponent(secret).replace(/%20/g, "+"),
    bytes.toString("base64").replace(/=+$/, ""),
    bytes.toString("base64url"),
    ...base64Fragments(bytes),
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
  ]);
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/**
 * Replace every form of every secret in `text` by `***`; with `bearerTokens`, also any `Bearer <token>`
 * (for error texts, where a server may echo a header of another key).
 */
export function redactSecrets(text: string, secrets: readonly (string | null | undefined)[] = [], options: { bearerTokens?: boolean } = {}): string {
  // a mark no text holds, turned into *** at the end, so that masks already in the text are not taken for ours
  const MARK = "\u0000redacted\u0000";
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < MIN_SECRET_LENGTH) continue;
    for (const form of secretForms(s)) out = out.split(form).join(MARK);
    // masked echoes ("sk-abc1****wxyz"): a run of 3+ mask characters beside the key's own head or tail (>= 2 characters)
    out = out.replace(/[A-Za-z0-9_-]*[*\u2022]{3,}[A-Za-z0-9_-]*/g, (m) => {
      const head = /^[^*\u2022]*/.exec(m)![0];
      const tail = /[^*\u2022]*$/.exec(m)![0];
      return (head.length >= 2 && s.startsWith(head)) || (tail.length >= 2 && s.endsWith(tail)) ? MARK : m;
    });
    // a base64 or hex token that held the key (say of "Bearer <key>") is dropped whole: its edges would
    // otherwise still decode to a byte or two of the key
    out = out.replace(/[A-Za-z0-9+/_-]*\u0000redacted\u0000[A-Za-z0-9+/_=-]*/g, (m) => {
      const [left, right] = [m.slice(0, m.indexOf(MARK)), m.slice(m.lastIndexOf(MARK) + MARK.length)];
      return left.length >= 4 || right.replace(/=+$/, "").length >= 2 || /=$/.test(right) ? MARK : m;
    });
  }
  out = out.split(MARK).join("***");
  return options.bearerTokens ? out.replace(/\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 ***") : out;
}
