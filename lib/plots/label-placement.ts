/**
 * Point labels that do not overlap: each label goes to the first of a ring of offsets around its point
 * (near first, then farther, with a leader line) where its box overlaps no other label, no marker and
 * stays inside the plot area. Pure: pixel positions in, offsets and boxes out, so it is testable without a
 * browser; the figure builders turn the offsets into plotly annotations (ax, ay).
 */

/** A point to label, in pixels of the plot area (origin top left, y down). */
export interface LabelPoint {
  px: number;
  py: number;
  text: string;
}

/** An axis-aligned box in pixels. */
export interface Box {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** Where a label went: its offset from the point (plotly annotation ax, ay) and its box. */
export interface PlacedLabel {
  dx: number;
  dy: number;
  box: Box;
  /** False when no candidate was free and the least crowded one was taken. */
  free: boolean;
}

/** Options of placeLabels. */
export interface PlacementOptions {
  /** Plot area in pixels. */
  width: number;
  height: number;
  /** Label font size in px (box width is estimated at 0.6 em per character). Default 11. */
  fontSize?: number;
  /** Marker size in px (the box kept free around each point). Default 12. */
  markerSize?: number;
}

/** True when two boxes share any area (touching edges do not count). */
export function boxesOverlap(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

function overlapArea(a: Box, b: Box): number {
  return Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
}

/** The box of a label whose centre is at (cx, cy). */
export function labelBox(text: string, cx: number, cy: number, fontSize = 11): Box {
  const w = text.length * fontSize * 0.6 + 4;
  const h = fontSize * 1.3;
  return { left: cx - w / 2, right: cx + w / 2, top: cy - h / 2, bottom: cy + h / 2 };
}

/** Candidate directions (unit-ish, y down), right side first as labels read rightwards. */
const DIRECTIONS: ReadonlyArray<readonly [number, number]> = [[1, -0.6], [1, 0.6], [1, 0], [-1, -0.6], [-1, 0.6], [-1, 0], [0, -1], [0, 1], [1, -1.4], [1, 1.4], [-1, -1.4], [-1, 1.4]];
const DISTANCES = [1, 1.8, 2.8, 4];

/** Place one label per point (in the given order, each avoiding the ones before it and every marker). */
export function placeLabels(points: readonly LabelPoint[], options: PlacementOptions): PlacedLabel[] {
  const { width, height, fontSize = 11, markerSize = 12 } = options;
  const half = markerSize / 2 + 1;
  const markers: Box[] = points.map((p) => ({ left: p.px - half, right: p.px + half, top: p.py - half, bottom: p.py + half }));
  const placed: PlacedLabel[] = [];
  points.forEach((p) => {
    const size = labelBox(p.text, 0, 0, fontSize);
    const w = size.right - size.left;
    const h = size.bottom - size.top;
    let best: PlacedLabel | null = null;
    let bestCost = Infinity;
    for (const dist of DISTANCES) {
      for (const [ux, uy] of DIRECTIONS) {
        // the label's near edge sits `gap` pixels from the marker in the chosen direction
        const gap = (markerSize / 2 + 4) * dist;
        const cx = p.px + ux * (gap + w / 2);
        const cy = p.py + uy * (gap + (ux === 0 ? h / 2 : 0));
        const box = labelBox(p.text, cx, cy, fontSize);
        const inside = box.left >= 0 && box.top >= 0 && box.right <= width && box.bottom <= height;
        let cost = inside ? 0 : 1e6;
        for (const m of markers) cost += overlapArea(box, m) * 10;
        for (const other of placed) cost += overlapArea(box, other.box) * 10;
        cost += dist; // nearer is better among free places
        if (cost < bestCost) {
          bestCost = cost;
          best = { dx: Math.round(cx - p.px), dy: Math.round(cy - p.py), box, free: cost < 10 };
        }
      }
      if (best && best.free) break;
    }
    placed.push(best as PlacedLabel);
  });
  return placed;
}
