#!/usr/bin/python3
"""A random BERT checkpoint of a real shape, for timing `rra train --init` (scripts/bench-warm-start.ts).

Uses the independent reference code of test/fixtures/hf-checkpoints.py (Hugging Face names and layouts,
written from the published architecture) at the sizes given, and writes config.json + model.safetensors
into OUT. The tokenizer files are written by the caller. Weights are random: this measures speed, not quality.

    /usr/bin/python3 scripts/bench-init-checkpoint.py OUT LAYERS HIDDEN HEADS FFN VOCAB POSITIONS
"""
import importlib.util
import json
import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("hf_checkpoints", os.path.join(here, "..", "test", "fixtures", "hf-checkpoints.py"))
fx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fx)

out, L, H, A, F, V, P = sys.argv[1], *map(int, sys.argv[2:8])
torch.manual_seed(1)
cfg = {
    "architectures": ["BertModel"], "model_type": "bert", "vocab_size": V, "hidden_size": H, "num_hidden_layers": L,
    "num_attention_heads": A, "intermediate_size": F, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1, "max_position_embeddings": P, "type_vocab_size": 2, "initializer_range": 0.02,
    "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
}
os.makedirs(out, exist_ok=True)
state = fx.bert_state(cfg)
# smaller weights than the fixture's (std 0.2), closer to a trained model's scale at this width
state = {k: (v * 0.1 if not k.endswith("LayerNorm.weight") else v) for k, v in state.items()}
fx.save_safetensors(os.path.join(out, "model.safetensors"), state, {"format": "pt"})
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=1)
print(json.dumps({"out": out, "params": sum(v.numel() for v in state.values())}))
