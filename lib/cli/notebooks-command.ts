/** `rra notebooks`: the CLI command object around lib/notebooks/cli.ts. */
import { notebooksCommand as runNotebooksCli } from "../notebooks/cli";
import type { Command } from "./args";

/** The notebooks command (run | strip | check | types). */
export const notebooksCommand: Command = {
  name: "notebooks",
  summary: "run every notebook headless in a real tslab kernel; strip or check outputs; write their types",
  help: "rra notebooks <run|strip|check|types> [FILES...] (rra notebooks --help)",
  run: (argv) => runNotebooksCli(argv.length === 0 ? ["--help"] : argv),
};
