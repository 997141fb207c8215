"""Generates the llama package's fixtures: tiny random models of each family
(config.json + safetensors) and, from the independent PyTorch reference
(reference.py), the rewards or per-token log-probs they must give.

Run from this directory with Debian's torch: /usr/bin/python3 gen_fixtures.py
Each case directory gets config.json, model.safetensors (or two shards and an
index) and expected.json: {"seqs", "rewards" | "logprobs", and for BF16
weights also "*_bf16": transformers-style bfloat16 compute}. The float32
values are computed in float32 on the stored (possibly BF16-rounded)
weights, which is what the Go package computes."""

import json
import os

import torch

import reference as ref

SMALL_VOCAB = 512
QWEN_VOCAB = 151936  # the real Qwen2/Qwen3 vocabulary size


def base(model_type, arch, **kw):
    cfg = {
        "model_type": model_type, "architectures": [arch],
        "vocab_size": SMALL_VOCAB, "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
        "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
        "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float32",
        "bos_token_id": 1, "eos_token_id": 2,
    }
    if arch.endswith("ForSequenceClassification"):
        cfg["num_labels"] = 1
    cfg.update(kw)
    return cfg


CASES = [
    # Llama 3 reward model: llama3 rope scaling with bands that matter at
    # head_dim 16 and these lengths; untied; pad id set, a sequence ends
    # in pad tokens (read before them).
    ("llama_rm_f32", base("llama", "LlamaForSequenceClassification", pad_token_id=3,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 256}),
     "float32", {}),
    # Qwen2 reward model: q/k/v biases, tied embeddings, BF16 weights.
    ("qwen2_rm_bf16", base("qwen2", "Qwen2ForSequenceClassification", pad_token_id=3,
        tie_word_embeddings=True, rope_theta=1000000.0), "bfloat16", {}),
    # Qwen3 reward model: head_dim 32 != 64/4, q/k norms, no pad id (last token).
    ("qwen3_rm_f32", base("qwen3", "Qwen3ForSequenceClassification", head_dim=32,
        pad_token_id=None, tie_word_embeddings=True, rope_theta=1000000.0), "float32", {}),
    ("qwen3_rm_bf16", base("qwen3", "Qwen3ForSequenceClassification", head_dim=32,
        pad_token_id=3, rope_theta=1000000.0), "bfloat16", {}),
    # Mistral causal LM: sliding window 8, untied, two shards + index.
    ("mistral_lm_f32", base("mistral", "MistralForCausalLM", sliding_window=8, head_dim=None),
     "float32", {"shards": 2}),
    # Llama causal LM with tied embeddings and linear rope scaling, BF16.
    ("llama_lm_bf16", base("llama", "LlamaForCausalLM", tie_word_embeddings=True,
        rope_scaling={"type": "linear", "factor": 2.0}), "bfloat16", {}),
    # Qwen3 causal LM at the real vocabulary size (tiny body so the file
    # stays ~2.4 MB): the LM head runs over the full 151936-wide vocabulary.
    ("qwen3_lm_realvocab_bf16", base("qwen3", "Qwen3ForCausalLM", vocab_size=QWEN_VOCAB,
        hidden_size=8, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
        head_dim=4, intermediate_size=16, tie_word_embeddings=True, rope_theta=1000000.0),
     "bfloat16", {"lengths": [1, 2, 9, 33]}),
]

LENGTHS = [1, 5, 37, 130, 150, 64]


