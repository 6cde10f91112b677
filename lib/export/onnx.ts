/**
 * InferenceGraph (graph.ts) -> ONNX ModelProto bytes, IR version 8, default-domain opset 17 (ONNX
 * Runtime 1.14 and later load it). The protobuf messages are the subset of onnx/onnx.proto that a
 * model of dense ops needs, with onnx.proto's own field numbers, encoded by protobufjs.
 *
 * Op spelling: index values are int64; SplitHeads = Reshape [0, 0, nh, d] + Transpose [0, 2, 1, 3]
 * (ONNX Reshape's 0 copies the input's dimension); MergeHeads = Transpose + Reshape [0, 0, -1];
 * MatMul with transB = Transpose of the last two axes + MatMul; GatherAxis1 = Gather axis 1 with a
 * scalar index; OnesLike = ConstantOfShape(Shape(x)) of int64 1; EqualFloat / GreaterFloat = Cast(to float).
 */
import * as protobuf from "protobufjs";
import { ConfigError } from "../core/errors";
import { freshNames, type GraphConst, type GraphNode, type InferenceGraph } from "./graph";

/** ONNX IR version and opset written. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

const T_FLOAT = 1, T_INT64 = 7; // TensorProto.DataType
const A_FLOAT = 1, A_INT = 2, A_TENSOR = 4, A_INTS = 7; // AttributeProto.AttributeType

const ONNX_PROTO = {
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: {
          irVersion: { type: "int64", id: 1 }, opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
          producerName: { type: "string", id: 2 }, producerVersion: { type: "string", id: 3 }, domain: { type: "string", id: 4 },
          modelVersion: { type: "int64", id: 5 }, docString: { type: "string", id: 6 }, graph: { type: "GraphProto", id: 7 },
          metadataProps: { rule: "repeated", type: "StringStringEntryProto", id: 14 },
        } },
        OperatorSetIdProto: { fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } } },
        StringStringEntryProto: { fields: { key: { type: "string", id: 1 }, value: { type: "string", id: 2 } } },
        GraphProto: { fields: {
          node: { rule: "repeated", type: "NodeProto", id: 1 }, name: { type: "string", id: 2 },
          initializer: { rule: "repeated", type: "TensorProto", id: 5 }, docString: { type: "string", id: 10 },
          input: { rule: "repeated", type: "ValueInfoProto", id: 11 }, output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
        } },
        NodeProto: { fields: {
          input: { rule: "repeated", type: "string", id: 1 }, output: { rule: "repeated", type: "string", id: 2 },
          name: { type: "string", id: 3 }, opType: { type: "string", id: 4 }, attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
          domain: { type: "string", id: 7 },
        } },
        AttributeProto: { fields: {
          name: { type: "string", id: 1 }, f: { type: "float", id: 2 }, i: { type: "int64", id: 3 }, t: { type: "TensorProto", id: 5 },
          ints: { rule: "repeated", type: "int64", id: 8 }, type: { type: "int32", id: 20 },
        } },
        TensorProto: { fields: {
          dims: { rule: "repeated", type: "int64", id: 1 }, dataType: { type: "int32", id: 2 }, name: { type: "string", id: 8 }, rawData: { type: "bytes", id: 9 },
        } },
        ValueInfoProto: { fields: { name: { type: "string", id: 1 }, type: { type: "TypeProto", id: 2 } } },
        TypeProto: { fields: { tensorType: { type: "TypeProtoTensor", id: 1 } } },
        TypeProtoTensor: { fields: { elemType: { type: "int32", id: 1 }, shape: { type: "TensorShapeProto", id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: "repeated", type: "Dimension", id: 1 } } },
        Dimension: { fields: { dimValue: { type: "int64", id: 1 }, dimParam: { type: "string", id: 2 } }, oneofs: { value: { oneof: ["dimValue", "dimParam"] } } },
      },
    },
  },
};

let root: protobuf.Root | null = null;
function modelType(): protobuf.Type {
  root ??= protobuf.Root.fromJSON(ONNX_PROTO);
  return root.lookupType("onnx.ModelProto");
}

/** Raw little-endian bytes of a constant: float32, or int64 for index values. */
function tensorProto(c: Pick<GraphConst, "name" | "type" | "dims" | "values">): Record<string, unknown> {
  let raw: Uint8Array;
  if (c.type === "float") {
    const f = Float32Array.from(c.values);
    raw = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  } else {
    const v = BigInt64Array.from(Array.from(c.values, (x) => BigInt(x)));
    raw = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  }
  return { name: c.name, dims: c.dims, dataType: c.type === "float" ? T_FLOAT : T_INT64, rawData: raw };
}

const ints = (name: string, values: number[]) => ({ name, type: A_INTS, ints: values });
const int = (name: string, value: number) => ({ name, type: A_INT, i: value });

