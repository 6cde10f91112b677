/**
 * Two gradient overrides that make training usable on the wasm and cpu backends (measured in
 * shared/notes/tfjs-on-this-machine.md, section 3.3; checked there against the stock gradients to 2.4e-7):
 * 1. GatherV2 (embedding lookup): the stock gradient calls UnsortedSegmentSum, which wasm lacks and
 *    cpu runs in O(rows) ops (51 s per call for a 1000-row table); scatterND sums duplicates alike in ms.
 * 2. Rank-2 BatchMatMul: the stock gradient uses transposeA/transposeB, a 10-25x slower path on wasm;
 *    explicit transposes then a plain matMul give the same values.
 */
import * as tf from "@tensorflow/tfjs";

// Our two gradient functions, to tell whether the registry still holds them.
let ours: { gather: unknown; matMul: unknown } | undefined;

/**
 * Register the overrides, or register them again when something replaced them: loading a second copy of
 * a tfjs bundle (danfo.js loads its own `@tensorflow/tfjs`) re-registers every stock gradient in the
 * shared registry. Cheap when nothing changed; `initBackend` calls it every time.
 */
export function installGradientOverrides(): void {
  if (ours && tf.getGradient("GatherV2")?.gradFunc === ours.gather && tf.getGradient("BatchMatMul")?.gradFunc === ours.matMul) return;
  const origGather = tf.getGradient("GatherV2");
  tf.registerGradient({
    kernelName: "GatherV2",
    inputsToSave: ["x", "indices"],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved;
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
      if (axis !== 0 || ((attrs.batchDims as number) || 0) !== 0) return origGather.gradFunc(dy, saved, attrs);
      return {
        x: () => tf.scatterND(tf.cast(tf.reshape(indices, [indices.size, 1]), "int32"),
          tf.reshape(dy as tf.Tensor, [indices.size, ...x.shape.slice(1)]), x.shape),
        indices: () => tf.zerosLike(indices),
      };
    },
  });
  const origMatMul = tf.getGradient("BatchMatMul");
  tf.registerGradient({
    kernelName: "BatchMatMul",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const d = dy as tf.Tensor;
      const T = tf.transpose;
      if (a.rank !== 2 || b.rank !== 2) return origMatMul.gradFunc(dy, saved, attrs);
      const { transposeA: ta, transposeB: tb } = attrs as { transposeA: boolean; transposeB: boolean };
      if (!ta && !tb) return { a: () => tf.matMul(d, T(b)), b: () => tf.matMul(T(a), d) };
      if (!ta && tb) return { a: () => tf.matMul(d, b), b: () => tf.matMul(T(d), a) };
      if (ta && !tb) return { a: () => tf.matMul(b, T(d)), b: () => tf.matMul(a, d) };
      return { a: () => tf.matMul(T(b), T(d)), b: () => tf.matMul(T(d), T(a)) };
    },
  });
  ours = { gather: tf.getGradient("GatherV2").gradFunc, matMul: tf.getGradient("BatchMatMul").gradFunc };
}
