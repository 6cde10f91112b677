/**
 * InferenceGraph (graph.ts) -> a TensorFlow.js graph model: `model.json` (format "graph-model", a
 * TensorFlow GraphDef in JSON form plus a weights manifest) and one weights file, the layout the
 * tfjs converter writes, so `tf.loadGraphModel` loads it in Node or a browser.
 *
 * Op spelling (TensorFlow names): index values are int32; Gather = GatherV2 axis 0; MatMul =
 * BatchMatMulV2 (broadcasting, adj_y for transB); ReduceMean / ReduceSum = Mean / Sum (keep_dims);
 * Unsqueeze = ExpandDims; SplitHeads = Reshape to concat(shape[0:2], [nh, -1]) + Transpose;
 * MergeHeads = Transpose + Reshape to concat(shape[0:2], [-1]); EqualFloat / GreaterFloat = Cast;
 * Tanh = 2 Sigmoid(2x) - 1 (the fast form of lib/models/kernels.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../core/errors";
import { freshNames, type GraphConst, type GraphNode, type InferenceGraph } from "./graph";

/** The weights file name written next to model.json. */
export const TFJS_WEIGHTS_FILE = "group1-shard1of1.bin";

type Attr = Record<string, unknown>;
interface TfNode { name: string; op: string; input?: string[]; attr?: Record<string, Attr> }

const DT = { float: "DT_FLOAT", index: "DT_INT32" } as const;
const shapeAttr = (dims: Array<number | string>) => ({ dim: dims.map((d) => ({ size: String(typeof d === "number" ? d : -1) })) });

/** What toTfjsGraph returns: model.json's object and the weights bytes. */
export interface TfjsGraphArtifacts {
  modelJson: Record<string, unknown>;
  weightData: Uint8Array;
}

