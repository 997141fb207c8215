#!/usr/bin/python3
"""PyTorch peer for bench/serve: a plain-torch GPT-2 reward model (HF maths:
gelu_new, LayerNorm eps from config, 1/sqrt(head_dim), Conv1D [in, out],
score.weight on the last token) with the same weights, scoring the same
128-token items in a batch loop.

    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/serve/peer.py DIR [--models 1|6] [--check served.json]

DIR is the folder written by `go run ./bench/serve mkmodel`. Prints one JSON
line: items/s (median of --reps passes over all items).
"""
import argparse
import json
import math
import os
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {info['dtype']}, this peer reads F32 only")
        lo, hi = info["data_offsets"]
        out[name] = torch.frombuffer(data, dtype=torch.float32, offset=lo, count=(hi - lo) // 4).view(info["shape"])
    return out


class RewardModel:
    def __init__(self, d):
        with open(os.path.join(d, "config.json")) as f:
            self.cfg = json.load(f)
        w = load_safetensors(os.path.join(d, "model.safetensors"))
        self.w = {k.removeprefix("transformer."): v for k, v in w.items()}
        self.L, self.H = self.cfg["n_layer"], self.cfg["n_head"]
        self.eps = self.cfg.get("layer_norm_epsilon", 1e-5)

    @torch.inference_mode()
    def rewards(self, ids):  # ids: [B, T] long, no padding (all items have T tokens)
        w, C = self.w, self.cfg["n_embd"]
        B, T = ids.shape
        H, hd = self.H, C // self.H
        x = w["wte.weight"][ids] + w["wpe.weight"][:T]
        mask = torch.ones(T, T, dtype=torch.bool).tril()
        for l in range(self.L):
            p = f"h.{l}."
            h = F.layer_norm(x, (C,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], self.eps)
            qkv = torch.addmm(w[p + "attn.c_attn.bias"], h.view(-1, C), w[p + "attn.c_attn.weight"]).view(B, T, 3 * C)
            q, k, v = qkv.split(C, dim=2)
            q = q.view(B, T, H, hd).transpose(1, 2)
            k = k.view(B, T, H, hd).transpose(1, 2)
            v = v.view(B, T, H, hd).transpose(1, 2)
            att = (q * (1 / math.sqrt(hd))) @ k.transpose(-1, -2)
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(B * T, C)
            x = x + torch.addmm(w[p + "attn.c_proj.bias"], y, w[p + "attn.c_proj.weight"]).view(B, T, C)
            h = F.layer_norm(x, (C,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], self.eps)
            h = F.gelu(torch.addmm(w[p + "mlp.c_fc.bias"], h.view(-1, C), w[p + "mlp.c_fc.weight"]), approximate="tanh")
            x = x + torch.addmm(w[p + "mlp.c_proj.bias"], h, w[p + "mlp.c_proj.weight"]).view(B, T, C)
        x = F.layer_norm(x[:, -1], (C,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        return x @ w["score.weight"][0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--models", type=int, default=1, help="1: rm0 alone (WARM); M: rm1..rmM (ENS)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0, help="score only the first N items (0: all)")
    ap.add_argument("--check", help="served rewards of rm0 (JSON list) to compare with")
    a = ap.parse_args()
    torch.set_num_threads(2)
    items = [json.loads(l) for l in open(os.path.join(a.dir, "items.jsonl"))]
    if a.limit:
        items = items[:a.limit]
    ids = torch.tensor([it["ids"] for it in items], dtype=torch.long)
    names = ["rm0"] if a.models == 1 else [f"rm{i}" for i in range(1, a.models + 1)]
    models = [RewardModel(os.path.join(a.dir, n)) for n in names]

    def score_all():
        out = []
        for lo in range(0, len(ids), a.batch):
            rs = [m.rewards(ids[lo:lo + a.batch]) for m in models]
            out.append(torch.stack(rs).mean(0))  # ENS: mean of the members
        return torch.cat(out)

    score_all()  # warm-up
    rates = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        r = score_all()
        rates.append(len(ids) / (time.perf_counter() - t0))
    res = {"label": "torch-" + ("warm" if a.models == 1 else f"ens{a.models}"), "models": a.models,
           "batch": a.batch, "items_per_s": statistics.median(rates),
           "torch": torch.__version__, "threads": torch.get_num_threads()}
    if a.check:
        served = torch.tensor(json.load(open(a.check))[:len(ids)])
        res["max_abs_diff_vs_served"] = (served - r).abs().max().item()
        res["max_abs_reward"] = r.abs().max().item()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
