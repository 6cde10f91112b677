/**
 * A small inference-graph description that the two exporters translate: onnx.ts writes it as an ONNX
 * ModelProto, tfjs-graph.ts as a TensorFlow.js graph model (model.json + weights). The students'
 * inference paths (student-graph.ts) are written once against this builder, so both formats compute
 * the same thing by construction and differ only in op spelling.
 *
 * Values are named tensors of two element types: "float" (float32) and "index" (int64 in ONNX, where
 * Hugging Face cross-encoders take int64 inputs; int32 in TensorFlow.js, which has no int64). Only
 * static attributes appear (axes, permutations): shapes that depend on the batch and the sequence
 * length are never computed, so the graphs need no shape arithmetic in either format.
 */
import { ConfigError, show } from "../core/errors";

/** Element type of a graph value. */
export type ValueType = "float" | "index";

/** A graph input; dims are numbers or symbolic names ("batch", "sequence"). */
export interface GraphInput { name: string; type: ValueType; dims: Array<number | string> }

/** A constant (weights, scalars, axes). */
export interface GraphConst { name: string; type: ValueType; dims: number[]; values: Float32Array | Int32Array }

/**
 * Ops of the description, each with numpy broadcasting where it applies:
 *   Gather(table, ids) axis 0 | GatherAxis1(x, scalar index) | Add Sub Mul Div | Sqrt Tanh Erf
 *   MatMul(a, b) [.., M, K] x [.., K, N] (transB: b is [.., N, K]) | Softmax (last axis)
 *   ReduceMean / ReduceSum (one axis, kept) | CastFloat | Unsqueeze(axis) | Concat(axis) | Transpose(perm)
 *   OnesLike (index) | CumSum(axis) | EqualFloat GreaterFloat (a float 0/1 of the comparison) | Reshape(static dims, -1 allowed)
 *   SplitHeads(nh) [B, T, H] -> [B, nh, T, H / nh] | MergeHeads [B, nh, T, d] -> [B, T, nh * d]
 */
export type OpType =
  | "Gather" | "GatherAxis1" | "Add" | "Sub" | "Mul" | "Div" | "Sqrt" | "Tanh" | "Erf" | "MatMul" | "Softmax"
  | "ReduceMean" | "ReduceSum" | "CastFloat" | "Unsqueeze" | "Concat" | "Transpose" | "OnesLike" | "CumSum"
  | "EqualFloat" | "GreaterFloat" | "Reshape" | "SplitHeads" | "MergeHeads";

/** One node: op, input value names, one output value name, static attributes. */
export interface GraphNode { op: OpType; inputs: string[]; output: string; attrs: { axis?: number; perm?: number[]; dims?: number[]; transB?: boolean; heads?: number } }

/** A whole graph. */
export interface InferenceGraph {
  name: string;
  inputs: GraphInput[];
  consts: GraphConst[];
  nodes: GraphNode[];
  /** The output value and its dims. */
  output: { name: string; dims: Array<number | string> };
}

/** Builds an InferenceGraph with unique value names; each op method returns its output's name. */
export class GraphBuilder {
  private readonly graph: InferenceGraph;
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(name: string) {
    this.graph = { name, inputs: [], consts: [], nodes: [], output: { name: "", dims: [] } };
  }

  private fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  input(name: string, type: ValueType, dims: Array<number | string>): string {
    if (this.names.has(name)) throw new ConfigError(`graph ${this.graph.name}: input ${show(name)} defined twice`);
    this.names.add(name);
    this.graph.inputs.push({ name, type, dims });
    return name;
  }

  /** A float constant (a weight when dims are given, else a scalar). */
  weight(name: string, values: Float32Array, dims: number[]): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new ConfigError(`graph ${this.graph.name}: constant ${show(name)} has ${values.length} values for dims [${dims}]`);
    const n = this.fresh(name);
    this.graph.consts.push({ name: n, type: "float", dims, values });
    return n;
  }

  scalar(value: number, hint = "scalar"): string {
    return this.weight(hint, Float32Array.of(value), []);
  }

  indexConst(values: number[], dims: number[], hint = "index"): string {
    const n = this.fresh(hint);
    this.graph.consts.push({ name: n, type: "index", dims, values: Int32Array.from(values) });
    return n;
  }

  op(op: OpType, inputs: string[], attrs: GraphNode["attrs"] = {}, hint?: string): string {
    for (const i of inputs) if (!this.names.has(i)) throw new ConfigError(`graph ${this.graph.name}: ${op} reads ${show(i)}, which no input, constant or node defines`);
    const output = this.fresh(hint ?? op.toLowerCase());
    this.graph.nodes.push({ op, inputs, output, attrs });
    return output;
  }

  add(a: string, b: string, hint?: string): string { return this.op("Add", [a, b], {}, hint); }
  sub(a: string, b: string, hint?: string): string { return this.op("Sub", [a, b], {}, hint); }
  mul(a: string, b: string, hint?: string): string { return this.op("Mul", [a, b], {}, hint); }
  div(a: string, b: string, hint?: string): string { return this.op("Div", [a, b], {}, hint); }
  matMul(a: string, b: string, transB = false, hint?: string): string { return this.op("MatMul", [a, b], { transB }, hint); }

  finish(output: string, dims: Array<number | string>): InferenceGraph {
    if (!this.names.has(output)) throw new ConfigError(`graph ${this.graph.name}: output ${show(output)} is not defined`);
    this.graph.output = { name: output, dims };
    return this.graph;
  }
}

/**
 * A generator of value names unused in `graph` (for the extra values an emitter adds when one op of the
 * description becomes several ops of the target format): `hint`, else `hint_1`, `hint_2`, ...
 */
export function freshNames(graph: InferenceGraph): (hint: string) => string {
  const used = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.consts.map((c) => c.name), ...graph.nodes.map((n) => n.output)]);
  let k = 0;
  return (hint) => {
    let name = hint;
    while (used.has(name)) name = `${hint}_${++k}`;
    used.add(name);
    return name;
  };
}
