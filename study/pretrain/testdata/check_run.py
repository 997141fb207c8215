#!/usr/bin/python3
"""Independent check of a `warm pretrain` run with plain PyTorch (float64).

Reads the run's final/ checkpoint (safetensors parsed by hand, HF GPT-2
names and Conv1D [in, out] layouts, tied LM head), the held-out token file
tokens-val.bin (the WARMTOK1 format of study/pretrain/tokens.go), cuts the same
fixed held-out windows as pretrain.ValWindows, and recomputes the held-out
loss and the unigram baseline that summary.json reports. Nothing is imported
from the Go side or from HF transformers (not installed here).

    /usr/bin/python3 study/pretrain/testdata/check_run.py runs/pretrain [windows]
"""
import json, math, os, struct, sys
import numpy as np
import torch

run = sys.argv[1]
nwin = int(sys.argv[2]) if len(sys.argv) > 2 else 64
DT = torch.float64

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in hdr.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).reshape(info["shape"]).to(DT)
    return out

def read_tokens(path):
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == b"WARMTOK1"
    width, vocab, count = struct.unpack("<IIQ", b[8:24])
    ids = np.frombuffer(b[24:], dtype="<u2" if width == 2 else "<u4")
    assert len(ids) == count
    return ids.astype(np.int64), vocab

cfg = json.load(open(os.path.join(run, "final", "config.json")))
W = read_safetensors(os.path.join(run, "final", "model.safetensors"))
W = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in W.items()}
C, H, L, P = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["n_positions"]
eps = cfg["layer_norm_epsilon"]

def ln(x, p):
    return torch.nn.functional.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], eps)

def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

def logprobs(ids):  # ids [B, T] -> log p(ids[:, t+1] | ids[:, :t+1]) [B, T-1]
    B, T = ids.shape
    x = W["wte.weight"][ids] + W["wpe.weight"][torch.arange(T)]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        h = f"h.{l}."
        qkv = ln(x, h + "ln_1") @ W[h + "attn.c_attn.weight"] + W[h + "attn.c_attn.bias"]
        q, k, v = [t.view(B, T, H, C // H).transpose(1, 2) for t in qkv.split(C, dim=2)]
        a = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
        a = torch.softmax(a.masked_fill(~mask, float("-inf")), dim=-1)
        y = (a @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ W[h + "attn.c_proj.weight"] + W[h + "attn.c_proj.bias"]
        m = gelu_new(ln(x, h + "ln_2") @ W[h + "mlp.c_fc.weight"] + W[h + "mlp.c_fc.bias"])
        x = x + m @ W[h + "mlp.c_proj.weight"] + W[h + "mlp.c_proj.bias"]
    logits = ln(x, "ln_f") @ W["wte.weight"].T
    lp = torch.log_softmax(logits, dim=-1)
    return lp[:, :-1].gather(2, ids[:, 1:, None])[..., 0]

val, vocab = read_tokens(os.path.join(run, "tokens-val.bin"))
train, _ = read_tokens(os.path.join(run, "tokens-train.bin"))
n = P
fit = (len(val) - n) // n + 1
count = min(nwin, fit)
stride = (len(val) - n) // (count - 1) if count > 1 else 0
wins = torch.tensor(np.stack([val[i * stride:i * stride + n] for i in range(count)]))
with torch.no_grad():
    nll = -torch.cat([logprobs(wins[i:i + 16]).reshape(-1) for i in range(0, count, 16)]).mean().item()
counts = np.bincount(train, minlength=vocab).astype(np.float64)
p = (counts + 1) / (len(train) + vocab)
uni = -np.log(p[wins[:, 1:].numpy()]).mean()
s = json.load(open(os.path.join(run, "summary.json")))
print("held-out loss: torch %.6f  warm %.6f  (diff %.2e)" % (nll, s["val_loss"], abs(nll - s["val_loss"])))
print("unigram loss:  numpy %.6f  warm %.6f  (diff %.2e)" % (uni, s["unigram_loss"], abs(uni - s["unigram_loss"])))
ok = abs(nll - s["val_loss"]) < 1e-3 and abs(uni - s["unigram_loss"]) < 1e-6
print("OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
