import assert from "node:assert/strict";
import { ConfigError } from "../../lib/core/errors";
import { applyWindowPermutation, formatSelection, parseSelection, selectWindows, shuffleWindow, slidingWindows, unshuffleOrder, type SelectionMode } from "../../lib/labels/select";

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const list = (n: number) => range(0, n).map((i) => `d${i}`);

/**
 * rank_llm's `sliding_windows` loop, transcribed line by line as a reference (rank_llm
 * src/rank_llm/rerank/listwise/listwise_rankllm.py, also RankGPT's rank_gpt.py).
 */
function rankLlmWindows(rankStart: number, rankEnd: number, windowSize: number, step: number): Array<[number, number]> {
  const calls: Array<[number, number]> = [];
  let endPos = rankEnd;
  let startPos = rankEnd - windowSize;
  while (endPos > rankStart && startPos + step !== rankStart) {
    startPos = Math.max(startPos, rankStart);
    calls.push([startPos, endPos]); // self.permutation_pipeline(rerank_result, start_pos, end_pos)
    endPos = endPos - step;
    startPos = startPos - step;
  }
  return calls;
}

describe("parseSelection", () => {
  it("parses the three modes and formats them back", () => {
    const cases: Array<[string, SelectionMode]> = [
      ["top10+bottom10", { kind: "top+bottom", top: 10, bottom: 10 }],
      ["top5+bottom15", { kind: "top+bottom", top: 5, bottom: 15 }],
      ["top20", { kind: "top", k: 20 }],
      ["sliding20/10", { kind: "sliding", window: 20, step: 10 }],
    ];
    for (const [text, mode] of cases) {
      assert.deepEqual(parseSelection(text), mode);
      assert.equal(formatSelection(mode), text);
    }
    assert.deepEqual(parseSelection("  top20 "), { kind: "top", k: 20 });
  });
  it("rejects unknown forms with the accepted ones and a hint", () => {
    const bad = (text: string, pattern: RegExp) => assert.throws(() => parseSelection(text), (e: unknown) => e instanceof ConfigError && pattern.test(e.message), text);
    bad("top10-bottom10", /unknown selection "top10-bottom10"; expected top\{k\}\+bottom\{k\} \(e\.g\. "top10\+bottom10"\), top\{k\} .* sliding\{window\}\/\{step\}/);
    bad("Top20", /unknown selection "Top20".*\(lower case\)/);
    bad("top10 + bottom10", /\(no spaces inside\)/);
    bad("sliding20", /unknown selection "sliding20"/);
    bad("top0", /"top0": k must be a positive integer, got 0/);
    bad("sliding10/20", /step 20 is larger than window 10/);
    assert.throws(() => parseSelection(20 as never), /expected a string such as "top10\+bottom10", got 20/);
  });
});