/** Translate an InferenceGraph into a tfjs graph model (model.json object + weights bytes). */
export function toTfjsGraph(graph: InferenceGraph, options: { userDefinedMetadata?: Record<string, unknown> } = {}): TfjsGraphArtifacts {
  const consts: Array<Pick<GraphConst, "name" | "type" | "dims" | "values">> = [...graph.consts];
  const nodes: TfNode[] = [];
  const fresh = freshNames(graph);
  const intConst = (values: number[], dims: number[], hint: string): string => {
    const name = fresh(hint);
    consts.push({ name, type: "index", dims, values: Int32Array.from(values) });
    return name;
  };
  const scalar = (value: number): string => {
    const name = fresh("scalar");
    consts.push({ name, type: "float", dims: [], values: Float32Array.of(value) });
    return name;
  };
  const node = (op: string, input: string[], name: string, attr: Record<string, Attr> = {}): string => {
    nodes.push({ name, op, input, attr });
    return name;
  };
  const T = (dtype: "float" | "index" = "float") => ({ T: { type: DT[dtype] } });
  const bool = (b: boolean) => ({ b });
  /** concat(shape(x)[0:2], tail) as an int32 vector. */
  const leadingShape = (x: string, tail: number[], out: string): string => {
    const shape = node("Shape", [x], fresh(`${out}/shape`), { out_type: { type: "DT_INT32" } });
    const bt = node("StridedSlice", [shape, intConst([0], [1], "begin"), intConst([2], [1], "end"), intConst([1], [1], "strides")], fresh(`${out}/bt`), { Index: { type: "DT_INT32" } });
    return node("ConcatV2", [bt, intConst(tail, [tail.length], "tail"), intConst([0], [], "axis")], fresh(`${out}/target`), { N: { i: "2" } });
  };
  for (const n of graph.nodes) translate(n);
  function translate(n: GraphNode): void {
    const [a, b] = n.inputs, out = n.output;
    switch (n.op) {
      case "Gather": node("GatherV2", [a, b, intConst([0], [], "axis")], out, { batch_dims: { i: "0" } }); return;
      case "GatherAxis1": node("GatherV2", [a, b, intConst([1], [], "axis")], out, { batch_dims: { i: "0" } }); return;
      case "Add": node("AddV2", [a, b], out, T()); return;
      case "Sub": node("Sub", [a, b], out, T()); return;
      case "Mul": node("Mul", [a, b], out, T()); return;
      case "Div": node("RealDiv", [a, b], out, T()); return;
      case "Sqrt": node("Sqrt", [a], out, T()); return;
      case "Erf": node("Erf", [a], out, T()); return;
      case "Tanh": {
        // 2 sigmoid(2x) - 1: tfjs's wasm Tanh is scalar, its Sigmoid vectorised (lib/models/kernels.ts fastTanh)
        const s = node("Sigmoid", [node("Mul", [a, scalar(2)], fresh(`${out}/2x`), T())], fresh(`${out}/sigmoid`), T());
        node("Sub", [node("Mul", [s, scalar(2)], fresh(`${out}/2s`), T()), scalar(1)], out, T());
        return;
      }
      case "Softmax": node("Softmax", [a], out, T()); return;
      case "MatMul": node("BatchMatMulV2", [a, b], out, { adj_x: bool(false), adj_y: bool(n.attrs.transB === true), ...T() }); return;
      case "ReduceMean": node("Mean", [a, intConst([n.attrs.axis ?? -1], [1], "axes")], out, { keep_dims: bool(true) }); return;
      case "ReduceSum": node("Sum", [a, intConst([n.attrs.axis ?? -1], [1], "axes")], out, { keep_dims: bool(true) }); return;
      case "CastFloat": node("Cast", [a], out, { DstT: { type: "DT_FLOAT" } }); return;
      case "Unsqueeze": node("ExpandDims", [a, intConst([n.attrs.axis ?? 0], [], "axis")], out); return;
      case "Concat": node("ConcatV2", [...n.inputs, intConst([n.attrs.axis ?? -1], [], "axis")], out, { N: { i: String(n.inputs.length) } }); return;
      case "Transpose": node("Transpose", [a, intConst(n.attrs.perm ?? [], [(n.attrs.perm ?? []).length], "perm")], out); return;
      case "OnesLike": node("OnesLike", [a], out, { dtype: { type: "DT_INT32" } }); return;
      case "CumSum": node("Cumsum", [a, intConst([n.attrs.axis ?? 0], [], "axis")], out, { exclusive: bool(false), reverse: bool(false) }); return;
      case "Reshape": node("Reshape", [a, intConst(n.attrs.dims ?? [], [(n.attrs.dims ?? []).length], "shape")], out); return;
      case "EqualFloat": case "GreaterFloat":
        node("Cast", [node(n.op === "EqualFloat" ? "Equal" : "Greater", [a, b], fresh(`${out}/bool`))], out, { DstT: { type: "DT_FLOAT" } });
        return;
      case "SplitHeads": {
        const r = node("Reshape", [a, leadingShape(a, [n.attrs.heads ?? 1, -1], out)], fresh(`${out}/split`));
        node("Transpose", [r, intConst([0, 2, 1, 3], [4], "perm")], out);
        return;
      }
      case "MergeHeads": {
        const t = node("Transpose", [a, intConst([0, 2, 1, 3], [4], "perm")], fresh(`${out}/t`));
        node("Reshape", [t, leadingShape(t, [-1], out)], out);
        return;
      }
    }
    throw new ConfigError(`tfjs export: no translation for op ${(n as GraphNode).op}`);
  }
  const placeholders: TfNode[] = graph.inputs.map((i) => ({ name: i.name, op: "Placeholder", attr: { dtype: { type: DT[i.type] }, shape: { shape: shapeAttr(i.dims) } } }));
  const constNodes: TfNode[] = consts.map((c) => ({ name: c.name, op: "Const", attr: { value: { tensor: { dtype: DT[c.type], tensorShape: shapeAttr(c.dims) } }, dtype: { type: DT[c.type] } } }));
  const specs = consts.map((c) => ({ name: c.name, shape: c.dims, dtype: c.type === "float" ? "float32" : "int32" }));
  const total = consts.reduce((n, c) => n + c.values.length, 0);
  const buffer = new ArrayBuffer(total * 4);
  let offset = 0;
  for (const c of consts) {
    (c.type === "float" ? new Float32Array(buffer, offset * 4, c.values.length) : new Int32Array(buffer, offset * 4, c.values.length)).set(c.values);
    offset += c.values.length;
  }
  const modelJson = {
    format: "graph-model",
    generatedBy: `rradistill-workbench (tfjs ${tf.version.tfjs})`,
    convertedBy: "rradistill-workbench lib/export/tfjs-graph.ts",
    modelTopology: { node: [...placeholders, ...constNodes, ...nodes], library: {}, versions: { producer: 1286 } },
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: specs }],
    signature: {
      inputs: Object.fromEntries(graph.inputs.map((i) => [`${i.name}:0`, { name: `${i.name}:0`, dtype: DT[i.type], tensorShape: shapeAttr(i.dims) }])),
      outputs: { [`${graph.output.name}:0`]: { name: `${graph.output.name}:0`, dtype: "DT_FLOAT", tensorShape: shapeAttr(graph.output.dims) } },
    },
    userDefinedMetadata: options.userDefinedMetadata ?? {},
  };
  return { modelJson, weightData: new Uint8Array(buffer) };
}

/** Load a tfjs graph model from model.json's object and its weights bytes (no file or HTTP handler needed). */
export async function loadTfjsGraph(modelJson: Record<string, unknown>, weightData: Uint8Array): Promise<tf.GraphModel> {
  const manifest = modelJson.weightsManifest as Array<{ weights: tf.io.WeightsManifestEntry[] }>;
  const data = weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer;
  return tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: modelJson.modelTopology as tf.io.ModelArtifacts["modelTopology"],
    weightSpecs: manifest.flatMap((m) => m.weights),
    weightData: data,
    format: "graph-model",
    signature: modelJson.signature as object,
    userDefinedMetadata: modelJson.userDefinedMetadata as Record<string, unknown>,
  }));
}
