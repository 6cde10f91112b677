#!/usr/bin/python3
"""PyTorch peer reference for the RRA-BERT encoder (lib/models/encoder.ts).

Builds the same architecture as lib/models/encoder.ts (same variable names and shapes, pre/post LN,
fused QKV, GELU tanh form, additive padding mask, [CLS] -> tanh pooler -> linear head) and measures,
on this machine's CPU:
  * matMul 1024x1024x1024 float32 GFLOP/s (median after warm-up),
  * training examples/s (Adam lr 1e-3, listwise softmax cross-entropy over groups of --group rows),
  * inference pairs/s (torch.inference_mode, eval mode: no dropout),
  * analytic forward FLOPs per pair.
Prints one JSON object on stdout; with --serve, one line when ready and then one per round asked for on
stdin (rra bench --peer interleaves these rounds with its own measurements).

Run with Debian's torch:  /usr/bin/python3 scripts/bench-peer.py --preset small --threads 2
(apt-get install -y python3-torch; torch 1.13.1 linked against libopenblas0-pthread).

FLOPs per pair, forward (T tokens, H hidden, F ffn, L layers; a multiply-add = 2 FLOPs):
  per layer:  dense  2*T*(H*3H + H*H + H*F + F*H) = 2*T*(4*H^2 + 2*H*F)
              attention  q k^T: 2*T*T*H  +  probs v: 2*T*T*H  = 4*T^2*H   (summed over heads, nh*d = H)
  head:       pooler 2*H*H + score 2*H (the [CLS] row only)
  total   =   L*(2*T*(4*H^2 + 2*H*F) + 4*T^2*H) + 2*H^2 + 2*H
Embedding gathers, layer norms, softmax, GELU, bias adds and the loss are not counted (elementwise).
A training step is counted as 3x the forward FLOPs (backward = 2x forward).

Threads: --threads sets torch.set_num_threads and OMP_NUM_THREADS; --blas-threads sets OPENBLAS_NUM_THREADS
(default = --threads). On the 2-core VM, OMP 2 + OpenBLAS 2 oversubscribes and trains slower than 1 thread;
OMP 1 + OpenBLAS 2 (--threads 1 --blas-threads 2) was the fastest small-preset setting measured.

Parity check: --check DIR loads a directory written by Encoder.save() (lib/models/encoder.ts) plus a
DIR/parity.json of inputs and tfjs scores, and prints the largest score difference.
"""
import argparse
import json
import os
import statistics
import sys
import time

# Parse args before importing torch: the thread count must be fixed in the environment first, because
# Debian's torch is built with BLAS_INFO=generic and so torch.set_num_threads() does not reach OpenBLAS's
# own pthread pool (OpenBLAS reads OPENBLAS_NUM_THREADS when it loads).
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are deliberately left unset.

