import assert from "node:assert/strict";
import { readFileSync } from "fs";
import { join } from "path";
import { ConfigError } from "../../lib/core/errors";
import { createRng, deriveSeed, type Rng } from "../../lib/core/rng";
import { dataDir, shippedPromptLogs } from "../../lib/data/datasets";
import { readPromptLog, readRetrieveResults } from "../../lib/data/rankllm";
import { readRun } from "../../lib/data/trec";
import type { PromptLogEntry, RankedList } from "../../lib/data/types";
import {
  ANOMALY_CATEGORIES, MISSING_POLICIES, applyMissingPolicy, parsePermutation, permutationText, sumAnomalies,
  type AnomalyCounts, type ParseMode, type ParsedPermutation,
} from "../../lib/labels/parse";

const CLEAN: AnomalyCounts = { duplicates: 0, outOfRange: 0, malformed: 0, missing: 0, freeText: false, echo: false, empty: false };
const anomalies = (over: Partial<AnomalyCounts>): AnomalyCounts => ({ ...CLEAN, ...over });
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("parsePermutation", () => {
  describe("well-formed responses", () => {
    it("reads [k] ids as 0-based indices in the teacher's order", () => {
      const p = parsePermutation("[3] > [1] > [2]", 3);
      assert.deepEqual(p, { n: 3, mode: "brackets", listed: [2, 0, 1], missing: [], anomalies: CLEAN });
    });
    it("accepts white-space variants and commas as separators", () => {
      for (const r of ["[2]>[1]>[3]", "  [2]  >\n[1]\t>  [3]  ", "[ 2 ] > [1 ] > [\t3]", "[2], [1], [3]", "\n\n[2] > [1] > [3]\n"]) {
        const p = parsePermutation(r, 3);
        assert.deepEqual(p.listed, [1, 0, 2], JSON.stringify(r));
        assert.deepEqual(p.anomalies, CLEAN, JSON.stringify(r));
      }
    });
    it("reads leading zeros as the same id ([07] is 7)", () => {
      assert.deepEqual(parsePermutation("[07] > [1]", 7).listed, [6, 0]);
    });
  });

  describe("anomalies, one category at a time", () => {
    it("duplicates: keeps the first occurrence and counts the repeats ([1] > [1] > [2])", () => {
      const p = parsePermutation("[1] > [1] > [2]", 3);
      assert.deepEqual(p.listed, [0, 1]);
      assert.deepEqual(p.missing, [2]);
      assert.deepEqual(p.anomalies, anomalies({ duplicates: 1, missing: 1 }));
    });
    it("duplicates: keeps the first position, not the last", () => {
      assert.deepEqual(parsePermutation("[2] > [1] > [2] > [3] > [2]", 3), {
        n: 3, mode: "brackets", listed: [1, 0, 2], missing: [], anomalies: anomalies({ duplicates: 2 }),
      });
    });
    it("out of range: drops [21] with n=20 and counts it; an invalid id is still an id (not empty)", () => {
      const p = parsePermutation("[21]", 20);
      assert.deepEqual(p.listed, []);
      assert.deepEqual(p.missing, range(20));
      assert.deepEqual(p.anomalies, anomalies({ outOfRange: 1, missing: 20 }));
    });
    it("out of range: drops [0], negative ids and huge numbers, counting every occurrence", () => {
      const p = parsePermutation("[0] > [2] > [-1] > [99999999999999999999999] > [0] > [1]", 2);
      assert.deepEqual(p.listed, [1, 0]);
      assert.deepEqual(p.anomalies, anomalies({ outOfRange: 4 }));
    });
    it("out-of-range ids are not counted as duplicates of each other", () => {
      assert.deepEqual(parsePermutation("[25] > [25] > [1]", 1).anomalies, anomalies({ outOfRange: 2, echo: true }));
    });
    it("malformed: drops [a], [3.5], [] and [1 2] and counts them", () => {
      const p = parsePermutation("[2] > [a] > [1] > [3.5] > [] > [1 2]", 3);
      assert.deepEqual(p.listed, [1, 0]);
      assert.deepEqual(p.missing, [2]);
      assert.deepEqual(p.anomalies, anomalies({ malformed: 4, missing: 1 }));
    });
    it("malformed: [] > [] (vicuna zero-shot) is malformed twice and empty", () => {
      const p = parsePermutation("\n\n[] > []", 20);
      assert.deepEqual(p.anomalies, anomalies({ malformed: 2, missing: 20, empty: true }));
    });
    it("free text: flags words around the list and still reads the ids (I think [2] > [1])", () => {
      const p = parsePermutation("I think [2] > [1]", 2);
      assert.deepEqual(p.listed, [1, 0]);
      assert.deepEqual(p.anomalies, anomalies({ freeText: true }));
      assert.equal(parsePermutation("Ranking: [2] > [1]. Passage [2] is about fleas.", 2).anomalies.freeText, true);
    });
    it("free text: flags `1. ` prefixes and a truncated last id", () => {
      assert.equal(parsePermutation("1. [2] > 2. [1]", 2).anomalies.freeText, true);
      const p = parsePermutation("[2] > [1] > [", 3);
      assert.deepEqual(p.listed, [1, 0]);
      assert.deepEqual(p.anomalies, anomalies({ freeText: true, missing: 1 }));
    });
    it("echo: flags the prompt order given back (1. [1] > [2] > ... > [20])", () => {
      const r = "1. " + permutationText(range(20));
      const p = parsePermutation(r, 20);
      assert.deepEqual(p.listed, range(20));
      assert.deepEqual(p.anomalies, anomalies({ echo: true, freeText: true }));
      assert.equal(parsePermutation(permutationText(range(20)), 20).anomalies.echo, true);
    });
    it("echo: not flagged when an id is missing or the order differs", () => {
      assert.equal(parsePermutation("[1] > [2] > [3]", 4).anomalies.echo, false);
      assert.equal(parsePermutation("[1] > [3] > [2]", 3).anomalies.echo, false);
      assert.equal(parsePermutation("[1] > [2] > [2] > [3]", 3).anomalies.echo, true); // echo despite a duplicate
    });
    it("empty: the empty string lists nothing and misses everything", () => {
      assert.deepEqual(parsePermutation("", 4), { n: 4, mode: "brackets", listed: [], missing: [0, 1, 2, 3], anomalies: anomalies({ empty: true, missing: 4 }) });
      assert.deepEqual(parsePermutation("  \n ", 2).anomalies, anomalies({ empty: true, missing: 2 }));
    });
    it("empty: text without any id (no ranking here)", () => {
      assert.deepEqual(parsePermutation("no ranking here", 3).anomalies, anomalies({ empty: true, freeText: true, missing: 3 }));
    });
    it("bare numbers are free text in brackets mode (1 > 2 > 3)", () => {
      assert.deepEqual(parsePermutation("3 > 1 > 2", 3).anomalies, anomalies({ empty: true, freeText: true, missing: 3 }));
    });
  });

  describe('mode "rankllm" (castorini/rank_llm receive_permutation, Sep 2023)', () => {
    const rk = (r: string, n: number): ParsedPermutation => parsePermutation(r, n, { mode: "rankllm" });
    it("reads every digit run as an id: `1. [14] > [15]` lists 1, 14, 15 (brackets: 14, 15)", () => {
      assert.deepEqual(rk("1. [14] > [15]", 20).listed, [0, 13, 14]);
      assert.deepEqual(parsePermutation("1. [14] > [15]", 20).listed, [13, 14]);
    });
    it("reads bare numbers and `1. [1] 2. [2]` lists (duplicates dropped)", () => {
      assert.deepEqual(rk("3 > 1 > 2", 3).listed, [2, 0, 1]);
      const p = rk("1. [1] 2. [2] 3. [3]", 3);
      assert.deepEqual(p.listed, [0, 1, 2]);
      assert.deepEqual(p.anomalies, anomalies({ duplicates: 3, echo: true, freeText: true }));
    });
    it("splits digits inside malformed brackets ([3.5] is 3 and 5) and ignores signs ([-1] is 1)", () => {
      const p = rk("[3.5] > [-1]", 5);
      assert.deepEqual(p.listed, [2, 4, 0]);
      assert.equal(p.anomalies.malformed, 1); // the text's form is described as in brackets mode
      assert.deepEqual(parsePermutation("[3.5] > [-1]", 5).listed, []);
    });
    it("drops 0 and ids beyond n ([0] > [21] > [2])", () => {
      const p = rk("[0] > [21] > [2]", 20);
      assert.deepEqual(p.listed, [1]);
      assert.equal(p.anomalies.outOfRange, 2);
    });
    it("reads Unicode decimal digits as Python's int() does (fullwidth [３] is 3) and skips superscripts", () => {
      assert.deepEqual(rk("[３] > [１] > [𝟐]", 3).listed, [2, 0, 1]);
      assert.deepEqual(parsePermutation("[３] > [１]", 3).anomalies.malformed, 2);
      // rank_llm's int("²") raises; here the superscript is a non-digit and the parse goes on.
      assert.deepEqual(rk("[²] > [1]", 3).listed, [0]);
    });
    it("agrees with brackets mode on clean lists", () => {
      for (const r of ["[3] > [1] > [2]", "[1] > [1] > [2]", "[21]", "", "[2] > [a] > [1]"]) {
        assert.deepEqual(rk(r, 20).listed, parsePermutation(r, 20).listed, JSON.stringify(r));
      }
    });
  });

  describe("bad arguments (caller bugs) throw; response text never does", () => {
    it("rejects a window size that is not a positive integer, naming it", () => {
      for (const n of [0, -3, 2.5, NaN]) assert.throws(() => parsePermutation("[1]", n), /n \(the window size\) must be a positive integer, got/);
    });
    it("rejects an unknown mode, naming it", () => {
      assert.throws(() => parsePermutation("[1]", 1, { mode: "regex" as ParseMode }), (e: unknown) => e instanceof ConfigError && /unknown mode "regex"/.test(e.message));
    });
    it("survives very long garbage quickly", () => {
      const rng = createRng(deriveSeed(7, "parse/long-garbage"));
      const alphabet = "[]>0123456789 ab.\n-,３";
      let s = "";
      for (let i = 0; i < 200_000; i++) s += alphabet[rng.int(alphabet.length)];
      for (const r of [s, "[".repeat(200_000), "[" + "1".repeat(200_000), "9".repeat(200_000), "[1] > ".repeat(50_000)]) {
        for (const mode of ["brackets", "rankllm"] as const) {
          const t0 = Date.now();
          const p = parsePermutation(r, 20, { mode });
          assert.ok(Date.now() - t0 < 5000, `${mode} took ${Date.now() - t0} ms`);
          checkInvariants(p, r);
        }
      }
      assert.equal(parsePermutation("[1] > ".repeat(50_000), 20).anomalies.duplicates, 49_999);
    });
    it("never throws on seeded random strings, and keeps its invariants (fuzz, both modes)", () => {
      const rng = createRng(deriveSeed(20240611, "parse/fuzz"));
      const pieces = ["[", "]", " > ", ">", " ", "\n", ",", ".", "-", "1", "2", "3", "9", "0", "12", "20", "21", "[1]", "[2]", "[20]", "a", "I think", "３", "²", "𝟐", "\u0000", "\uD800", "é", "\t"];
      for (let k = 0; k < 3000; k++) {
        const r = randomText(rng, pieces, rng.int(60));
        const n = 1 + rng.int(25);
        for (const mode of ["brackets", "rankllm"] as const) checkInvariants(parsePermutation(r, n, { mode }), r);
      }
    });
    it("matches simple reference readers on seeded ASCII strings (fuzz)", () => {
      const rng = createRng(deriveSeed(20240611, "parse/fuzz-ascii"));
      const pieces = ["[", "]", " > ", " ", ".", "-", "a", "0", "1", "2", "3", "5", "7", "10", "19", "20", "21", "007", "[3]", "[ 4 ]"];
      for (let k = 0; k < 3000; k++) {
        const r = randomText(rng, pieces, rng.int(40));
        const n = 1 + rng.int(22);
        const b = parsePermutation(r, n);
        const ref = bracketsReference(r, n);
        assert.deepEqual({ listed: b.listed, malformed: b.anomalies.malformed, outOfRange: b.anomalies.outOfRange }, ref, JSON.stringify(r));
        assert.deepEqual(parsePermutation(r, n, { mode: "rankllm" }).listed, rankllmReference(r, n), JSON.stringify(r));
      }
    });
  });
});

