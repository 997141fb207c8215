"""Writes a random BF16 checkpoint (config.json + model.safetensors) of a
given shape for bench/modern, streaming tensor by tensor so that a 1B model
never sits in memory as float32.

    /usr/bin/python3 gen.py qwen3|llama OUTDIR"""

import json
import os
import struct
import sys

import torch

SHAPES = {
    # Qwen3-0.6B: 28 layers, hidden 1024, 16 q / 8 kv heads, head_dim 128,
    # intermediate 3072, vocab 151936, tied embeddings.
    "qwen3": {
        "model_type": "qwen3", "architectures": ["Qwen3ForSequenceClassification"],
        "vocab_size": 151936, "hidden_size": 1024, "num_hidden_layers": 28,
        "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
        "intermediate_size": 3072, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "tie_word_embeddings": True, "hidden_act": "silu",
        "num_labels": 1, "pad_token_id": 151643, "eos_token_id": 151645, "torch_dtype": "bfloat16",
    },
    # Llama-3.2-1B: 16 layers, hidden 2048, 32 q / 8 kv heads, intermediate
    # 8192, vocab 128256, tied, llama3 rope scaling.
    "llama": {
        "model_type": "llama", "architectures": ["LlamaForSequenceClassification"],
        "vocab_size": 128256, "hidden_size": 2048, "num_hidden_layers": 16,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
        "intermediate_size": 8192, "max_position_embeddings": 131072, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 32.0,
            "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        "tie_word_embeddings": True, "hidden_act": "silu", "num_labels": 1,
        "pad_token_id": 128004, "eos_token_id": 128009, "bos_token_id": 128000, "torch_dtype": "bfloat16",
    },
}


def tensors(cfg):
    h, I, hd = cfg["hidden_size"], cfg["intermediate_size"], cfg["head_dim"]
    qd, kvd = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", (cfg["vocab_size"], h), 1.0)]
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out += [(p + "input_layernorm.weight", (h,), None), (p + "post_attention_layernorm.weight", (h,), None),
                (p + "self_attn.q_proj.weight", (qd, h), h ** -0.5), (p + "self_attn.k_proj.weight", (kvd, h), h ** -0.5),
                (p + "self_attn.v_proj.weight", (kvd, h), h ** -0.5), (p + "self_attn.o_proj.weight", (h, qd), qd ** -0.5),
                (p + "mlp.gate_proj.weight", (I, h), h ** -0.5), (p + "mlp.up_proj.weight", (I, h), h ** -0.5),
                (p + "mlp.down_proj.weight", (h, I), I ** -0.5)]
        if cfg["model_type"] == "qwen3":
            out += [(p + "self_attn.q_norm.weight", (hd,), None), (p + "self_attn.k_norm.weight", (hd,), None)]
    out += [("model.norm.weight", (h,), None), ("score.weight", (1, h), h ** -0.5)]
    return out


def main():
    kind, outdir = sys.argv[1], sys.argv[2]
    cfg = SHAPES[kind]
    os.makedirs(outdir, exist_ok=True)
    specs = tensors(cfg)
    header, off = {}, 0
    for name, shape, _ in specs:
        n = 2
        for d in shape:
            n *= d
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    g = torch.Generator().manual_seed(7)
    with open(os.path.join(outdir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape, std in specs:
            t = torch.randn(shape, generator=g)
            t = t * std if std is not None else 1 + 0.1 * t
            f.write(t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


if __name__ == "__main__":
    main()
