// Entry of rra serve's scoring thread: a worker thread does not inherit the TypeScript loader, so it
// registers tsx first and then runs score-worker.ts (see worker-scorer.ts).
require("tsx/cjs");
require("./score-worker.ts");