describe("applyMissingPolicy", () => {
  const parsed = parsePermutation("[3] > [1] > [3]", 4);
  it("hardNegative (RRADistill): ranks the listed ones, returns the missing as hard negatives", () => {
    assert.deepEqual(applyMissingPolicy(parsed, "hardNegative"), { ranking: [2, 0], hardNegatives: [1, 3] });
  });
  it("append (RankGPT, rank_llm): missing ones follow in prompt order", () => {
    assert.deepEqual(applyMissingPolicy(parsed, "append"), { ranking: [2, 0, 1, 3], hardNegatives: [] });
  });
  it("drop: missing ones are discarded", () => {
    assert.deepEqual(applyMissingPolicy(parsed, "drop"), { ranking: [2, 0], hardNegatives: [] });
  });
  it("an empty response ranks nothing, or everything in prompt order under append", () => {
    const e = parsePermutation("", 3);
    assert.deepEqual(applyMissingPolicy(e, "hardNegative"), { ranking: [], hardNegatives: [0, 1, 2] });
    assert.deepEqual(applyMissingPolicy(e, "append"), { ranking: [0, 1, 2], hardNegatives: [] });
  });
  it("never mutates the parsed permutation", () => {
    const before = JSON.stringify(parsed);
    for (const policy of MISSING_POLICIES) applyMissingPolicy(parsed, policy).ranking.push(99);
    assert.equal(JSON.stringify(parsed), before);
  });
  it("rejects an unknown policy, naming it and the choices", () => {
    assert.throws(() => applyMissingPolicy(parsed, "hardnegative" as never), /unknown policy "hardnegative"; expected one of hardNegative, append, drop/);
  });
});

