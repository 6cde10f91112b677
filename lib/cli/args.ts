/** Command-line parsing on node's util.parseArgs, with errors that name the flag and the command. */
import { parseArgs } from "util";
import { ConfigError } from "../core/errors";

/** The option table of util.parseArgs. */
export type OptionSpec = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

/** A command of the `rra` CLI. */
export interface Command {
  name: string;
  summary: string;
  /** Full `--help` text. */
  help: string;
  run(argv: string[]): Promise<number>;
}

/** Flags and positional arguments of one command line. */
export interface ParsedFlags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parse argv strictly; unknown flags and missing values become ConfigError naming the command. */
export function parseFlags(command: string, argv: string[], options: OptionSpec, allowPositionals = false): ParsedFlags {
  try {
    const r = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals, strict: true });
    return { values: r.values as ParsedFlags["values"], positionals: r.positionals };
  } catch (e) {
    throw new ConfigError(`${(e as Error).message.replace(/\. To specify a positional.*$/s, "")} (see rra ${command} --help)`);
  }
}

/** A required string flag. */
export function required(command: string, values: Record<string, unknown>, flag: string): string {
  const v = values[flag];
  if (typeof v !== "string" || v === "") throw new ConfigError(`rra ${command}: --${flag} is required (see rra ${command} --help)`);
  return v;
}

/** A numeric flag with a default. */
export function numberFlag(command: string, values: Record<string, unknown>, flag: string, fallback: number): number {
  const v = values[flag];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) throw new ConfigError(`rra ${command}: --${flag} expects a number, got ${JSON.stringify(v)}`);
  return n;
}

/** An on|off flag: true, false, or undefined when absent; ConfigError naming the flag otherwise. */
export function onOffFlag(command: string, values: Record<string, unknown>, flag: string): boolean | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (v !== "on" && v !== "off") throw new ConfigError(`rra ${command}: --${flag} expects on or off, got ${JSON.stringify(v)}`);
  return v === "on";
}

/** A comma-separated list flag. */
export function listFlag(values: Record<string, unknown>, flag: string): string[] | undefined {
  const v = values[flag];
  return typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : undefined;
}
