/**
 * An independent port of Lucene's `PorterStemmer` (Martin Porter's reference implementation, with its
 * departures from the 1980 paper: -bli -> -ble, the extra -logi -> -log rule, words of 1-2 characters
 * left alone), kept as the reference that the analyzer's stemmer (the `stemmer` package) is tested
 * against. Expects a lower-case word; characters other than a-z count as consonants.
 *
 * Porter, M.F. "An algorithm for suffix stripping", Program 14(3), 130-137, 1980.
 */
export function refPorterStem(word: string): string {
  if (word.length <= 2) return word;
  const b = word.split(""); // b[0..k] is the current stem
  let k = b.length - 1;
  let j = 0; // end of the stem before the suffix matched by the last `ends`
  const k0 = 0;

  const cons = (i: number): boolean => {
    switch (b[i]) {
      case "a": case "e": case "i": case "o": case "u": return false;
      case "y": return i === k0 ? true : !cons(i - 1);
      default: return true;
    }
  };
  // m() counts the VC sequences in b[k0..j]: [C](VC)^m[V].
  const m = (): number => {
    let n = 0;
    let i = k0;
    for (;;) {
      if (i > j) return n;
      if (!cons(i)) break;
      i++;
    }
    i++;
    for (;;) {
      for (;;) {
        if (i > j) return n;
        if (cons(i)) break;
        i++;
      }
      i++;
      n++;
      for (;;) {
        if (i > j) return n;
        if (!cons(i)) break;
        i++;
      }
      i++;
    }
  };
  const vowelInStem = (): boolean => {
    for (let i = k0; i <= j; i++) if (!cons(i)) return true;
    return false;
  };
  const doubleC = (i: number): boolean => i >= k0 + 1 && b[i] === b[i - 1] && cons(i);
  // cvc(i): b[i-2..i] is consonant-vowel-consonant and b[i] is not w, x or y (hop(e), not snow).
  const cvc = (i: number): boolean => {
    if (i < k0 + 2 || !cons(i) || cons(i - 1) || !cons(i - 2)) return false;
    return b[i] !== "w" && b[i] !== "x" && b[i] !== "y";
  };
  const ends = (s: string): boolean => {
    const o = k - s.length + 1;
    if (o < k0) return false;
    for (let i = 0; i < s.length; i++) if (b[o + i] !== s[i]) return false;
    j = k - s.length;
    return true;
  };
  const setTo = (s: string): void => {
    for (let i = 0; i < s.length; i++) b[j + 1 + i] = s[i];
    k = j + s.length;
  };
  const r = (s: string): void => { if (m() > 0) setTo(s); };
  // First matching suffix of `rules` (in order) decides: replaced when m() > 0, else nothing.
  const replaceFirst = (rules: ReadonlyArray<readonly [string, string]>): void => {
    for (const [suffix, by] of rules) if (ends(suffix)) { r(by); return; }
  };

  // Step 1a/1b: plurals, -ed, -ing.
  if (b[k] === "s") {
    if (ends("sses")) k -= 2;
    else if (ends("ies")) setTo("i");
    else if (b[k - 1] !== "s") k--;
  }
  if (ends("eed")) {
    if (m() > 0) k--;
  } else if ((ends("ed") || ends("ing")) && vowelInStem()) {
    k = j;
    if (ends("at")) setTo("ate");
    else if (ends("bl")) setTo("ble");
    else if (ends("iz")) setTo("ize");
    else if (doubleC(k)) {
      const ch = b[k--];
      if (ch === "l" || ch === "s" || ch === "z") k++;
    } else if (m() === 1 && cvc(k)) setTo("e");
  }
  // Step 1c: terminal y -> i when the stem has a vowel.
  if (ends("y") && vowelInStem()) b[k] = "i";
  // Step 2: double suffixes -> single ones, keyed on the penultimate letter.
  if (k !== k0) replaceFirst(STEP2[b[k - 1]] ?? []);
  // Step 3: -ic-, -full, -ness etc., keyed on the last letter.
  replaceFirst(STEP3[b[k]] ?? []);
  // Step 4: drop -ant, -ence etc. when m() > 1.
  if (k !== k0) {
    const suffixes = STEP4[b[k - 1]] ?? [];
    let matched = false;
    for (const s of suffixes) {
      if (s === "ion") {
        if (ends("ion") && j >= k0 && (b[j] === "s" || b[j] === "t")) { matched = true; break; }
      } else if (ends(s)) { matched = true; break; }
    }
    if (matched && m() > 1) k = j;
  }
  // Step 5: drop a final -e when m() > 1 (or m() = 1 and not *o), and -ll -> -l when m() > 1.
  j = k;
  if (b[k] === "e") {
    const a = m();
    if (a > 1 || (a === 1 && !cvc(k - 1))) k--;
  }
  if (b[k] === "l" && doubleC(k) && m() > 1) k--;
  return b.slice(0, k + 1).join("");
}

type Rules = Readonly<Record<string, ReadonlyArray<readonly [string, string]>>>;

const STEP2: Rules = {
  a: [["ational", "ate"], ["tional", "tion"]],
  c: [["enci", "ence"], ["anci", "ance"]],
  e: [["izer", "ize"]],
  l: [["bli", "ble"], ["alli", "al"], ["entli", "ent"], ["eli", "e"], ["ousli", "ous"]],
  o: [["ization", "ize"], ["ation", "ate"], ["ator", "ate"]],
  s: [["alism", "al"], ["iveness", "ive"], ["fulness", "ful"], ["ousness", "ous"]],
  t: [["aliti", "al"], ["iviti", "ive"], ["biliti", "ble"]],
  g: [["logi", "log"]],
};

const STEP3: Rules = {
  e: [["icate", "ic"], ["ative", ""], ["alize", "al"]],
  i: [["iciti", "ic"]],
  l: [["ical", "ic"], ["ful", ""]],
  s: [["ness", ""]],
};

const STEP4: Readonly<Record<string, readonly string[]>> = {
  a: ["al"],
  c: ["ance", "ence"],
  e: ["er"],
  i: ["ic"],
  l: ["able", "ible"],
  n: ["ant", "ement", "ment", "ent"],
  o: ["ion", "ou"],
  s: ["ism"],
  t: ["ate", "iti"],
  u: ["ous"],
  v: ["ive"],
  z: ["ize"],
};
