/** The `rra` command line: one subcommand per workbench step, each with --help. */
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
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "environment: RRA_DB (SQLite store path), RRA_DB_URL (postgres:// store, wins over RRA_DB), RRA_BACKEND (tensorflow|wasm|cpu), RRA_DATA_DIR; rra pull: HF_TOKEN, HF_HOME, HF_HUB_OFFLINE, HF_ENDPOINT",
  ].join("\n");
}

/** Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
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
      return e.name === "ConfigError" ? 2 : 1;
    }
    throw e;
  }
}