describe("permutationText", () => {
  it("writes 1-based ids in the teacher's format", () => {
    assert.equal(permutationText([2, 0, 1]), "[3] > [1] > [2]");
    assert.equal(permutationText([]), "");
  });
  it("round-trips through parsePermutation", () => {
    const order = createRng(3).shuffle(range(20));
    assert.deepEqual(parsePermutation(permutationText(order), 20).listed, order);
  });
  it("rejects an index that is not a non-negative integer, naming it", () => {
    assert.throws(() => permutationText([0, -1]), /got -1 in \[0, -1\]/);
    assert.throws(() => permutationText([1.5]), /got 1.5/);
  });
});

describe("sumAnomalies", () => {
  it("sums counts, counts flagged windows and clean windows", () => {
    const s = sumAnomalies(["[1] > [1] > [1]", "[2] > [1]", "", "[1] > [2]"].map((r) => parsePermutation(r, 2).anomalies));
    assert.equal(s.windows, 4);
    assert.deepEqual(s.total, { missing: 3, duplicates: 2, outOfRange: 0, malformed: 0, freeText: 0, echo: 1, empty: 1 });
    assert.deepEqual(s.windowsWith, { missing: 2, duplicates: 1, outOfRange: 0, malformed: 0, freeText: 0, echo: 1, empty: 1 });
    assert.equal(s.clean, 1);
    assert.deepEqual(Object.keys(s.total), [...ANOMALY_CATEGORIES]);
  });
  it("gives zeros for no windows", () => {
    assert.deepEqual(sumAnomalies([]).windows, 0);
    assert.ok(Object.values(sumAnomalies([]).total).every((v) => v === 0));
  });
});

