#!/usr/bin/env node
// The `rra` command: runs the TypeScript sources of lib/ through tsx (no build step, never stale).
require("tsx/cjs");
require("../lib/cli/main.ts")
  .main(process.argv.slice(2))
  .then((code) => { process.exitCode = code; });
