#!/usr/bin/env node
// The `rra` command: runs the TypeScript sources of lib/ through tsx (no build step, never stale).
// An error thrown outside a command's promise (an event handler, a timer) still ends in one line and exit 1,
// not in a stack through the wasm backend's own handler (which exits 7 printing minified code).
const debug = process.argv.includes("--debug") || process.env.RRA_DEBUG === "1";
function crash(e) {
  const err = e instanceof Error ? e : new Error(String(e));
  const first = (err.message || "(no message)").split("\n").find((l) => l.trim() !== "") || "(no message)";
  process.stderr.write(`rra: unexpected ${err.name || "error"}: ${first.trim()}\n` + (debug ? `${err.stack}\n` : "(re-run with --debug for the stack)\n"));
  process.exit(1);
}
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);
// `npx rra ...` and `npm start` run us under `sh -c`, which does not pass SIGTERM on: when npm is told to
// stop, the shell dies and we would run on as an orphan (rra serve keeps its port). So a parent that goes
// away counts as SIGTERM: rra serve then shuts down as on the signal, every other command stops.
const parent = process.ppid;
if (parent > 1) {
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
  }, 500).unref();
}
require("tsx/cjs");
require("../lib/cli/main.ts")
  .main(process.argv.slice(2))
  .then((code) => { process.exitCode = code; }, crash);
