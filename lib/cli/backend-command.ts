/** `rra backend`: which TensorFlow.js backend this machine gets, and why. */
import * as tf from "@tensorflow/tfjs";
import { describeBackend, initBackend } from "../backend/tf";
import { provenance } from "../core/provenance";
import { parseFlags, type Command } from "./args";

const HELP = `rra backend [--backend NAME] [--json]

Start the best available TensorFlow.js backend (tensorflow via @tensorflow/tfjs-node-gpu or
@tensorflow/tfjs-node, else wasm with SIMD, else cpu), run a small matMul on it to prove it works, and
print what was chosen, what was skipped and why, and the versions recorded with every run.

Options:
  --backend NAME   force tensorflow, wasm or cpu (same as RRA_BACKEND=NAME)
  --json           print {backend, provenance}
  -h, --help       this text`;

/** The backend command. */
export const backendCommand: Command = {
  name: "backend",
  summary: "show the TensorFlow.js backend chosen on this machine (and versions)",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("backend", argv, { backend: { type: "string" }, json: { type: "boolean" } });
    if (values.help) { console.log(HELP); return 0; }
    const b = await initBackend({ backend: values.backend as string | undefined, quiet: true });
    const x = tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).sum());
    const check = (await x.data())[0];
    x.dispose();
    if (check !== 64 * 64 * 64) throw new Error(`backend ${b.name}: matMul check gave ${check}, expected ${64 ** 3}`);
    if (values.json) console.log(JSON.stringify({ backend: b, provenance: provenance() }, null, 1));
    else {
      const p = provenance();
      console.log(`backend: ${describeBackend(b)}`);
      console.log(`node ${p.node}; ${Object.entries(p.packages).map(([k, v]) => `${k} ${v}`).join(", ")}`);
      console.log(`machine: ${p.cpus} cores, ${p.memoryGiB} GiB; git ${p.gitSha ?? "(not a git checkout)"}${p.gitDirty ? " (uncommitted changes)" : ""}`);
    }
    return 0;
  },
};