# Sizes copied by hand from lib/models/presets.ts (MODEL_PRESETS). "base" is NOT in presets.ts: it is
# BERT-base's shape (12 layers, 768 wide, 12 heads, FFN 3072, 512 positions), offered for comparison only.
PRESETS = {
    "tiny": dict(numLayers=2, hiddenSize=64, numHeads=2, ffnSize=256, maxLen=128),    # presets.ts: tiny
    "small": dict(numLayers=2, hiddenSize=128, numHeads=4, ffnSize=512, maxLen=512),  # presets.ts: small
    # presets.ts: the sizes of google/bert_uncased_L-4_H-256_A-4 and of a 6-layer MiniLM-H384
    # (cross-encoder/ms-marco-MiniLM-L-6-v2), from their config.json
    "bert-l4-h256": dict(numLayers=4, hiddenSize=256, numHeads=4, ffnSize=1024, maxLen=512),
    "minilm-l6-h384": dict(numLayers=6, hiddenSize=384, numHeads=12, ffnSize=1536, maxLen=512),
    "base": dict(numLayers=12, hiddenSize=768, numHeads=12, ffnSize=3072, maxLen=512),  # not in presets.ts
}
# Defaults of lib/models/presets.ts ENCODER_DEFAULTS and lib/train/config.ts (vocabSize 8000, dropout 0.1).
DEFAULTS = dict(vocabSize=8000, typeVocabSize=2, dropout=0.1, layerNorm="pre", layerNormEps=1e-6, initStd=0.02)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--batch", type=int, default=32, help="rows per step (default 32)")
    p.add_argument("--seq", type=int, default=64, help="tokens per row (default 64)")
    p.add_argument("--steps", type=int, default=20, help="timed steps/iterations per measurement (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps (default 3)")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads: torch.set_num_threads + OPENBLAS/OMP_NUM_THREADS")
    p.add_argument("--blas-threads", type=int, default=None, help="OPENBLAS_NUM_THREADS (default: --threads)")
    p.add_argument("--group", type=int, default=20, help="rows per listwise group (default 20, lib/train/config.ts groupSize)")
    p.add_argument("--vocab", type=int, default=DEFAULTS["vocabSize"])
    p.add_argument("--layer-norm", choices=["pre", "post"], default=DEFAULTS["layerNorm"])
    p.add_argument("--dropout", type=float, default=DEFAULTS["dropout"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--matmul-size", type=int, default=1024)
    p.add_argument("--check", metavar="DIR", help="parity check instead of benchmarks: load a saved encoder directory "
                   "(config.json, weights.json, weights.bin from Encoder.save) plus DIR/parity.json {B, T, inputIds, "
                   "tokenTypeIds, attentionMask, scores} and compare this model's eval-mode scores with the tfjs ones")
    p.add_argument("--skip", default="", help="comma list of parts to skip: matmul,train,infer")
    p.add_argument("--serve", action="store_true", help="measure in rounds asked for on stdin (one JSON line "
                   "{\"steps\": n} per round, one JSON line back; see serve()) after printing {\"ready\": true, ...}")
    a = p.parse_args(argv)
    if a.seq > PRESETS[a.preset]["maxLen"]:
        p.error(f"--seq {a.seq} exceeds maxLen {PRESETS[a.preset]['maxLen']} of preset {a.preset}")
    return a


ARGS = parse_args(sys.argv[1:])
os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads if ARGS.blas_threads is None else ARGS.blas_threads)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def variable_shapes(c):
    """Same names, order and shapes as encoderVariableShapes() in lib/models/encoder.ts."""
    H, Fd = c["hiddenSize"], c["ffnSize"]
    out = [("embeddings/word", [c["vocabSize"], H]), ("embeddings/position", [c["maxLen"], H]),
           ("embeddings/segment", [c["typeVocabSize"], H]), ("embeddings/ln/gamma", [H]), ("embeddings/ln/beta", [H])]
    for l in range(c["numLayers"]):
        p = f"layer{l}"
        out += [(f"{p}/attn/qkv/kernel", [H, 3 * H]), (f"{p}/attn/qkv/bias", [3 * H]),
                (f"{p}/attn/out/kernel", [H, H]), (f"{p}/attn/out/bias", [H]),
                (f"{p}/ln1/gamma", [H]), (f"{p}/ln1/beta", [H]),
                (f"{p}/ffn/in/kernel", [H, Fd]), (f"{p}/ffn/in/bias", [Fd]),
                (f"{p}/ffn/out/kernel", [Fd, H]), (f"{p}/ffn/out/bias", [H]),
                (f"{p}/ln2/gamma", [H]), (f"{p}/ln2/beta", [H])]
    if c["layerNorm"] == "pre":
        out += [("final/ln/gamma", [H]), ("final/ln/beta", [H])]
    out += [("pooler/kernel", [H, H]), ("pooler/bias", [H]), ("head/kernel", [H, 1]), ("head/bias", [1])]
    return out


class Encoder(nn.Module):
    """encoder.ts createEncoder(): kernels are [in, out] (x @ W + b), as in the tfjs code."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.shapes = variable_shapes(c)
        self.params = nn.ParameterDict()
        for name, shape in self.shapes:
            t = torch.empty(shape)
            if name.endswith("/gamma"):
                nn.init.ones_(t)
            elif name.endswith("/beta") or name.endswith("/bias"):
                nn.init.zeros_(t)
            else:  # tf.truncatedNormal: re-drawn beyond 2 std
                std = c["initStd"]
                nn.init.trunc_normal_(t, 0.0, std, -2 * std, 2 * std)
            self.params[name.replace("/", "__")] = nn.Parameter(t)

    def v(self, name):
        return self.params[name.replace("/", "__")]

    def dense(self, x, name):
        return torch.addmm(self.v(f"{name}/bias"), x, self.v(f"{name}/kernel"))

    def ln(self, x, name):
        H = self.c["hiddenSize"]
        return F.layer_norm(x, (H,), self.v(f"{name}/gamma"), self.v(f"{name}/beta"), self.c["layerNormEps"])

    def forward(self, ids, types, mask):
        c = self.c
        B, T = ids.shape
        H, nh = c["hiddenSize"], c["numHeads"]
        dh = H // nh
        p_drop = c["dropout"] if self.training else 0.0
        drop = (lambda x: F.dropout(x, p_drop, True)) if p_drop > 0 else (lambda x: x)
        x = F.embedding(ids, self.v("embeddings/word")) + self.v("embeddings/position")[:T] + F.embedding(types, self.v("embeddings/segment"))
        x = drop(self.ln(x.reshape(B * T, H), "embeddings/ln"))
        key_mask = ((1.0 - mask.float()) * -1e9).reshape(B, 1, 1, T)

        def heads(t):
            return t.reshape(B, T, nh, dh).permute(0, 2, 1, 3)

        def attention(h, p):
            q, k, val = self.dense(h, f"{p}/attn/qkv").split(H, dim=1)
            logits = torch.matmul(heads(q), heads(k).transpose(-1, -2)) * (1.0 / dh ** 0.5) + key_mask
            probs = torch.softmax(logits, dim=-1)
            ctx = torch.matmul(drop(probs), heads(val))  # [B, nh, T, dh]
            return self.dense(ctx.permute(0, 2, 1, 3).reshape(B * T, H), f"{p}/attn/out")

        def ffn(h, p):  # GELU tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            return self.dense(F.gelu(self.dense(h, f"{p}/ffn/in"), approximate="tanh"), f"{p}/ffn/out")

        for l in range(c["numLayers"]):
            p = f"layer{l}"
            if c["layerNorm"] == "pre":
                x = x + drop(attention(self.ln(x, f"{p}/ln1"), p))
                x = x + drop(ffn(self.ln(x, f"{p}/ln2"), p))
            else:
                x = self.ln(x + drop(attention(x, p)), f"{p}/ln1")
                x = self.ln(x + drop(ffn(x, p)), f"{p}/ln2")
        if c["layerNorm"] == "pre":
            x = self.ln(x, "final/ln")
        cls = x.reshape(B, T, H)[:, 0, :]
        return self.dense(torch.tanh(self.dense(cls, "pooler")), "head").reshape(-1)  # [B]


def listwise_softmax_ce(scores, group):
    """Softmax cross-entropy over consecutive groups of `group` rows, positive = first row of each group
    (lib/losses/listwise.ts listNet with a one-hot target). A last partial group is padded with -1e9."""
    B = scores.shape[0]
    n = -(-B // group)
    padded = torch.cat([scores, scores.new_full((n * group - B,), -1e9)]) if n * group > B else scores
    logits = padded.reshape(n, group)
    return F.cross_entropy(logits, torch.zeros(n, dtype=torch.long))


def forward_flops(c, T):
    H, Fd, L = c["hiddenSize"], c["ffnSize"], c["numLayers"]
    return L * (2 * T * (4 * H * H + 2 * H * Fd) + 4 * T * T * H) + 2 * H * H + 2 * H


def timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        t1, c1 = time.perf_counter(), time.process_time()
        wall.append(t1 - t0)
        cpu.append(c1 - c0)
    return wall, sum(cpu) / sum(wall)


def check_parity(d):
    """Load an Encoder.save() directory into this model (names and shapes must match exactly) and compare scores."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    c = {k: cfg[k] for k in ("vocabSize", "typeVocabSize", "dropout", "layerNorm", "layerNormEps", "initStd",
                             "numLayers", "hiddenSize", "numHeads", "ffnSize", "maxLen")}
    model = Encoder(c)
    man = json.load(open(os.path.join(d, "weights.json")))
    raw = torch.frombuffer(bytearray(open(os.path.join(d, "weights.bin"), "rb").read()), dtype=torch.float32)
    mine = dict(model.shapes)
    saved = {w["name"]: w for w in man["weights"]}
    if set(saved) != set(mine):
        raise SystemExit(f"variable names differ: only saved {sorted(set(saved) - set(mine))}, only here {sorted(set(mine) - set(saved))}")
    with torch.no_grad():
        for name, w in saved.items():
            if list(w["shape"]) != mine[name]:
                raise SystemExit(f"{name}: saved shape {w['shape']}, here {mine[name]}")
            model.v(name).copy_(raw[w["offset"]:w["offset"] + w["length"]].reshape(w["shape"]))
    par = json.load(open(os.path.join(d, "parity.json")))
    B, T = par["B"], par["T"]
    t = lambda k: torch.tensor(par[k], dtype=torch.long).reshape(B, T)
    model.eval()
    with torch.inference_mode():
        got = model(t("inputIds"), t("tokenTypeIds"), t("attentionMask"))
    want = torch.tensor(par["scores"])
    print(json.dumps({"check": d, "layerNorm": c["layerNorm"], "variables": len(saved),
                      "params": sum(p.numel() for p in model.parameters()), "params_tfjs": par.get("params"),
                      "max_abs_diff": float((got - want).abs().max()), "torch": [round(x, 5) for x in got.tolist()],
                      "tfjs": [round(x, 5) for x in par["scores"]]}))