// ---- the shipped rank_llm logs ----------------------------------------------------------------

interface PythonCounts {
  windows: number; windowSizes: Record<string, number>; windowsWithMissing: number; missingIds: number;
  windowsWithDuplicates: number; duplicateIds: number; outOfRangeIds: number; malformed: number;
  echoWindows: number; emptyResponses: number; freeTextWindows: number;
}
const FIXTURE = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "anomaly-counts.json"), "utf8")) as { source: string; logs: Record<string, PythonCounts> };

/** Window size from the prompt's "I will provide you with N passages". */
function windowSize(e: PromptLogEntry): number {
  const m = /I will provide you with (\d+) passages/.exec(e.prompt);
  assert.ok(m, `no window size in the prompt at line ${e.line}`);
  return Number(m[1]);
}

const logCache = new Map<string, PromptLogEntry[]>();
const log = (rel: string): PromptLogEntry[] => {
  if (!logCache.has(rel)) logCache.set(rel, readPromptLog(join(dataDir(), rel)));
  return logCache.get(rel) as PromptLogEntry[];
};
const bm25Cache = new Map<string, RankedList[]>();
const bm25 = (year: string): RankedList[] => {
  if (!bm25Cache.has(year)) bm25Cache.set(year, readRetrieveResults(join(dataDir(), `trec-dl-2019-2020/bm25_retrieve_results_${year}.json`)));
  return bm25Cache.get(year) as RankedList[];
};
const short = (rel: string): string => rel.split("/").pop() as string;

