/**
 * The peer a researcher would pick instead: PyTorch on the same CPU, run by scripts/bench-peer.py (Debian's
 * python3-torch) on the same encoder shapes as the bench's reference workload (batch x seq, same presets,
 * listwise softmax loss, Adam). `rra bench --peer` starts it once per preset in its `--serve` mode: the
 * script imports torch, builds the model and warms up once, then measures one round per request while
 * the bench measures its own engines between requests (interleave.ts), so a drifting load on a shared
 * machine hits both sides alike. The script waits on stdin between rounds and uses no CPU there.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "child_process";
import { existsSync } from "fs";
import { createInterface, type Interface } from "readline";
import { projectPath } from "../core/paths";

/** One preset measured by the PyTorch peer (medians over the interleaved rounds). */
export interface PeerResult {
  preset: string;
  batch: number;
  seq: number;
  /** torch intra-op threads and OpenBLAS threads the script ran with. */
  threads: number;
  blasThreads: number;
  torch: string;
  matmulGflops: number | null;
  /** Median over rounds of batch / median step time (each round: `steps` timed steps). */
  trainExamplesPerSec: number | null;
  /** Median over rounds of batch / median forward time. */
  inferPairsPerSec: number | null;
  flopsPerPairForward: number;
  /** Rounds measured. */
  rounds: number;
  /** The script's ready line (`ready`) and each round's line (`rounds`), as printed. */
  raw: Record<string, unknown>;
}

/** One round of the peer: throughputs at the reference shape. */
export interface PeerRound {
  trainExamplesPerSec: number;
  inferPairsPerSec: number;
  raw: Record<string, unknown>;
}

/** Python with torch: Debian's (the pyenv python3 on PATH has no torch). */
export const PEER_PYTHON = process.env.RRA_PEER_PYTHON ?? "/usr/bin/python3";

/** Why the peer cannot run here (no python, no torch), or null when it can. */
export function peerUnavailable(): string | null {
  if (!existsSync(PEER_PYTHON)) return `${PEER_PYTHON} not found (set RRA_PEER_PYTHON)`;
  const probe = spawnSync(PEER_PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
  if (probe.status !== 0) return `${PEER_PYTHON} has no torch (apt-get install python3-torch): ${(probe.stderr || "").trim().split("\n").pop()}`;
  return null;
}

/** What one peer process runs: a preset at batch x seq. */
export interface PeerOptions {
  preset: string;
  batch: number;
  seq: number;
  /** Untimed training steps and inference passes before the ready line. */
  warmup: number;
  seed: number;
  /** OpenBLAS threads (torch's own intra-op threads stay at 1: torch 1 + BLAS 2 was the fastest setting on 2 cores). */
  blasThreads: number;
  /** Time limit for the start (torch import, model, warm-up) and for each round, ms. Default 600000. */
  timeoutMs?: number;
}

/** A running peer: ask for rounds, then close. */
export interface PeerProcess {
  /** The ready line: torch version, params, FLOPs per pair, matMul GFLOP/s. */
  readonly ready: Record<string, unknown>;
  readonly options: Readonly<PeerOptions>;
  /** Time `steps` training steps and `steps` inference passes now. */
  round(steps: number): Promise<PeerRound>;
  /** Ask the script to stop and wait for it. */
  close(): Promise<void>;
}

/** A line-by-line reader of the child's stdout that fails with its stderr when it exits or times out. */
function lineReader(child: ChildProcessWithoutNullStreams, what: string): { next(timeoutMs: number): Promise<string>; close(): void } {
  const lines: string[] = [];
  let waiting: { resolve: (l: string) => void; reject: (e: Error) => void } | null = null;
  let stderr = "";
  let ended: Error | null = null;
  const rl: Interface = createInterface({ input: child.stdout });
  rl.on("line", (l) => {
    if (waiting) { const w = waiting; waiting = null; w.resolve(l); } else lines.push(l);
  });
  child.stderr.on("data", (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  child.on("close", (code, signal) => {
    ended = new Error(`${what} exited ${code ?? signal}: ${stderr.trim().split("\n").pop() ?? ""}`);
    if (waiting) { const w = waiting; waiting = null; w.reject(ended); }
  });
  child.on("error", (e) => {
    ended = new Error(`${what} did not start: ${e.message}`);
    if (waiting) { const w = waiting; waiting = null; w.reject(ended); }
  });
  return {
    next(timeoutMs) {
      const l = lines.shift();
      if (l !== undefined) return Promise.resolve(l);
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting = null;
          child.kill();
          reject(new Error(`${what}: no answer within ${timeoutMs / 1000} s`));
        }, timeoutMs);
        waiting = { resolve: (x) => { clearTimeout(timer); resolve(x); }, reject: (e) => { clearTimeout(timer); reject(e); } };
      });
    },
    close: () => rl.close(),
  };
}

function parseLine(line: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`${what}: expected a JSON line, got ${JSON.stringify(line.slice(0, 200))}`);
  }
}

/** Start scripts/bench-peer.py --serve for one preset and wait until it has warmed up. Rejects with the script's last stderr line. */
export async function startPeer(options: PeerOptions): Promise<PeerProcess> {
  const { preset, batch, seq, warmup, seed, blasThreads, timeoutMs = 600_000 } = options;
  const what = `scripts/bench-peer.py --preset ${preset}`;
  const args = [projectPath("scripts", "bench-peer.py"), "--serve", "--preset", preset, "--batch", String(batch), "--seq", String(seq),
    "--warmup", String(Math.max(warmup, 1)), "--threads", "1", "--blas-threads", String(blasThreads), "--seed", String(seed)];
  const child = spawn(PEER_PYTHON, args, { stdio: ["pipe", "pipe", "pipe"] });
  const reader = lineReader(child, what);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
      child.stdin.end("quit\n");
      const timer = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    }
    reader.close();
  };
  let ready: Record<string, unknown>;
  try {
    ready = parseLine(await reader.next(timeoutMs), what);
    if (ready.ready !== true) throw new Error(`${what}: expected a ready line first, got ${JSON.stringify(Object.keys(ready))}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    ready,
    options: Object.freeze({ ...options }),
    async round(steps) {
      child.stdin.write(`${JSON.stringify({ steps })}\n`);
      const raw = parseLine(await reader.next(timeoutMs), what) as { train?: { examples_per_s?: number }; infer?: { pairs_per_s?: number } };
      const train = raw.train?.examples_per_s, infer = raw.infer?.pairs_per_s;
      if (typeof train !== "number" || typeof infer !== "number") throw new Error(`${what}: a round line without train.examples_per_s and infer.pairs_per_s: ${JSON.stringify(raw).slice(0, 200)}`);
      return { trainExamplesPerSec: train, inferPairsPerSec: infer, raw };
    },
    close: stop,
  };
}