describe("selectWindows", () => {
  it("top10+bottom10 takes the first and last 10 of the first 50 (default n) in one window", () => {
    const windows = selectWindows(list(100), parseSelection("top10+bottom10"));
    assert.deepEqual(windows, [[...range(0, 10), ...range(40, 50)]]);
    assert.deepEqual(selectWindows(list(100), parseSelection("top10+bottom10"), { n: 100 }), [[...range(0, 10), ...range(90, 100)]]);
  });
  it("top+bottom never overlaps on short lists: 15 candidates give the top 10 and the remaining 5", () => {
    const mode = parseSelection("top10+bottom10");
    assert.deepEqual(selectWindows(list(15), mode), [range(0, 15)]);
    assert.deepEqual(selectWindows(list(25), mode), [[...range(0, 10), ...range(15, 25)]]);
    assert.deepEqual(selectWindows(list(20), mode), [range(0, 20)]);
    assert.deepEqual(selectWindows(list(7), mode), [range(0, 7)]);
    for (let len = 1; len <= 60; len++) {
      const [w] = selectWindows(list(len), mode);
      assert.equal(new Set(w).size, w.length, `no duplicates at ${len}`);
      assert.equal(w.length, Math.min(20, len));
    }
  });
  it("top20 is one window of the first 20; n caps it", () => {
    assert.deepEqual(selectWindows(list(100), parseSelection("top20")), [range(0, 20)]);
    assert.deepEqual(selectWindows(list(100), parseSelection("top20"), { n: 50 }), [range(0, 20)]);
    assert.deepEqual(selectWindows(list(100), parseSelection("top20"), { n: 12 }), [range(0, 12)]);
    assert.deepEqual(selectWindows(list(8), parseSelection("top20")), [range(0, 8)]);
  });
  it("sliding20/10 over 100 gives rank_llm's 9 windows, back to front: 80-99, 70-89, ..., 0-19", () => {
    const windows = selectWindows(list(100), parseSelection("sliding20/10"));
    assert.equal(windows.length, 9);
    assert.deepEqual(windows.map((w) => [w[0], w[w.length - 1]]), [[80, 99], [70, 89], [60, 79], [50, 69], [40, 59], [30, 49], [20, 39], [10, 29], [0, 19]]);
    assert.deepEqual(windows, rankLlmWindows(0, 100, 20, 10).map(([s, e]) => range(s, e)));
  });
  it("sliding over n = 50 gives 4 windows; consecutive windows overlap by window - step", () => {
    const windows = selectWindows(list(100), parseSelection("sliding20/10"), { n: 50 });
    assert.deepEqual(windows.map((w) => [w[0], w[w.length - 1]]), [[30, 49], [20, 39], [10, 29], [0, 19]]);
    for (let i = 1; i < windows.length; i++) assert.equal(windows[i].filter((p) => windows[i - 1].includes(p)).length, 10);
  });
  it("sliding equals rank_llm's loop for every length, window and step, short lists included", () => {
    for (const [w, s] of [[20, 10], [20, 5], [10, 10], [4, 3], [20, 20]]) {
      for (let len = 1; len <= 120; len++) {
        const ours = slidingWindows(0, Math.min(100, len), w, s);
        assert.deepEqual(ours, rankLlmWindows(0, Math.min(100, len), w, s), `len ${len}, ${w}/${s}`);
        assert.deepEqual(selectWindows(list(len), { kind: "sliding", window: w, step: s }), ours.map(([a, b]) => range(a, b)));
      }
    }
    // The window reaching the front is clipped there and is the last one; short lists get one window.
    assert.deepEqual(slidingWindows(0, 45, 20, 10), [[25, 45], [15, 35], [5, 25], [0, 15]]);
    assert.deepEqual(slidingWindows(0, 15, 20, 10), [[0, 15]]);
    assert.deepEqual(slidingWindows(0, 20, 20, 10), [[0, 20]]);
  });
  it("covers every considered candidate in every mode, and returns nothing for an empty list", () => {
    const w = selectWindows(list(100), parseSelection("sliding20/10")).flat();
    assert.deepEqual([...new Set(w)].sort((a, b) => a - b), range(0, 100));
    assert.deepEqual(selectWindows([], parseSelection("top10+bottom10")), []);
    assert.deepEqual(selectWindows([], parseSelection("sliding20/10")), []);
  });
  it("rejects a bad n and a malformed mode object", () => {
    assert.throws(() => selectWindows(list(10), parseSelection("top20"), { n: 0 }), /n must be a positive integer, got 0/);
    assert.throws(() => selectWindows(list(10), { kind: "top", k: 2.5 }), /k must be a positive integer, got 2.5/);
    assert.throws(() => selectWindows(list(10), { kind: "window" } as never), /unknown kind "window"/);
  });
});

