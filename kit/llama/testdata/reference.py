"""Plain-PyTorch reference for the Llama family (Llama 3.x, Qwen2/2.5, Qwen3,
Mistral), written from the architecture as HuggingFace transformers defines
it (LlamaModel / Qwen2Model / Qwen3Model / MistralModel and
modeling_rope_utils), for inference only. It shares no code with the Go
package. Used by gen_fixtures.py (fixtures for llama_test.go) and by
bench/modern (the peer).

Weights are a dict name -> tensor (HF tensor names); cfg is config.json as a
dict. dtype is the compute dtype: float32, or bfloat16 with transformers'
casts (RMSNorm and softmax in float32, cast back; rotary tables cast to the
activation dtype)."""

import json
import math
import struct

import torch


def family_defaults(cfg):
    mt = cfg["model_type"]
    hidden, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim")
    if head_dim is None:
        head_dim = 128 if mt == "qwen3" else hidden // heads
    return {
        "head_dim": head_dim,
        "kv_heads": cfg.get("num_key_value_heads") or heads,
        "eps": cfg.get("rms_norm_eps", 1e-6),
        "qk_norm": mt == "qwen3",
        "window": cfg.get("sliding_window") if mt == "mistral" else None,
    }


def inverse_frequencies(cfg, head_dim):
    scaling = cfg.get("rope_scaling") or {}
    theta = float(cfg.get("rope_theta", 10000.0))
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
    inv = 1.0 / (theta ** exponents)
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return inv
    if kind == "linear":
        return inv / scaling["factor"]
    assert kind == "llama3", kind
    factor = scaling["factor"]
    lo, hi = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    wavelength = 2 * math.pi / inv
    long_wave = wavelength > old / lo       # slowed down by factor
    short_wave = wavelength < old / hi      # unchanged
    slowed = torch.where(long_wave, inv / factor, inv)
    blend = (old / wavelength - lo) / (hi - lo)
    mixed = (1 - blend) * slowed / factor + blend * slowed
    middle = ~short_wave & ~long_wave
    return torch.where(middle, mixed, slowed)


def rms_norm(x, weight, eps):
    dt = x.dtype
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return weight * xf.to(dt)


def half_rotation(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def linear(x, W, name):
    y = x @ W[name + ".weight"].t()
    b = W.get(name + ".bias")
    return y if b is None else y + b


def hidden_states(W, cfg, ids, mask, dtype):
    """ids, mask: [B, L] (right-padded batch, mask 1 on real tokens).
    Returns the final-normed hidden states [B, L, hidden]."""
    d = family_defaults(cfg)
    hd, nq, nkv = d["head_dim"], cfg["num_attention_heads"], d["kv_heads"]
    B, L = ids.shape
    x = W["model.embed_tokens.weight"][ids]
    pos = torch.arange(L)
    angles = pos[:, None].float() * inverse_frequencies(cfg, hd)[None, :]
    angles = torch.cat((angles, angles), dim=-1)
    cos, sin = angles.cos().to(dtype), angles.sin().to(dtype)
    i, j = pos[:, None], pos[None, :]
    allowed = (j <= i)[None, :, :] & mask.bool()[:, None, :]
    if d["window"]:
        allowed = allowed & (j > i - d["window"])[None]
    allowed = allowed[:, None]  # heads
    neg = torch.finfo(torch.float32).min
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], d["eps"])
        q = linear(h, W, p + "self_attn.q_proj").view(B, L, nq, hd).transpose(1, 2)
        k = linear(h, W, p + "self_attn.k_proj").view(B, L, nkv, hd).transpose(1, 2)
        v = linear(h, W, p + "self_attn.v_proj").view(B, L, nkv, hd).transpose(1, 2)
        if d["qk_norm"]:
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], d["eps"])
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], d["eps"])
        q = q * cos + half_rotation(q) * sin
        k = k * cos + half_rotation(k) * sin
        k = k.repeat_interleave(nq // nkv, dim=1)
        v = v.repeat_interleave(nq // nkv, dim=1)
        s = ((q @ k.transpose(2, 3)) * hd ** -0.5).float()
        s = s.masked_fill(~allowed, neg)
        a = torch.softmax(s, dim=-1).to(dtype) @ v
        a = a.transpose(1, 2).reshape(B, L, nq * hd)
        x = x + linear(a, W, p + "self_attn.o_proj")
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], d["eps"])
        g = linear(h, W, p + "mlp.gate_proj")
        u = linear(h, W, p + "mlp.up_proj")
        x = x + linear(torch.nn.functional.silu(g) * u, W, p + "mlp.down_proj")
    return rms_norm(x, W["model.norm.weight"], d["eps"])


def padded(seqs, pad):
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, : len(s)] = torch.tensor(s)
        mask[b, : len(s)] = 1
    return ids, mask


def rewards(W, cfg, seqs, dtype):
    """*ForSequenceClassification: score at the rightmost token that is not
    pad_token_id (index 0 when all are), or the last token without a pad id."""
    pad = cfg.get("pad_token_id")
    if pad is None:  # transformers allows only batches of one then
        return [rewards_one(W, cfg, s, dtype) for s in seqs]
    ids, mask = padded(seqs, pad)
    logits = hidden_states(W, cfg, ids, mask, dtype) @ W["score.weight"].t()
    nonpad = (ids != pad).int()
    last = (torch.arange(ids.shape[1]).int() * nonpad).argmax(-1)
    return logits[torch.arange(len(seqs)), last, 0].float().tolist()


def rewards_one(W, cfg, s, dtype):
    ids, mask = padded([s], 0)
    logits = hidden_states(W, cfg, ids, mask, dtype) @ W["score.weight"].t()
    return logits[0, -1, 0].float().item()


def lm_head(W, cfg):
    if "lm_head.weight" in W:
        return W["lm_head.weight"]
    assert cfg.get("tie_word_embeddings"), "no lm_head and embeddings not tied"
    return W["model.embed_tokens.weight"]


def token_logprobs(W, cfg, seqs, dtype):
    ids, mask = padded(seqs, 0)
    logits = hidden_states(W, cfg, ids, mask, dtype) @ lm_head(W, cfg).t()
    logp = torch.log_softmax(logits.float(), dim=-1)
    out = []
    for b, s in enumerate(seqs):
        t = torch.tensor(s[1:], dtype=torch.long)
        out.append(logp[b, torch.arange(len(s) - 1), t].tolist())
    return out


# --- safetensors without the safetensors package ------------------------

DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
BACK = {v: k for k, v in DTYPES.items()}


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        dt = BACK[e["dtype"]]
        buf = bytearray(data[a:b])
        if dt == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(buf, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out
