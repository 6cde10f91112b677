/**
 * Preloaded into the tslab kernels that `npm run notebook` starts (scripts/notebook.sh sets
 * NODE_OPTIONS=--require <this file>): before a kernel type-checks its first cell, the notebooks'
 * declarations of lib/ are brought up to date (lib/notebooks/types.ts), so that a kernel restarted after
 * an edit of lib/ checks every cell against lib/ as edited. The import cell would do it too, but cells
 * already queued behind it (Run All) would then be checked against the old declarations. Node processes
 * other than tslab kernels skip it, and the kernel's own child processes do not inherit it.
 */
"use strict";
const PRELOAD = /\s*--require[= ](?:"[^"]*|\S*)[\\/]lib[\\/]notebooks[\\/]preflight\.js"?/g;
if (process.env.NODE_OPTIONS) process.env.NODE_OPTIONS = process.env.NODE_OPTIONS.replace(PRELOAD, "").trim();
if (/tslab/.test(process.argv[1] || "") && process.argv.includes("kernel")) {
  try {
    const { require: tsxRequire } = require("tsx/cjs/api");
    tsxRequire("./types.ts", __filename).ensureNotebookTypes({ log: (line) => process.stderr.write(`${line}\n`) });
  } catch (e) {
    process.stderr.write(`notebook types: ${e.message} (the import cell tries again)\n`); // never keep the kernel from starting
  }
}