def build(a):
    """The model, a fixed seeded batch and the record's static fields; train_step() and infer() run one step each."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    c = dict(DEFAULTS, **PRESETS[a.preset], vocabSize=a.vocab, layerNorm=a.layer_norm, dropout=a.dropout)
    B, T = a.batch, a.seq
    out = {
        "preset": a.preset, "config": c, "batch": B, "seq": T, "steps": a.steps, "warmup": a.warmup,
        "torch": torch.__version__, "threads_requested": a.threads, "torch_num_threads": torch.get_num_threads(),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "loadavg_start": os.getloadavg(),
    }
    model = Encoder(c)
    out["params"] = sum(p.numel() for p in model.parameters())
    g = torch.Generator().manual_seed(a.seed + 1)
    ids = torch.randint(0, c["vocabSize"], (B, T), generator=g)
    ids[:, 0] = 2  # a [CLS]-like id in every row
    types = torch.zeros(B, T, dtype=torch.long)
    types[:, T // 4:] = 1  # query segment, then passage segment
    mask = torch.ones(B, T, dtype=torch.long)
    out["flops_per_pair_forward"] = forward_flops(c, T)
    out["flop_formula"] = "L*(2*T*(4*H^2+2*H*F) + 4*T^2*H) + 2*H^2 + 2*H; train step = 3x forward"
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=True)
        loss = listwise_softmax_ce(model(ids, types, mask), a.group)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    def infer():
        model.eval()
        with torch.inference_mode():
            model(ids, types, mask)

    return out, train_step, infer, losses


def measure_matmul(a):
    n = a.matmul_size
    x, y = torch.randn(n, n), torch.randn(n, n)
    wall, util = timed(lambda: torch.mm(x, y), max(a.steps, 10), 3)
    med = statistics.median(wall)
    return {"n": n, "median_ms": round(med * 1e3, 2), "min_ms": round(min(wall) * 1e3, 2),
            "gflops": round(2 * n ** 3 / med / 1e9, 1), "cpu_util": round(util, 2)}


def train_record(wall, util, B, fl, c, group, losses):
    med = statistics.median(wall)
    return {"loss": f"listwise softmax CE, groups of {group} rows (last partial group padded), one-hot target",
            "optimizer": "Adam lr 1e-3", "dropout": c["dropout"], "steps": len(wall),
            "median_ms_per_step": round(med * 1e3, 1), "min_ms": round(min(wall) * 1e3, 1),
            "examples_per_s": round(B / med, 1), "gflops_effective": round(3 * fl * B / med / 1e9, 2),
            "cpu_util": round(util, 2), "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4)}


def infer_record(wall, util, B, fl):
    med = statistics.median(wall)
    return {"passes": len(wall), "median_ms_per_batch": round(med * 1e3, 2), "min_ms": round(min(wall) * 1e3, 2),
            "pairs_per_s": round(B / med, 1), "gflops_effective": round(fl * B / med / 1e9, 2),
            "cpu_util": round(util, 2)}


def serve(a, out, train_step, infer, losses):
    """--serve: warm up once, print {"ready": true, ...}, then per stdin line {"steps": n} run one untimed step,
    time n training steps, one untimed pass, time n inference passes, and print one JSON line; an empty line, "quit" or end of input stops. The caller measures
    its own engine between two lines, so both sides see the same load (rra bench --peer)."""
    B, fl, c = a.batch, out["flops_per_pair_forward"], out["config"]
    for _ in range(a.warmup):
        train_step()
        infer()
    print(json.dumps(dict(out, ready=True)), flush=True)
    rounds = 0
    for line in sys.stdin:
        line = line.strip()
        if line in ("", "quit"):
            break
        steps = int(json.loads(line)["steps"])
        if steps < 1:
            raise SystemExit(f"--serve: steps must be >= 1, got {steps}")
        del losses[:]
        # one untimed step and pass first, as the caller does on its side: after the caller's turn the
        # OpenBLAS threads have gone to sleep and the caches hold the other process's data
        wall, util = timed(train_step, steps, 1)
        tr = train_record(wall, util, B, fl, c, a.group, losses)
        wall, util = timed(infer, steps, 1)
        rounds += 1
        print(json.dumps({"round": rounds, "train": tr, "infer": infer_record(wall, util, B, fl),
                          "loadavg": os.getloadavg()}), flush=True)


def main():
    a = ARGS
    if a.check:
        return check_parity(a.check)
    skip = set(filter(None, a.skip.split(",")))
    out, train_step, infer, losses = build(a)
    if "matmul" not in skip:
        out["matmul"] = measure_matmul(a)
    if a.serve:
        return serve(a, out, train_step, infer, losses)
    B, fl, c = a.batch, out["flops_per_pair_forward"], out["config"]
    if "train" not in skip:
        wall, util = timed(train_step, a.steps, a.warmup)
        out["train"] = train_record(wall, util, B, fl, c, a.group, losses)
    if "infer" not in skip:
        wall, util = timed(infer, a.steps, a.warmup)
        out["infer"] = infer_record(wall, util, B, fl)
    out["loadavg_end"] = os.getloadavg()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