/** Translate one description node into ONNX nodes (extra constants go to `extra`). */
function onnxNodes(n: GraphNode, extra: Array<Record<string, unknown>>, fresh: (hint: string) => string): Array<Record<string, unknown>> {
  const node = (opType: string, input: string[], output: string, attribute: Array<Record<string, unknown>> = []) => ({ opType, input, output: [output], name: `${output}/${opType}`, attribute });
  const constInt64 = (values: number[], dims: number[], hint: string): string => {
    const name = fresh(hint);
    extra.push(tensorProto({ name, type: "index", dims, values: Int32Array.from(values) }));
    return name;
  };
  const [a, b] = n.inputs, out = n.output;
  switch (n.op) {
    case "Gather": return [node("Gather", [a, b], out, [int("axis", 0)])];
    case "GatherAxis1": return [node("Gather", [a, b], out, [int("axis", 1)])];
    case "Add": case "Sub": case "Mul": case "Div": case "Sqrt": case "Tanh": case "Erf": return [node(n.op, n.inputs, out)];
    case "Softmax": return [node("Softmax", [a], out, [int("axis", -1)])];
    case "ReduceMean": return [node("ReduceMean", [a], out, [ints("axes", [n.attrs.axis ?? -1]), int("keepdims", 1)])];
    case "ReduceSum": return [node("ReduceSum", [a, constInt64([n.attrs.axis ?? -1], [1], "axes")], out, [int("keepdims", 1)])];
    case "CastFloat": return [node("Cast", [a], out, [int("to", T_FLOAT)])];
    case "Unsqueeze": return [node("Unsqueeze", [a, constInt64([n.attrs.axis ?? 0], [1], "axes")], out)];
    case "Concat": return [node("Concat", n.inputs, out, [int("axis", n.attrs.axis ?? -1)])];
    case "Transpose": return [node("Transpose", [a], out, [ints("perm", n.attrs.perm ?? [])])];
    case "CumSum": return [node("CumSum", [a, constInt64([n.attrs.axis ?? 0], [], "axis")], out)];
    case "Reshape": return [node("Reshape", [a, constInt64(n.attrs.dims ?? [], [(n.attrs.dims ?? []).length], "shape")], out)];
    case "OnesLike": {
      const shape = fresh(`${out}_shape`);
      const value = { name: "value", type: A_TENSOR, t: tensorProto({ name: "value", type: "index", dims: [1], values: Int32Array.of(1) }) };
      return [node("Shape", [a], shape), node("ConstantOfShape", [shape], out, [value])];
    }
    case "EqualFloat": case "GreaterFloat": {
      const cmp = fresh(`${out}_bool`);
      return [node(n.op === "EqualFloat" ? "Equal" : "Greater", [a, b], cmp), node("Cast", [cmp], out, [int("to", T_FLOAT)])];
    }
    case "MatMul": {
      if (!n.attrs.transB) return [node("MatMul", [a, b], out)];
      const bt = fresh(`${out}_bT`);
      return [node("Transpose", [b], bt, [ints("perm", [0, 1, 3, 2])]), node("MatMul", [a, bt], out)];
    }
    case "SplitHeads": {
      const heads = n.attrs.heads ?? 1, r = fresh(`${out}_split`);
      return [node("Reshape", [a, constInt64([0, 0, heads, -1], [4], "heads_shape")], r), node("Transpose", [r], out, [ints("perm", [0, 2, 1, 3])])];
    }
    case "MergeHeads": {
      const t = fresh(`${out}_t`);
      return [node("Transpose", [a], t, [ints("perm", [0, 2, 1, 3])]), node("Reshape", [t, constInt64([0, 0, -1], [3], "merge_shape")], out)];
    }
  }
  throw new ConfigError(`onnx export: no translation for op ${(n as GraphNode).op}`);
}

/** Options of toOnnx. */
export interface OnnxOptions {
  producerVersion?: string;
  docString?: string;
  /** Key-value metadata stored in the model (model card summary, config). */
  metadata?: Record<string, string>;
}

/** Encode an InferenceGraph as ONNX ModelProto bytes. */
export function toOnnx(graph: InferenceGraph, options: OnnxOptions = {}): Uint8Array {
  const fresh = freshNames(graph);
  const extra: Array<Record<string, unknown>> = [];
  const nodes = graph.nodes.flatMap((n) => onnxNodes(n, extra, fresh));
  const dim = (d: number | string) => (typeof d === "number" ? { dimValue: d } : { dimParam: d });
  const valueInfo = (name: string, elemType: number, dims: Array<number | string>) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map(dim) } } } });
  const message = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "rradistill-workbench",
    producerVersion: options.producerVersion ?? "",
    docString: options.docString ?? "",
    graph: {
      name: graph.name,
      node: nodes,
      initializer: [...graph.consts.map(tensorProto), ...extra],
      input: graph.inputs.map((i) => valueInfo(i.name, i.type === "float" ? T_FLOAT : T_INT64, i.dims)),
      output: [valueInfo(graph.output.name, T_FLOAT, graph.output.dims)],
    },
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const type = modelType();
  const err = type.verify(message);
  if (err) throw new ConfigError(`onnx export: the ModelProto does not verify: ${err}`);
  return type.encode(type.fromObject(message)).finish();
}

/** Decode ModelProto bytes (for checks and tests): op types in order, initializer names, inputs, outputs, opset. */
export function readOnnxSummary(bytes: Uint8Array): { irVersion: number; opset: number; ops: string[]; initializers: string[]; inputs: string[]; outputs: string[]; metadata: Record<string, string> } {
  const m = modelType().toObject(modelType().decode(bytes), { longs: Number }) as {
    irVersion: number; opsetImport: Array<{ version: number }>; graph: { node: Array<{ opType: string }>; initializer: Array<{ name: string }>; input: Array<{ name: string }>; output: Array<{ name: string }> };
    metadataProps?: Array<{ key: string; value: string }>;
  };
  return {
    irVersion: m.irVersion, opset: m.opsetImport[0]?.version ?? 0, ops: m.graph.node.map((n) => n.opType),
    initializers: m.graph.initializer.map((i) => i.name), inputs: m.graph.input.map((i) => i.name), outputs: m.graph.output.map((o) => o.name),
    metadata: Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key, p.value])),
  };
}
