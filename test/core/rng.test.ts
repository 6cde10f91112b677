import assert from "node:assert/strict";
import { createRng, deriveSeed } from "../../lib/core/rng";
import { hash8, stableStringify } from "../../lib/core/hash";

describe("createRng", () => {
  it("gives the same sequence for the same seed and another for another seed", () => {
    const a = createRng(42), b = createRng(42), c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.next());
    assert.deepEqual(Array.from({ length: 5 }, () => b.next()), xs);
    assert.notDeepEqual(Array.from({ length: 5 }, () => c.next()), xs);
  });
  it("stays in [0, 1) with a mean near 1/2 over 100k draws", () => {
    const r = createRng(7);
    let sum = 0;
    for (let i = 0; i < 100000; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      sum += x;
    }
    assert.ok(Math.abs(sum / 100000 - 0.5) < 0.005);
  });
  it("shuffles a copy, keeping every element", () => {
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const s = createRng(1).shuffle(items);
    assert.deepEqual(items, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(s.slice().sort((a, b) => a - b), items);
    assert.deepEqual(createRng(1).shuffle(items), s);
  });
  it("rejects a non-integer seed and a bad int bound", () => {
    assert.throws(() => createRng(1.5), /seed must be an integer, got 1.5/);
    assert.throws(() => createRng(1).int(0), /positive integer, got 0/);
  });
});

describe("deriveSeed and hashes", () => {
  it("derives stable, purpose-specific seeds", () => {
    assert.equal(deriveSeed(42, "bootstrap"), deriveSeed(42, "bootstrap"));
    assert.notEqual(deriveSeed(42, "bootstrap"), deriveSeed(42, "shuffle"));
    assert.notEqual(deriveSeed(42, "bootstrap"), deriveSeed(43, "bootstrap"));
  });
  it("hashes configs independently of key order", () => {
    assert.equal(stableStringify({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
    assert.equal(hash8({ b: 1, a: 2 }), hash8({ a: 2, b: 1 }));
    assert.match(hash8({}), /^[0-9a-f]{8}$/);
  });
});