def random_weights(cfg, g):
    d = ref.family_defaults(cfg)
    h, hd, I = cfg["hidden_size"], d["head_dim"], cfg["intermediate_size"]
    qd, kvd = cfg["num_attention_heads"] * hd, d["kv_heads"] * hd
    mt = cfg["model_type"]

    def mat(r, c, std):
        return torch.randn(r, c, generator=g) * std

    def vec(n, mean, std):
        return mean + torch.randn(n, generator=g) * std

    W = {"model.embed_tokens.weight": mat(cfg["vocab_size"], h, 1.0),
         "model.norm.weight": vec(h, 1.0, 0.1)}
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        W[p + "input_layernorm.weight"] = vec(h, 1.0, 0.1)
        W[p + "post_attention_layernorm.weight"] = vec(h, 1.0, 0.1)
        for name, r, c in [("q_proj", qd, h), ("k_proj", kvd, h), ("v_proj", kvd, h), ("o_proj", h, qd)]:
            W[p + "self_attn." + name + ".weight"] = mat(r, c, c ** -0.5)
        if mt == "qwen2":
            for name, r in [("q_proj", qd), ("k_proj", kvd), ("v_proj", kvd)]:
                W[p + "self_attn." + name + ".bias"] = vec(r, 0.0, 0.5)
        if d["qk_norm"]:
            W[p + "self_attn.q_norm.weight"] = vec(hd, 1.0, 0.2)
            W[p + "self_attn.k_norm.weight"] = vec(hd, 1.0, 0.2)
        W[p + "mlp.gate_proj.weight"] = mat(I, h, h ** -0.5)
        W[p + "mlp.up_proj.weight"] = mat(I, h, h ** -0.5)
        W[p + "mlp.down_proj.weight"] = mat(h, I, I ** -0.5)
    arch = cfg["architectures"][0]
    if arch.endswith("ForSequenceClassification"):
        W["score.weight"] = mat(1, h, 1.0)
    elif not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = mat(cfg["vocab_size"], h, h ** -0.5)
    return W


def sequences(cfg, g, lengths):
    V = cfg["vocab_size"]
    seqs = [torch.randint(0, V, (n,), generator=g).tolist() for n in lengths]
    pad = cfg.get("pad_token_id")
    if pad is not None:
        seqs = [[t if t != pad else pad + 1 for t in s] for s in seqs]
        seqs[2][-2:] = [pad, pad]  # trailing pad ids: read before them
        seqs[1][2] = pad           # a pad id inside: ignored by pooling
    return seqs


def write_weights(dirname, W, shards):
    if shards == 1:
        ref.save_safetensors(os.path.join(dirname, "model.safetensors"), W)
        return
    names = sorted(W)
    weight_map = {}
    for i in range(shards):
        part = names[i::shards]
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        ref.save_safetensors(os.path.join(dirname, fname), {n: W[n] for n in part})
        weight_map.update({n: fname for n in part})
    with open(os.path.join(dirname, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1, sort_keys=True)


def main():
    for seed, (name, cfg, dtype, opts) in enumerate(CASES):
        g = torch.Generator().manual_seed(1000 + seed)
        W = random_weights(cfg, g)
        stored = torch.bfloat16 if dtype == "bfloat16" else torch.float32
        W = {k: v.to(stored) for k, v in W.items()}
        cfg = dict(cfg, torch_dtype=dtype)
        os.makedirs(name, exist_ok=True)
        for f in os.listdir(name):
            os.remove(os.path.join(name, f))
        with open(os.path.join(name, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        write_weights(name, W, opts.get("shards", 1))
        seqs = sequences(cfg, g, opts.get("lengths", LENGTHS))
        expected = {"seqs": seqs}
        W32 = {k: v.float() for k, v in W.items()}
        reward = cfg["architectures"][0].endswith("ForSequenceClassification")
        fn, key = (ref.rewards, "rewards") if reward else (ref.token_logprobs, "logprobs")
        with torch.no_grad():
            expected[key] = fn(W32, cfg, seqs, torch.float32)
            if stored == torch.bfloat16:
                expected[key + "_bf16"] = fn(W, cfg, seqs, torch.bfloat16)
            if name == "llama_rm_f32":
                expected["inv_freq"] = ref.inverse_frequencies(cfg, 16).tolist()
        with open(os.path.join(name, "expected.json"), "w") as f:
            json.dump(expected, f)
        print(name, key, "sizes:", sum(os.path.getsize(os.path.join(name, x)) for x in os.listdir(name)))


if __name__ == "__main__":
    main()
