/**
 * Option checking for the tokenizer module: merge user overrides onto documented defaults, rejecting
 * unknown keys and wrong types with a ConfigError that names the offending key and value (STYLE 2.2).
 * A local stand-in until core/config.ts provides `resolveConfig`.
 */
import { ConfigError, show } from "../core/errors";

/** Merge `overrides` onto `defaults` (neither is mutated) and return a frozen copy; `where` prefixes errors. */
export function resolveOptions<T extends object>(defaults: Readonly<T>, overrides: Partial<T> | undefined, where: string): Readonly<T> {
  const out = { ...defaults } as Record<string, unknown>;
  const known = Object.keys(defaults);
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (!known.includes(key)) {
      throw new ConfigError(`${where}: unknown option ${show(key)}; expected one of ${known.join(", ")}`);
    }
    if (value === undefined) continue;
    const def = (defaults as Record<string, unknown>)[key];
    if (def !== undefined && def !== null && typeof def !== typeof value) {
      throw new ConfigError(`${where}: option ${key} must be a ${typeof def}, got ${show(value)}`);
    }
    out[key] = value;
  }
  return Object.freeze(out) as unknown as Readonly<T>;
}

/** Throw a ConfigError unless `value` is an integer >= `min`. */
export function checkInt(where: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${where}: ${name} must be an integer >= ${min}, got ${show(value)}`);
  }
}