describe("the shipped rank_llm logs", () => {
  it("the Python fixture covers exactly the shipped logs and names its script", () => {
    assert.deepEqual(Object.keys(FIXTURE.logs), shippedPromptLogs());
    assert.match(FIXTURE.source, /test\/fixtures\/anomaly-counts\.py .*\/usr\/bin\/python3 test\/fixtures\/anomaly-counts\.py > test\/fixtures\/anomaly-counts\.json/);
  });

  for (const rel of shippedPromptLogs()) {
    it(`anomaly counts of ${short(rel)} match the independent Python count`, () => {
      const entries = log(rel);
      const sizes: Record<string, number> = {};
      const parsed = entries.map((e) => {
        const n = windowSize(e);
        sizes[n] = (sizes[n] ?? 0) + 1;
        return parsePermutation(e.response, n);
      });
      const s = sumAnomalies(parsed.map((p) => p.anomalies));
      const ours: PythonCounts = {
        windows: s.windows, windowSizes: sizes, windowsWithMissing: s.windowsWith.missing, missingIds: s.total.missing,
        windowsWithDuplicates: s.windowsWith.duplicates, duplicateIds: s.total.duplicates, outOfRangeIds: s.total.outOfRange,
        malformed: s.total.malformed, echoWindows: s.total.echo, emptyResponses: s.total.empty, freeTextWindows: s.total.freeText,
      };
      assert.deepEqual(ours, FIXTURE.logs[rel]);
    });
  }

  // rank_llm's sliding_windows: window 20, step 10, from the bottom of the top-100 up; top20-single is one window.
  const WINDOW_STARTS: Record<string, number[]> = { "top20-single": [0], "top100-sw20s10": [80, 70, 60, 50, 40, 30, 20, 10, 0] };
  /**
   * Replay one log over the BM25 candidates: per qid, the final docid order, and how many windows did
   * not show the documents the replay puts there (the logged window order is the query order).
   */
  function replay(rel: string, mode: ParseMode): { orders: Map<string, string[]>; misaligned: number } {
    const year = rel.includes("_dl19") ? "dl19" : "dl20";
    const starts = WINDOW_STARTS[rel.includes("top20-single") ? "top20-single" : "top100-sw20s10"];
    const lists = bm25(year);
    const entries = log(rel);
    assert.equal(entries.length, lists.length * starts.length, "one logged window per query and window position");
    const orders = new Map<string, string[]>();
    let misaligned = 0;
    lists.forEach((list, q) => {
      let order = list.candidates.slice();
      starts.forEach((start, w) => {
        const entry = entries[q * starts.length + w];
        const win = order.slice(start, start + 20);
        assert.ok(entry.prompt.includes(list.query), `line ${entry.line}: the prompt is for query ${JSON.stringify(list.query)}`);
        const shown = win.every((c, k) => {
          // ftfy rewrote mojibake in the prompts; compare the first word where it is plain ASCII.
          const first = (c.text ?? "").replace("Title: Content: ", "").trim().split(/\s+/)[0].replace(/\[(\d+)\]/g, "($1)");
          return !/^[\x21-\x7e]+$/.test(first) || entry.prompt.includes(`[${k + 1}] ${first}`);
        });
        if (!shown) misaligned++;
        const { ranking } = applyMissingPolicy(parsePermutation(entry.response, win.length, { mode }), "append");
        order = order.slice(0, start).concat(ranking.map((i) => win[i]), order.slice(start + 20));
      });
      orders.set(list.qid, order.map((c) => c.docid));
    });
    return { orders, misaligned };
  }
  /** Replay a log; report the queries whose order differs from the shipped run (ranked by its rank column). */
  function compareWithRun(rel: string, mode: ParseMode): { differing: string[]; misaligned: number } {
    const runFile = join(dataDir(), rel.replace("prompts_and_responses", "rerank_runs").replace(/\.json$/, ".trec"));
    const run = readRun(runFile);
    const { orders, misaligned } = replay(rel, mode);
    assert.deepEqual([...run.queries.keys()].sort(), [...orders.keys()].sort());
    const differing = [...orders].filter(([qid, order]) => {
      const shipped = (run.queries.get(qid) ?? []).slice().sort((a, b) => a.rank - b.rank).map((c) => c.docid);
      return shipped.join(" ") !== order.join(" ");
    }).map(([qid]) => qid);
    return { differing, misaligned };
  }

  // Queries (of 43 / 54) whose run "brackets" + append does NOT reproduce: only the zero-shot log, whose
  // `1. [14] > [15] ...` answers rank_llm read with the leading `1` as an id.
  const BRACKETS_DIFFERING: Record<string, number> = { "vicuna-7b-v1.5-zeroshot_bm25-top100-sw20s10_dl19.json": 16 };
  for (const rel of shippedPromptLogs()) {
    it(`mode "rankllm" + append replays ${short(rel)} into its shipped run, every query, each window showing the replayed documents`, () => {
      assert.deepEqual(compareWithRun(rel, "rankllm"), { differing: [], misaligned: 0 });
    });
    it(`mode "brackets" + append gives ${BRACKETS_DIFFERING[short(rel)] ?? 0} differing queries on ${short(rel)}`, () => {
      assert.equal(compareWithRun(rel, "brackets").differing.length, BRACKETS_DIFFERING[short(rel)] ?? 0);
    });
  }

  it("no shipped response makes the parser throw, in either mode", () => {
    for (const rel of shippedPromptLogs()) {
      for (const e of log(rel)) for (const mode of ["brackets", "rankllm"] as const) checkInvariants(parsePermutation(e.response, windowSize(e), { mode }), e.response);
    }
  });
});