describe("applyWindowPermutation", () => {
  it("places the window's documents in the teacher's order and leaves the rest", () => {
    const cur = list(6);
    assert.deepEqual(applyWindowPermutation(cur, 2, 5, [2, 0, 1]), ["d0", "d1", "d4", "d2", "d3", "d5"]);
    assert.deepEqual(cur, list(6), "input untouched");
  });
  it("drops duplicates and out-of-range positions and appends the left-out ones in order (receive_permutation)", () => {
    // rank_llm: response "[3] > [3] > [9] > [1]" on a window of 4 -> [2, 0] then the missing [1, 3].
    assert.deepEqual(applyWindowPermutation(list(4), 0, 4, [2, 2, 8, 0]), ["d2", "d0", "d1", "d3"]);
    assert.deepEqual(applyWindowPermutation(list(4), 0, 4, []), list(4));
    assert.deepEqual(applyWindowPermutation(list(4), 1, 1, [0]), list(4));
  });
  it("rejects a window outside the list", () => {
    assert.throws(() => applyWindowPermutation(list(4), 2, 6, [0]), /window \[2, 6\) must lie within the list of 4/);
  });
  it("a full sliding pass with a perfect teacher brings the global top 10 to the front, in order", () => {
    // Relevance = the number in the docid; the list starts in reverse order (worst first).
    let cur = range(0, 100).reverse();
    for (const [start, end] of slidingWindows(0, 100, 20, 10)) {
      const win = cur.slice(start, end);
      const order = range(0, win.length).sort((a, b) => win[b] - win[a]);
      cur = applyWindowPermutation(cur, start, end, order);
    }
    assert.deepEqual(cur.slice(0, 10), [99, 98, 97, 96, 95, 94, 93, 92, 91, 90]);
    assert.deepEqual([...cur].sort((a, b) => a - b), range(0, 100));
  });
});

describe("shuffleWindow", () => {
  const docs = list(20);
  it("is deterministic for a seed, differs across seeds, and records the permutation", () => {
    const a = shuffleWindow(docs, 7), b = shuffleWindow(docs, 7), c = shuffleWindow(docs, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.permutation, c.permutation);
    assert.equal(a.seed, 7);
    assert.deepEqual([...a.permutation].sort((x, y) => x - y), range(0, 20));
    a.docs.forEach((d, i) => assert.equal(d, docs[a.permutation[i]]));
    assert.deepEqual(docs, list(20), "input untouched");
    assert.throws(() => shuffleWindow(docs, 1.5), /seed must be an integer, got 1.5/);
  });
  it("maps a teacher's order over shown positions back to window positions", () => {
    const shown = shuffleWindow(docs, 42);
    // The teacher ranks the shown documents by their number, best (highest) first.
    const orderShown = range(0, 20).sort((x, y) => Number(shown.docs[y].slice(1)) - Number(shown.docs[x].slice(1)));
    const order = unshuffleOrder(orderShown, shown.permutation);
    assert.deepEqual(order, range(0, 20).reverse());
    assert.deepEqual(applyWindowPermutation(docs, 0, 20, order), list(20).reverse());
    assert.deepEqual(unshuffleOrder([0, 25, -1], shown.permutation), [shown.permutation[0]]);
  });
  it("a shuffled sliding pass gives the same result as an unshuffled one for a perfect teacher", () => {
    let plain = list(100), shuffled = list(100);
    const rel = (d: string) => (Number(d.slice(1)) * 37) % 100; // a scrambled relevance
    const teacher = (win: string[]) => range(0, win.length).sort((a, b) => rel(win[b]) - rel(win[a]));
    slidingWindows(0, 100, 20, 10).forEach(([s, e], i) => {
      plain = applyWindowPermutation(plain, s, e, teacher(plain.slice(s, e)));
      const shown = shuffleWindow(shuffled.slice(s, e), 1000 + i);
      shuffled = applyWindowPermutation(shuffled, s, e, unshuffleOrder(teacher(shown.docs), shown.permutation));
    });
    assert.deepEqual(shuffled, plain);
  });
});
