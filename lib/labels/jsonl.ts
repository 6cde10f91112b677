/** Labels as JSON lines: one line per (window, document) with the raw facts and the derived target. */
import { writeFileAtomic } from "../core/files";
import type { WindowRecord } from "../store/labels";
import { windowTargets } from "./convert";
import type { MissingPolicy } from "./parse";

/** Write `file` atomically; returns the number of lines. */
export function writeLabelsJsonl(file: string, windows: readonly WindowRecord[], policy: MissingPolicy): number {
  const lines: string[] = [];
  for (const w of windows) {
    const targets = new Map(windowTargets(w, policy).map((t) => [t.docid, t]));
    for (const f of w.facts) {
      const t = targets.get(f.docid);
      lines.push(JSON.stringify({
        qid: f.qid, docid: f.docid, window: w.windowId, positionShown: f.positionShown, teacherRank: f.teacherRank, missing: f.missing,
        policy, gain: t?.gain ?? null, rank: t?.rank ?? null, hardNegative: t?.hardNegative ?? false, flags: f.flags,
      }));
    }
  }
  writeFileAtomic(file, lines.join("\n") + (lines.length ? "\n" : ""));
  return lines.length;
}
