/** Plain records of the TCL inspection (lib/analysis/tcl-inspect.ts), shared with lib/plots/tcl.ts (tfjs-free). */

/** A query-passage pair to inspect; `label` names it in tables and figures. */
export interface InspectPair {
  query: string;
  passage: string;
  label?: string;
}

/** One inspected pair; every per-token array has one entry per real token (specials included, no padding). */
export interface PairInspection {
  label: string;
  query: string;
  passage: string;
  /** WordPiece strings, `[CLS] q [SEP] d [SEP]`. */
  tokens: string[];
  /** 0 = query side ([CLS] and the first [SEP] included), 1 = passage side. */
  side: number[];
  /** 1 where Token Selection picked the token (the TCL's input), else 0. */
  selected: number[];
  /** 1 at passage tokens whose whole word occurs in the query ("exact" selection), else 0. */
  matched: number[];
  /** idf of the selected token's word, 0 elsewhere. */
  idf: number[];
  /** TCL term weight w_i at every token (meaningful where selected); null for a model without TCL. */
  termWeights: number[] | null;
  /** Serving score s_cls (dropout off). */
  sCls: number;
  /** Term score t = sum(selected * idf * w) / norm; null without TCL. */
  t: number | null;
  /** s_cls + t; null without TCL. */
  sTcl: number | null;
  /** [CLS] attention to each token, mean over heads, per layer. [layers][tokens] */
  clsAttention: number[][];
  /** [CLS] attention to each token, mean over heads and layers. [tokens] */
  clsAttentionMean: number[];
  /** Share of the mean-layer [CLS] attention on matched passage tokens. */
  matchedShare: number;
  /** The same share per layer. */
  matchedSharePerLayer: number[];
  /** Matched passage tokens / real tokens: the share under uniform attention. */
  matchedFraction: number;
}

/** One row of compareAttention. */
export interface AttentionComparison {
  label: string;
  /** Share of [CLS] attention (mean over heads and layers) on matched passage tokens, model A. */
  shareA: number;
  /** The same for model B. */
  shareB: number;
  /** Matched passage tokens / real tokens (uniform attention), under model A's packing. */
  matchedFraction: number;
}
