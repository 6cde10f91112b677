// Entry of a data-parallel training thread (parallel.ts): a worker thread does not inherit the TypeScript
// loader, so it registers tsx first and then runs parallel-worker.ts (the pattern of lib/serve/worker-entry.js).
require("tsx/cjs");
require("./parallel-worker.ts");
