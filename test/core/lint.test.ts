import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import { dirname, join, resolve } from "path";

/** Every .ts file under lib/. */
function libFiles(dir = "lib"): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? libFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("lib/ source rules", () => {
  it("never calls Math.random or tf.util.shuffle (every random choice flows from a seed)", () => {
    const offenders = libFiles().filter((p) => /Math\.random\(|tf\.util\.shuffle\(/.test(readFileSync(p, "utf8")));
    assert.deepEqual(offenders, []);
  });
  it("imports local modules by file, never by folder (tslab cannot resolve ./store to ./store/index)", () => {
    const bad: string[] = [];
    for (const file of libFiles()) {
      for (const m of readFileSync(file, "utf8").matchAll(/^\s*(?:import|export)\b[^\n]*?from\s+"(\.{1,2}\/[^"]*)"/gm)) {
        const target = resolve(dirname(file), m[1]);
        const isFile = m[1].endsWith(".json") ? existsSync(target) : existsSync(`${target}.ts`);
        if (!isFile) bad.push(`${file}: ${m[1]}`);
      }
    }
    assert.deepEqual(bad, []);
  });
  it("uses no syntax that tslab's TypeScript 5.0 or its CommonJS output rejects (using, import.meta)", () => {
    const bad = libFiles().filter((p) => /^\s*(await\s+)?using\s+\w+\s*=|import\.meta/m.test(readFileSync(p, "utf8")));
    assert.deepEqual(bad, []);
  });
});
