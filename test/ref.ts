/**
 * Plain-number reference implementations (tf-ranking style): each loss of lib/losses in a few lines of
 * ordinary arithmetic over number[][] (float64), with -1 labels as padding. Tests compare the tfjs
 * losses with these for value and, by finite differences, for gradient.
 */

/** Plain-array counterparts of LossOptions. */
export interface RefOptions {
  hardNegativeMask?: number[][];
  missingWeight?: number;
  pairWeighting?: "uniform" | "gainDifference";
  sigma?: number;
  teacherScores?: number[][];
  temperature?: number;
}
export type RefLoss = (scores: number[][], labels: number[][], opts?: RefOptions) => number;

const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const logSumExp = (xs: number[]): number => { const m = Math.max(...xs); return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0)); };
const validIdx = (labels: number[]): number[] => labels.flatMap((y, i) => (y >= 0 ? [i] : []));
const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
/** Valid slot indices sorted by value descending, ties by position. */
const orderBy = (values: number[], labels: number[]): number[] => validIdx(labels).sort((a, b) => values[b] - values[a] || a - b);

export const refPointwiseBce: RefLoss = (s, y) => {
  const terms: number[] = [];
  s.forEach((row, b) => validIdx(y[b]).forEach((i) => terms.push(softplus(row[i]) - Math.min(y[b][i], 1) * row[i])));
  return mean(terms);
};

export const refRankNet: RefLoss = (s, y, o = {}) => {
  let num = 0, den = 0;
  s.forEach((row, b) => {
    for (const i of validIdx(y[b])) for (const j of validIdx(y[b])) {
      if (!(y[b][i] > y[b][j])) continue;
      let w = o.pairWeighting === "gainDifference" ? y[b][i] - y[b][j] : 1;
      if (o.hardNegativeMask && o.hardNegativeMask[b][j] > 0 && !(o.hardNegativeMask[b][i] > 0)) w *= o.missingWeight ?? 2;
      num += w * softplus(-(o.sigma ?? 1) * (row[i] - row[j]));
      den += w;
    }
  });
  return den > 0 ? num / den : 0;
};

export const refListNet: RefLoss = (s, y) => {
  const rows: number[] = [];
  s.forEach((row, b) => {
    const v = validIdx(y[b]), z = v.reduce((a, i) => a + y[b][i], 0);
    if (z <= 0) return;
    const lse = logSumExp(v.map((i) => row[i]));
    rows.push(-v.reduce((a, i) => a + (y[b][i] / z) * (row[i] - lse), 0));
  });
  return mean(rows);
};

export const refListMle: RefLoss = (s, y) => {
  const rows: number[] = [];
  s.forEach((row, b) => {
    const pi = orderBy(y[b], y[b]);
    if (!pi.length) return;
    rows.push(pi.reduce((a, i, k) => a + logSumExp(pi.slice(k).map((j) => row[j])) - row[i], 0));
  });
  return mean(rows);
};

export const refLambdaNdcg2: RefLoss = (s, y, o = {}) => {
  const rows: number[] = [];
  s.forEach((row, b) => {
    const gain = (i: number): number => 2 ** y[b][i] - 1;
    const maxDcg = orderBy(y[b], y[b]).reduce((a, i, k) => a + gain(i) / Math.log2(k + 2), 0);
    const rank: number[] = [];
    orderBy(row, y[b]).forEach((i, k) => (rank[i] = k + 1));
    let loss = 0, pairs = 0;
    for (const i of validIdx(y[b])) for (const j of validIdx(y[b])) {
      if (!(y[b][i] > y[b][j])) continue;
      const d = Math.abs(rank[i] - rank[j]);
      const delta = Math.abs(1 / Math.log2(1 + d) - 1 / Math.log2(2 + d));
      loss += delta * Math.abs(gain(i) - gain(j)) / maxDcg * softplus(-(o.sigma ?? 1) * (row[i] - row[j])) / Math.LN2;
      pairs++;
    }
    if (pairs) rows.push(loss);
  });
  return mean(rows);
};

export const refMarginMse: RefLoss = (s, y, o = {}) => {
  const t = o.teacherScores as number[][];
  const terms: number[] = [];
  s.forEach((row, b) => {
    const v = validIdx(y[b]);
    for (const i of v) for (const j of v) if (i < j) terms.push((row[i] - row[j] - (t[b][i] - t[b][j])) ** 2);
  });
  return mean(terms);
};

export const refKlDistill: RefLoss = (s, y, o = {}) => {
  const t = o.teacherScores as number[][], T = o.temperature ?? 1;
  const rows: number[] = [];
  s.forEach((row, b) => {
    const v = validIdx(y[b]);
    if (!v.length) return;
    const lp = logSumExp(v.map((i) => t[b][i] / T)), lq = logSumExp(v.map((i) => row[i] / T));
    rows.push(T * T * v.reduce((a, i) => { const logP = t[b][i] / T - lp; return a + Math.exp(logP) * (logP - (row[i] / T - lq)); }, 0));
  });
  return mean(rows);
};

/** The reference of each registered loss, by registry name. */
export const REFERENCE_LOSSES = {
  pointwiseBce: refPointwiseBce, rankNet: refRankNet, listNet: refListNet, listMle: refListMle,
  lambdaNdcg2: refLambdaNdcg2, marginMse: refMarginMse, klDistill: refKlDistill,
};
