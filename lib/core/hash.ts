/** Content hashes for run ids, cache keys and data fingerprints. */
import { createHash } from "crypto";

/** Hex SHA-256 of a string or buffer. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** JSON with object keys sorted, so that equal values always hash alike. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/** First 8 hex digits of the SHA-256 of a value's stable JSON: `runId = name-hash8(config)`. */
export function hash8(value: unknown): string {
  return sha256(stableStringify(value)).slice(0, 8);
}
