/**
 * Interleaved measurement against a peer (tfjs-free): per preset and shape, open both sides once (build,
 * warm up), then run rounds ours, peer, ours, peer, ... so that a load that drifts over minutes on a shared
 * machine hits both sides of each round alike; computePeerRatios pairs each round's values.
 */
import { median } from "./stats";
import type { PeerRatio } from "./types";

/** A preset at a reference shape: what one ratio compares. */
export interface PeerShape {
  preset: string;
  batch: number;
  seq: number;
}

/** One of our measurements in a round. */
export interface OursSample {
  metric: "train" | "infer";
  /** tfjs-<backend> or onnxruntime-cpu. */
  engine: string;
  /** examples/s (train) or pairs/s (infer). */
  value: number;
}

/** The peer's measurement in a round. */
export interface PeerSample {
  /** examples/s */
  train: number;
  /** pairs/s */
  infer: number;
}

/** A side set up for one shape: measure a round (0-based), then close. */
export interface OpenSide<S> {
  measure(round: number): Promise<S>;
  close(): Promise<void> | void;
}

/** How to set up each side for a shape (build the model, start the peer process, warm up). */
export interface InterleaveSides {
  ours(shape: PeerShape): Promise<OpenSide<OursSample[]>>;
  peer(shape: PeerShape): Promise<OpenSide<PeerSample>>;
}

/** What one round measured. */
export interface RoundRecord {
  shape: PeerShape;
  round: number;
  ours: OursSample[];
  peer: PeerSample;
}

/** Options of measureInterleaved. */
export interface InterleaveOptions {
  /** Called before each measurement, e.g. to log and to stop on an interrupt. */
  before?: (what: { shape: PeerShape; round: number; side: "ours" | "peer" }) => Promise<void> | void;
  /** Called after each round with what it measured. */
  after?: (record: RoundRecord) => void;
  /** Errors to pass up instead of recording the shape as failed (an interrupt). Default none. */
  rethrow?: (e: unknown) => boolean;
}

/**
 * For each shape in order: open ours, open the peer, then `rounds` rounds of ours.measure(r) followed by
 * peer.measure(r); both sides are closed before the next shape. A shape whose side fails to open or
 * measure is left out (its rounds so far are dropped) and named in `failed`.
 */
export async function measureInterleaved(shapes: readonly PeerShape[], rounds: number, sides: InterleaveSides, options: InterleaveOptions = {}): Promise<{ records: RoundRecord[]; failed: Array<{ shape: PeerShape; reason: string }> }> {
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`measureInterleaved: rounds must be an integer >= 1, got ${rounds}`);
  const records: RoundRecord[] = [];
  const failed: Array<{ shape: PeerShape; reason: string }> = [];
  for (const shape of shapes) {
    let ours: OpenSide<OursSample[]> | undefined;
    let peer: OpenSide<PeerSample> | undefined;
    const mine: RoundRecord[] = [];
    try {
      ours = await sides.ours(shape);
      peer = await sides.peer(shape);
      for (let round = 0; round < rounds; round++) {
        await options.before?.({ shape, round, side: "ours" });
        const o = await ours.measure(round);
        await options.before?.({ shape, round, side: "peer" });
        const p = await peer.measure(round);
        const record = { shape, round, ours: o, peer: p };
        mine.push(record);
        options.after?.(record);
      }
      records.push(...mine);
    } catch (e) {
      if (options.rethrow?.(e)) throw e;
      failed.push({ shape, reason: (e instanceof Error ? e.message : String(e)).split("\n")[0] });
    } finally {
      await peer?.close();
      await ours?.close();
    }
  }
  return { records, failed };
}

/**
 * Ratios ours / peer per shape, metric and engine, over the rounds in order; `ratio` is the median of the
 * per-round ratios (each pairs two measurements taken back to back). Non-positive peer values give no ratio.
 */
export function computePeerRatios(records: readonly RoundRecord[]): PeerRatio[] {
  const out: PeerRatio[] = [];
  const find = (r: RoundRecord, o: OursSample) => out.find((x) => x.preset === r.shape.preset && x.batch === r.shape.batch && x.seq === r.shape.seq && x.metric === o.metric && x.engine === o.engine);
  for (const r of records) {
    for (const o of r.ours) {
      const peer = o.metric === "train" ? r.peer.train : r.peer.infer;
      if (!(peer > 0)) continue;
      let row = find(r, o);
      if (!row) {
        row = { ...r.shape, metric: o.metric, engine: o.engine, unit: o.metric === "train" ? "examples/s" : "pairs/s", ours: [], peer: [], ratios: [], ratio: NaN };
        out.push(row);
      }
      row.ours.push(o.value);
      row.peer.push(peer);
      row.ratios.push(o.value / peer);
    }
  }
  for (const row of out) row.ratio = median(row.ratios);
  return out;
}
