"""Generates the acceptance fixtures of issue 13 for cmd/warm/modern_test.go:
small random reward models at real vocabularies, Qwen3ForSequenceClassification
(151936, Qwen3's tokenizer and chat template) and LlamaForSequenceClassification
(128256, Llama 3.1's, llama3 rope scaling), each in three members (seeds 1,
2, 3), scored on TRL conversational preference rows by the plain-PyTorch
reference (kit/llama/testdata/reference.py).

    /usr/bin/python3 cmd/warm/testdata/modernrm/gen.py     (from the repository root)

Writes, into qwen3/ and llama3/ beside this script:
  config.json   the members' config (F32 weights);
  weights.json  the recipe of the weights: per tensor its name, shape and how
                its values come from the member's seed (see values() below;
                modern_test.go rebuilds the same float32 values bit for bit,
                so no 10 MB weight files are committed);
  convo.jsonl   the rows, as a user would give them to warm score / eval;
  expected.json per member and for the weight average of the three (the
                float32 mean of their weights; "wa_bf16": that mean rounded
                to bfloat16, what merging BF16 members writes), the reward
                of each row's chosen and rejected conversation.

Token ids do not come from the Go tokenizer: each conversation is one of
kit/chattemplate/testdata/conversations.json's cases for the family, whose ids came from
Python's jinja2 and HF's Rust tokenizers (see kit/chattemplate/testdata/gen)."""

import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "kit", "llama", "testdata"))
import reference as ref  # noqa: E402

# family: (config, conversations.json key)
FAMILIES = {
    "qwen3": ({
        "architectures": ["Qwen3ForSequenceClassification"], "model_type": "qwen3",
        "vocab_size": 151936, "hidden_size": 16, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
        "intermediate_size": 32, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "hidden_act": "silu", "tie_word_embeddings": True,
        "num_labels": 1, "pad_token_id": 151643, "bos_token_id": 151643,
        "eos_token_id": 151645, "torch_dtype": "float32",
    }, "qwen3"),
    # head_dim 8 at rope_theta 500000: its four frequencies fall in each
    # band of the llama3 rescaling (kept, smoothed, slowed).
    "llama3": ({
        "architectures": ["LlamaForSequenceClassification"], "model_type": "llama",
        "vocab_size": 128256, "hidden_size": 16, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1,
        "intermediate_size": 32, "max_position_embeddings": 131072, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
            "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        "hidden_act": "silu", "tie_word_embeddings": False, "attention_bias": False, "mlp_bias": False,
        "num_labels": 1, "pad_token_id": 128004, "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009], "torch_dtype": "float32",
    }, "llama3_1"),
}
SEEDS = [1, 2, 3]


def tensors(cfg):
    """(name, shape, kind) of every tensor; kind picks the value scale."""
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or h // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    out = [("model.embed_tokens.weight", [cfg["vocab_size"], h], "embed"),
           ("model.norm.weight", [h], "norm"), ("score.weight", [1, h], "score")]
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        out += [(p + "input_layernorm.weight", [h], "norm"),
                (p + "post_attention_layernorm.weight", [h], "norm"),
                (p + "self_attn.q_proj.weight", [q, h], "matrix"),
                (p + "self_attn.k_proj.weight", [kv, h], "matrix"),
                (p + "self_attn.v_proj.weight", [kv, h], "matrix"),
                (p + "self_attn.o_proj.weight", [h, q], "matrix"),
                (p + "mlp.gate_proj.weight", [inter, h], "matrix"),
                (p + "mlp.up_proj.weight", [inter, h], "matrix"),
                (p + "mlp.down_proj.weight", [h, inter], "matrix")]
        if cfg["model_type"] == "qwen3":
            out += [(p + "self_attn.q_norm.weight", [hd], "norm"),
                    (p + "self_attn.k_norm.weight", [hd], "norm")]
    return sorted(out)


