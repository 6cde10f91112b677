/**
 * The peer a researcher would pick instead: PyTorch on the same CPU, run by scripts/bench-peer.py (Debian's
 * python3-torch) on the same encoder shapes as the bench's reference workload (batch x seq, same presets,
 * listwise softmax loss, Adam), so `rra bench --peer` shows both side by side in one run. The script
 * prints one JSON object per preset; a machine without python3-torch gets the reason instead.
 */
import { spawnSync } from "child_process";
import { existsSync } from "fs";
import { projectPath } from "../core/paths";
import type { BenchConfig } from "./config";

/** One preset measured by the PyTorch peer. */
export interface PeerResult {
  preset: string;
  batch: number;
  seq: number;
  /** torch intra-op threads and OpenBLAS threads the script ran with. */
  threads: number;
  blasThreads: number;
  torch: string;
  matmulGflops: number | null;
  trainExamplesPerSec: number | null;
  inferPairsPerSec: number | null;
  flopsPerPairForward: number;
  /** The script's whole JSON output. */
  raw: Record<string, unknown>;
}

/** Python with torch: Debian's (the pyenv python3 on PATH has no torch). */
export const PEER_PYTHON = process.env.RRA_PEER_PYTHON ?? "/usr/bin/python3";

/**
 * Run the peer for each preset. Threads: torch 1 + OpenBLAS = the cores, the fastest setting measured
 * on a 2-core machine (torch 2 + OpenBLAS 2 oversubscribes). Returns results, or a reason per failure.
 */
export function runPeer(config: Pick<BenchConfig, "presets" | "batch" | "seq" | "steps" | "warmup" | "seed">, cores: number): { results: PeerResult[]; skipped: Array<{ what: string; reason: string }> } {
  const script = projectPath("scripts", "bench-peer.py");
  const results: PeerResult[] = [], skipped: Array<{ what: string; reason: string }> = [];
  if (!existsSync(PEER_PYTHON)) return { results, skipped: [{ what: "pytorch peer", reason: `${PEER_PYTHON} not found (set RRA_PEER_PYTHON)` }] };
  const probe = spawnSync(PEER_PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.status !== 0) return { results, skipped: [{ what: "pytorch peer", reason: `${PEER_PYTHON} has no torch (apt-get install python3-torch): ${(probe.stderr || "").trim().split("\n").pop()}` }] };
  const blasThreads = Math.max(1, cores);
  for (const preset of config.presets) {
    const args = [script, "--preset", preset, "--batch", String(config.batch), "--seq", String(config.seq), "--steps", String(Math.max(config.steps, 3)),
      "--warmup", String(Math.max(config.warmup, 1)), "--threads", "1", "--blas-threads", String(blasThreads), "--seed", String(config.seed)];
    const r = spawnSync(PEER_PYTHON, args, { encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) {
      skipped.push({ what: `pytorch peer ${preset}`, reason: `scripts/bench-peer.py exited ${r.status}: ${(r.stderr || "").trim().split("\n").pop()}` });
      continue;
    }
    const raw = JSON.parse(r.stdout.trim().split("\n").pop() as string) as Record<string, unknown> & {
      torch: string; flops_per_pair_forward: number; matmul?: { gflops: number }; train?: { examples_per_s: number }; infer?: { pairs_per_s: number };
    };
    results.push({
      preset, batch: config.batch, seq: config.seq, threads: 1, blasThreads, torch: raw.torch, matmulGflops: raw.matmul?.gflops ?? null,
      trainExamplesPerSec: raw.train?.examples_per_s ?? null, inferPairsPerSec: raw.infer?.pairs_per_s ?? null, flopsPerPairForward: raw.flops_per_pair_forward, raw,
    });
  }
  return { results, skipped };
}
