import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createProgress } from "../../lib/core/progress";

/** A non-TTY stream that keeps what is written. */
function sink(): Writable & { text: string } {
  const s = new Writable({ write(chunk, _enc, cb) { s.text += chunk.toString(); cb(); } }) as Writable & { text: string };
  s.text = "";
  return s;
}

/** A fake notebook line: every text it was set to. */
function line(): ((text: string) => void) & { texts: string[] } {
  const texts: string[] = [];
  const f = ((text: string) => { texts.push(text); }) as ((text: string) => void) & { texts: string[] };
  f.texts = texts;
  return f;
}

describe("createProgress (core/progress.ts)", () => {
  it("on a non-TTY stream (CLI logs) writes nothing until logEverySec, then one final line", () => {
    const s = sink();
    const p = createProgress({ label: "label dl19", total: 4, unit: "windows", stream: s });
    p.tick();
    p.tick(2, "ok so far");
    assert.equal(s.text, "");
    p.done("done");
    assert.match(s.text, /^label dl19 \[#{18}\.{6}\] 3\/4 windows 75% [\d.]+\/s in \ds \| done\n$/);
  });

  it("as a notebook line: shown at once, rewritten in place, never on the stream, ending with the final text", () => {
    const s = sink();
    const l = line();
    const p = createProgress({ label: "train x", total: 10, unit: "steps", stream: s, line: l });
    assert.equal(l.texts.length, 1, "the line appears when the bar starts");
    assert.match(l.texts[0], /^train x \[\.{24}\] 0\/10 steps 0% /);
    for (let i = 0; i < 10; i++) p.tick(1, `loss ${i}`);
    p.done("best 0.5");
    assert.equal(s.text, "", "nothing goes to the stream (stderr is red in Jupyter)");
    assert.ok(l.texts.length >= 2 && l.texts.length <= 4, `updates are throttled to 200 ms: ${l.texts.length}`);
    assert.match(l.texts[l.texts.length - 1], /^train x \[#{24}\] 10\/10 steps 100% [\d.]+\/s in \ds \| best 0\.5$/);
  });

  it("a bar started while another runs on the same line joins it (outer › inner) and leaves it when done", () => {
    const l = line();
    const grid = createProgress({ label: "ablation grid", total: 2, unit: "cells", line: l, lineOnly: true });
    grid.tick(0, "cell 1: listNet");
    const train = createProgress({ label: "train a", total: 3, unit: "steps", line: l });
    const joined = l.texts[l.texts.length - 1];
    assert.match(joined, /^ablation grid \[\.{24}\] 0\/2 cells 0% .* \| cell 1: listNet {2}› {2}train a \[\.{12}\] 0\/3 steps 0% /);
    train.tick(3, "epoch 1");
    train.done("best");
    const after = l.texts[l.texts.length - 1];
    assert.match(after, /^ablation grid \[\.{24}\] 0\/2 cells/, "back to the outer bar alone");
    assert.doesNotMatch(after, /train a/);
    grid.tick(1);
    const second = createProgress({ label: "train b", total: 1, unit: "steps", line: l });
    assert.match(l.texts[l.texts.length - 1], / {2}› {2}train b /);
    second.done();
    grid.tick(1);
    grid.done("0 reused");
    assert.match(l.texts[l.texts.length - 1], /^ablation grid \[#{24}\] 2\/2 cells 100% .* in \ds \| 0 reused$/);
    // the chain is closed: a new bar on the same line starts its own
    const next = createProgress({ label: "next", total: 1, line: l });
    assert.match(l.texts[l.texts.length - 1], /^next \[/);
    next.done();
  });

  it("lineOnly bars print nothing outside a notebook; quiet bars nothing anywhere", () => {
    const s = sink();
    const a = createProgress({ label: "grid", total: 1, stream: s, lineOnly: true });
    a.tick();
    a.done();
    const l = line();
    const b = createProgress({ label: "quiet", total: 1, stream: s, line: l, quiet: true });
    b.tick();
    b.done();
    assert.equal(s.text, "");
    assert.deepEqual(l.texts, []);
  });

  it("slow work shows the time per item instead of a rate below 0.1/s", () => {
    const l = line();
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    try {
      const p = createProgress({ label: "grid", total: 120, unit: "cells", line: l });
      now += 150_000;
      p.tick(2);
      now += 1000;
      p.done();
    } finally {
      Date.now = realNow;
    }
    assert.match(l.texts[l.texts.length - 1], /2\/120 cells 2% 1m16s each in 2m31s$/);
  });
});
