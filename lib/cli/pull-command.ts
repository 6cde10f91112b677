/** `rra pull REPO[@REVISION]`: a model folder from the Hugging Face hub into the standard cache. */
import { parseRepoRef } from "../hub/cache";
import { pullModel } from "../hub/pull";
import { parseFlags, type Command } from "./args";
import { ConfigError } from "../core/errors";

const HELP = `rra pull ORG/NAME[@REVISION] [options]

Download a model from the Hugging Face hub into its standard cache (HF_HOME, default
~/.cache/huggingface/hub/models--ORG--NAME/snapshots/SHA/) and print the snapshot folder. Fetches
config.json, one set of weights (model.safetensors, else pytorch_model.bin, or their shards) and the
tokenizer files; resumes partial downloads; checks every file's size and hash against the hub.
Use the folder (or hf:ORG/NAME) with rra rerank --model and, for students, --init.

Options:
  --all            every file of the repository
  --cache-dir DIR  cache folder (default: HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)
  --json           print the result as JSON
  --quiet          no progress bar
  -h, --help       this text

Environment: HF_TOKEN (gated models; never stored or printed), HF_HUB_OFFLINE=1 (cache only),
HF_ENDPOINT (another hub URL). Without network: the message says how to place the files by hand.

Examples:
  rra pull google/bert_uncased_L-4_H-256_A-4
  rra pull cross-encoder/ms-marco-MiniLM-L-6-v2 && rra rerank --model hf:cross-encoder/ms-marco-MiniLM-L-6-v2 --input FILE --out RUN
  rra pull gpt2@main --json`;

/** The pull command. */
export const pullCommand: Command = {
  name: "pull",
  summary: "download a Hugging Face model folder into the hub cache (resumable, hash-checked)",
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseFlags("pull", argv, { all: { type: "boolean" }, "cache-dir": { type: "string" }, json: { type: "boolean" }, quiet: { type: "boolean" } }, true);
    if (values.help) { console.log(HELP); return 0; }
    if (positionals.length !== 1) throw new ConfigError(`rra pull: expected one ORG/NAME[@REVISION], got ${positionals.length ? positionals.join(" ") : "none"} (see rra pull --help)`);
    const ref = parseRepoRef(positionals[0]);
    const r = await pullModel(ref, { all: values.all === true, cacheDir: values["cache-dir"] as string | undefined, quiet: values.quiet === true || values.json === true });
    if (values.json) console.log(JSON.stringify(r, null, 1));
    else {
      const got = r.files.filter((f) => f.status !== "cached");
      console.error(`[pull] ${r.repo}@${r.revision} = ${r.sha}: ${r.fromCache ? "from the cache" : `${got.length} file(s) downloaded (${got.filter((f) => f.status === "resumed").length} resumed), ${r.files.length - got.length} cached`}`);
      console.log(r.dir);
    }
    return 0;
  },
};
