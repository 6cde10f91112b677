/** Run the `rra` CLI in this process (main()) or as a child process (bin/rra.js), capturing its output. */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { main } from "../../lib/cli/main";

/** The project folder. */
export const ROOT = resolve(__dirname, "..", "..");

/** What one CLI call printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `main(argv)` with console.log/error and process.stdout/stderr writes captured. */
export async function runCli(argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { log: console.log, error: console.error, warn: console.warn, out: process.stdout.write, err: process.stderr.write };
  console.log = (...a: unknown[]) => { out.push(a.map(String).join(" ") + "\n"); };
  console.error = console.warn = (...a: unknown[]) => { err.push(a.map(String).join(" ") + "\n"); };
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    Object.assign(console, { log: saved.log, error: saved.error, warn: saved.warn });
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}

/** `node bin/rra.js ...argv` as a child process (for exit codes and crashes main() cannot show). */
export function spawnCli(argv: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [resolve(ROOT, "bin", "rra.js"), ...argv], {
    cwd: options.cwd ?? ROOT, encoding: "utf8", env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
