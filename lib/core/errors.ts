/**
 * Typed errors. Every message says where (file, line, field), what was expected and what was found,
 * so that a researcher can fix the input without reading our code.
 */
import { inspect } from "util";

/** Base class of every error the workbench throws on purpose. */
export class RraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }

  /**
   * How console.error and util.inspect show it (a notebook kernel prints a failed cell's error this way):
   * the message and a one-line hint; the stack only when RRA_STACK=1. The message already says what to fix.
   */
  [inspect.custom](): string {
    if (process.env.RRA_STACK === "1") return this.stack ?? `${this.name}: ${this.message}`;
    return `${this.name}: ${this.message}\n(the stack is hidden: set process.env.RRA_STACK = "1" and re-run to see it)`;
  }
}

/** Where in an input a problem was found. `line` is 1-based; `field` names a column or a JSON path. */
export interface DataLocation {
  file: string;
  line?: number;
  field?: string;
}

/** Malformed or inconsistent input data. */
export class DataError extends RraError {
  readonly file: string;
  readonly line?: number;
  readonly field?: string;
  readonly expected: string;
  readonly got: string;

  constructor(where: DataLocation, expected: string, got: string, hint?: string) {
    const loc = where.file + (where.line !== undefined ? `:${where.line}` : "") + (where.field ? ` (${where.field})` : "");
    super(`${loc}: expected ${expected}, got ${got}` + (hint ? `. ${hint}` : ""));
    this.file = where.file;
    this.line = where.line;
    this.field = where.field;
    this.expected = expected;
    this.got = got;
  }
}

/** A configuration value (option, flag, environment variable) that is unknown or of the wrong kind. */
export class ConfigError extends RraError {}

/** A model that cannot be used as it is: an unfinished training folder, scores that are not finite. */
export class ModelError extends RraError {}

/** Tensor or array shapes that do not fit together. */
export class ShapeError extends RraError {}

/** Shorten a value for an error message: quoted, at most `max` characters. */
export function show(value: unknown, max = 60): string {
  const s = typeof value === "string" ? JSON.stringify(value) : String(value);
  return s.length > max ? s.slice(0, max - 1) + "…\"" : s;
}

/** A teacher could not answer (network, HTTP status, timeout, a window never logged). `category` groups them. */
export class TeacherError extends RraError {
  constructor(message: string, readonly category: "network" | "http" | "timeout" | "not-logged" | "protocol" | "config") {
    super(message);
  }
}

/**
 * Long work stopped by an interrupt (SIGINT: Jupyter's Interrupt) at a point where everything stored is
 * consistent; the message says what was kept and how to go on (core/interrupt.ts).
 */
export class InterruptedError extends RraError {}