// ---- helpers -----------------------------------------------------------------------------------

function randomText(rng: Rng, pieces: readonly string[], count: number): string {
  let s = "";
  for (let i = 0; i < count; i++) s += pieces[rng.int(pieces.length)];
  return s;
}

/** Properties every parse must have, whatever the response. */
function checkInvariants(p: ParsedPermutation, response: string): void {
  const where = JSON.stringify(response.slice(0, 80));
  assert.equal(new Set(p.listed).size, p.listed.length, `listed has no repeats: ${where}`);
  assert.deepEqual([...p.listed, ...p.missing].sort((a, b) => a - b), range(p.n), `listed and missing partition the window: ${where}`);
  assert.deepEqual(p.missing, p.missing.slice().sort((a, b) => a - b), `missing ascending: ${where}`);
  assert.equal(p.anomalies.missing, p.missing.length);
  assert.equal(p.anomalies.echo, p.listed.length === p.n && p.listed.every((v, i) => v === i), `echo: ${where}`);
  if (p.anomalies.empty) assert.deepEqual(p.listed, [], `empty lists nothing: ${where}`);
  for (const k of ["duplicates", "outOfRange", "malformed"] as const) assert.ok(Number.isInteger(p.anomalies[k]) && p.anomalies[k] >= 0);
}

/** Brackets mode read another way: split at "[" and take each piece up to its first "]". */
function bracketsReference(response: string, n: number): { listed: number[]; malformed: number; outOfRange: number } {
  const listed: number[] = [];
  let malformed = 0;
  let outOfRange = 0;
  for (const piece of response.split("[").slice(1)) {
    const close = piece.indexOf("]");
    if (close < 0) continue;
    const content = piece.slice(0, close).trim();
    if (!/^-?\d+$/.test(content)) { malformed++; continue; }
    const id = parseInt(content, 10);
    if (id < 1 || id > n) outOfRange++;
    else if (!listed.includes(id - 1)) listed.push(id - 1);
  }
  return { listed, malformed, outOfRange };
}

/** rank_llm's receive_permutation for ASCII text, transcribed line by line from rank_llm/rankllm.py. */
function rankllmReference(response: string, n: number): number[] {
  const cleaned = response.replace(/[^0-9]/g, " ").trim(); // _clean_response
  const ids = cleaned === "" ? [] : cleaned.split(/\s+/).map((x) => parseInt(x, 10) - 1);
  const deduped = ids.filter((x, i) => ids.indexOf(x) === i); // _remove_duplicate
  return deduped.filter((x) => x >= 0 && x < n); // `if ss in original_rank`
}
