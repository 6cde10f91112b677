import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import { dirname, join, resolve } from "path";

/** Every .ts source under lib/: not declarations (.d.ts) and not the generated ones in dot folders (lib/.notebook-types). */
function libFiles(dir = "lib"): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name.startsWith(".")) return [];
    return statSync(p).isDirectory() ? libFiles(p) : p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
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
  it("has no circular imports between lib/ modules (tslab's loader overflows its stack on them)", () => {
    // Edges are the imports that survive compilation: not `import type`, not imports of types only.
    const edges = new Map<string, string[]>();
    for (const file of libFiles()) {
      const out: string[] = [];
      for (const m of readFileSync(file, "utf8").matchAll(/^(?:import|export)\s([^;]*?)\sfrom\s+"(\.{1,2}\/[^"]*)";/gms)) {
        const clause = m[1].trim();
        if (clause.startsWith("type ")) continue;
        const braces = /^\{([^}]*)\}$/.exec(clause);
        if (braces && braces[1].split(",").map((x) => x.trim()).filter(Boolean).every((x) => x.startsWith("type "))) continue;
        if (!m[2].endsWith(".json")) out.push(`${resolve(dirname(file), m[2])}.ts`);
      }
      edges.set(resolve(file), out);
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") { cycles.push([...path.slice(path.indexOf(f)), f].map((p) => p.replace(`${resolve("lib")}/`, "")).join(" -> ")); return; }
      state.set(f, "open");
      for (const g of edges.get(f) ?? []) visit(g, [...path, f]);
      state.set(f, "done");
    };
    for (const f of edges.keys()) visit(f, []);
    assert.deepEqual(cycles, []);
  });
  it("uses no syntax that tslab's TypeScript 5.0 or its CommonJS output rejects (using, import.meta)", () => {
    const bad = libFiles().filter((p) => /^\s*(await\s+)?using\s+\w+\s*=|import\.meta/m.test(readFileSync(p, "utf8")));
    assert.deepEqual(bad, []);
  });
});
