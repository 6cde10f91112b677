/** `rra notebooks`: the CLI command object around lib/notebooks/cli.ts. */
import { notebooksCommand as runNotebooksCli } from "../notebooks/cli";
import type { Command } from "./args";

/** The notebooks command (run | strip | check). */
export const notebooksCommand: Command = {
  name: "notebooks",
  summary: "run every notebook headless in a real tslab kernel; strip or check outputs",
  help: "rra notebooks <run|strip|check> [FILES...] (rra notebooks --help)",
  run: (argv) => runNotebooksCli(argv.length === 0 ? ["--help"] : argv),
};