# value = offset + k * 2^-shift, k = (splitmix64 output >> 56) - 128 in
# [-128, 127]: exact in float32, so Go and numpy agree bit for bit, and
# exact in bfloat16 too (at most 8 significant bits: norms are 1 + k/128),
# so the same members stored as BF16 hold the same values.
KINDS = {"embed": (0.0, 9), "matrix": (0.0, 10), "norm": (1.0, 7), "score": (0.0, 8)}
M64 = (1 << 64) - 1


def values(seed, index, n, kind):
    offset, shift = KINDS[kind]
    base = np.uint64(((seed << 32) + index) * 0x9E3779B97F4A7C15 & M64)
    z = base + np.arange(n, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    k = (z >> np.uint64(56)).astype(np.int64) - 128
    return (offset + k.astype(np.float64) * 2.0 ** -shift).astype(np.float32)


def weights(cfg, seed):
    out = {}
    for i, (name, shape, kind) in enumerate(tensors(cfg)):
        v = values(seed, i, int(np.prod(shape)), kind)
        out[name] = torch.from_numpy(v.reshape(shape))
    return out


# Rows: (chosen case, rejected case) of conversations.json's Qwen3 cases,
# given as TRL implicit-prompt rows; the first one with an explicit prompt
# (the shared first user turn of cases 9 and 10).
PAIRS = [(9, 10), (2, 1), (3, 16), (4, 5), (12, 7), (17, 20), (14, 13), (22, 18),
         (8, 24), (25, 26), (6, 11), (19, 21), (23, 15)]


def main():
    for fam, (cfg, key) in FAMILIES.items():
        generate(os.path.join(HERE, fam), cfg, key)


def generate(out, CONFIG, key):
    os.makedirs(out, exist_ok=True)
    convs = json.load(open(os.path.join(ROOT, "kit", "chattemplate", "testdata", "conversations.json")))[key]["cases"]
    rows, seqs = [], []
    for n, (a, b) in enumerate(PAIRS):
        ca, cb = convs[a], convs[b]
        assert not ca["add_generation_prompt"] and not cb["add_generation_prompt"]
        if n == 0:
            assert ca["messages"][0] == cb["messages"][0]
            row = {"prompt": ca["messages"][:1], "chosen": ca["messages"][1:], "rejected": cb["messages"][1:]}
        else:
            row = {"chosen": ca["messages"], "rejected": cb["messages"]}
        rows.append(row)
        seqs += [ca["ids"], cb["ids"]]
    with open(os.path.join(out, "convo.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    manifest = [{"name": nm, "shape": sh, "offset": KINDS[k][0], "shift": KINDS[k][1]}
                for nm, sh, k in tensors(CONFIG)]
    with open(os.path.join(out, "weights.json"), "w") as f:
        json.dump({"seeds": SEEDS, "tensors": manifest}, f, indent=1)

    def pairs(r):
        return [[r[2 * i], r[2 * i + 1]] for i in range(len(rows))]

    ws = [weights(CONFIG, s) for s in SEEDS]
    members = [pairs(ref.rewards(w, CONFIG, seqs, torch.float32)) for w in ws]
    avg = {k: (ws[0][k] + ws[1][k] + ws[2][k]) / 3 for k in ws[0]}
    wa = pairs(ref.rewards(avg, CONFIG, seqs, torch.float32))
    for w in ws:
        for k, v in w.items():
            assert torch.equal(v.to(torch.bfloat16).float(), v), k
    # BF16 members merged keep BF16: the average rounded to bfloat16 (round
    # to nearest even), computed in float32 as the Go engine does.
    avg16 = {k: v.to(torch.bfloat16).float() for k, v in avg.items()}
    wa_bf16 = pairs(ref.rewards(avg16, CONFIG, seqs, torch.float32))
    exp = {"seeds": SEEDS, "members": members, "wa": wa, "wa_bf16": wa_bf16,
           "lengths": [[len(seqs[2 * i]), len(seqs[2 * i + 1])] for i in range(len(rows))]}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
    print(out, "rows", len(rows), "member 1 row 1", members[0][0], "wa row 1", wa[0])


if __name__ == "__main__":
    main()
