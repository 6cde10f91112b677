/** The `rra` command line: one subcommand per workbench step, each with --help. */
import { readFileSync } from "fs";
import { projectPath } from "../core/paths";
import { RraError } from "../core/errors";
import type { Command } from "./args";
import { ablateCommand } from "./ablate-command";
import { studentsCommand } from "./students-command";
import { backendCommand } from "./backend-command";
import { compareCommand } from "./compare-command";
import { dataCommand } from "./data-command";
import { evalCommand } from "./eval-command";
import { labelCommand } from "./label-command";
import { notebooksCommand } from "./notebooks-command";
import { pullCommand } from "./pull-command";
import { benchCommand } from "./bench-command";
import { exportCommand } from "./export-command";
import { reproduceCommand } from "./reproduce-command";
import { rerankCommand } from "./rerank-command";
import { serveCommand } from "./serve-command";
import { statsCommand } from "./stats-command";
import { trainCommand } from "./train-command";

const COMMANDS: Command[] = [evalCommand, compareCommand, dataCommand, statsCommand, labelCommand, trainCommand, ablateCommand, studentsCommand, rerankCommand, pullCommand, exportCommand, serveCommand, benchCommand, backendCommand, notebooksCommand, reproduceCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "rra: the RRADistill workbench command line",
    "",
    "usage: rra <command> [options]     (rra <command> --help for its options)",
    "       rra --version | --help;  --debug (any command) prints the stack of an unexpected error",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "environment: RRA_DB (SQLite store path), RRA_DB_URL (postgres:// store, wins over RRA_DB), RRA_BACKEND (tensorflow|wasm|cpu), RRA_DATA_DIR,",
    "             RRA_DEBUG=1 (like --debug); rra pull: HF_TOKEN, HF_HOME, HF_HUB_OFFLINE, HF_ENDPOINT",
    "exit codes: 0 ok, 1 failure (a message names the file or value), 2 usage error",
  ].join("\n");
}

/** The workbench version (package.json). */
export function version(): string {
  return (JSON.parse(readFileSync(projectPath("package.json"), "utf8")) as { version: string }).version;
}

/**
 * One line for an error we did not anticipate (a bug, or a library's own error): its kind and the first
 * line of its message, plus how to see the stack. With `debug` the stack follows.
 */
export function unexpectedErrorText(prefix: string, e: unknown, debug: boolean): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const first = (err.message || "(no message)").split("\n").find((l) => l.trim() !== "")?.trim() ?? "(no message)";
  const line = `${prefix}: unexpected ${err.name || "error"}: ${first.length > 300 ? first.slice(0, 299) + "…" : first}`;
  return debug ? `${line}\n${err.stack ?? ""}` : `${line}\n(re-run with --debug for the stack; please report it if the message does not say what to fix)`;
}

/** True when `--debug` is among the arguments or RRA_DEBUG=1. */
export function debugRequested(argv: readonly string[]): boolean {
  return argv.includes("--debug") || process.env.RRA_DEBUG === "1";
}

/** Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). Never throws. */
export async function main(argv: string[]): Promise<number> {
  const debug = debugRequested(argv);
  const [name, ...rest] = argv.filter((a) => a !== "--debug");
  if (name === "--version" || name === "-V") {
    console.log(`rra ${version()}`);
    return 0;
  }
  if (!name || name === "--help" || name === "-h" || name === "help") {
    // bare `rra` is a usage error: the usage goes to stderr, so that `rra | cmd` gets nothing it would parse
    if (name) console.log(usage());
    else console.error(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`rra: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof RraError) {
      // messages thrown by the commands themselves already start with "rra <name>:"
      console.error(e.message.startsWith(`rra ${name}:`) ? e.message : `rra ${name}: ${e.message}`);
      if (debug && e.stack) console.error(e.stack);
      return e.name === "ConfigError" ? 2 : 1;
    }
    console.error(unexpectedErrorText(`rra ${name}`, e, debug));
    return 1;
  }
}
