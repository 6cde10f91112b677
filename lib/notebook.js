/**
 * The notebooks' entry: `import * as rra from "./lib/notebook"` (notebooks/lib links to lib/).
 *
 * tslab type-checks and compiles with its own TypeScript every local .ts file a cell imports; through
 * lib/index.ts that was all of lib/, 14-28 s in every new kernel. This file is plain JavaScript beside
 * lib/notebook.d.ts, so tslab reads the declarations (lib/.notebook-types, written from lib/ by tslab's own
 * TypeScript; lib/notebooks/types.ts) and compiles nothing of lib/, while the code is lib/index.ts itself,
 * run through tsx as the rra command runs it. The declarations are rewritten first when lib/ changed.
 */
"use strict";
// The heavy packages lib/index.ts loads anyway, loaded before tsx is registered: tsx turns Node's source
// maps on (for lib/'s stack traces) and then reading tfjs's own maps alone costs about half a second.
require("@tensorflow/tfjs");
require("kysely");
require("tsx/cjs");
const types = require("./notebooks/types.ts").ensureNotebookTypes({ log: (line) => console.log(line) });
if (types.written) {
  console.log("notebook types: cells sent before this one finished (Run All) were checked against the old ones; " +
    "if one says something of rra is missing or of another type, run it again (npm run notebook rewrites them as a kernel starts)");
} else if (types.errors.length) {
  console.log(`notebook types: lib/ has type errors (npm run typecheck): ${types.errors[0]}${types.errors.length > 1 ? ` (and ${types.errors.length - 1} more)` : ""}`);
}
module.exports = require("./index.ts");
