/**
 * The RRADistill workbench library: the public entry for notebooks (`import * as rra from "./lib/index"`),
 * scripts and other packages. Re-exports only; every module documents itself.
 */
export * from "./core/errors";
export * from "./core/rng";
export * from "./core/hash";
export * from "./core/paths";
export * from "./core/provenance";
export * from "./backend/tf";
export * from "./data/types";
export * from "./data/trec";
export * from "./data/rankllm";
export * from "./data/noveleval";
export * from "./data/datasets";
export * from "./data/query-stats";
export * from "./data/summary";
export * from "./data/check";
export * from "./eval/types";
export * from "./eval/metrics";
export * from "./eval/evaluate";
export * from "./eval/significance";
export * from "./eval/compare";
export * from "./eval/tables";
export * from "./eval/baselines";
export * from "./store/index";
export * from "./plots/types";
export * from "./plots/palette";
export * from "./plots/query-lengths";
export * from "./plots/system-comparison";
export * from "./plots/metric-by-length";
export * from "./plots/per-query-delta";
export * from "./plots/html-table";
export * from "./plots/display";
export * from "./export/figures";
