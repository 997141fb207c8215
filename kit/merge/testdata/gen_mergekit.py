#!/usr/bin/python3
"""Fixtures for kit/merge/ from an independent implementation: mergekit's
formulas (generalized_task_arithmetic.py: magnitude sparsify, sign
consensus "sum", normalize; slerp.py; task arithmetic) re-typed in torch
1.13, since mergekit itself is on PyPI, out of reach here.

Writes base/a/b/c.safetensors and expected_{ties,ta,slerp,linear}.safetensors.
Run from this directory with /usr/bin/python3.
"""
import json
import struct

import torch

torch.manual_seed(20240117)
SHAPES = {"h.0.attn.c_attn.weight": (8, 24), "h.0.mlp.c_fc.bias": (33,)}


def save(path, tensors):
    hdr, off, data = {"__metadata__": {"format": "pt"}}, 0, b""
    for name, t in tensors.items():
        b = t.contiguous().view(-1).numpy().tobytes()
        hdr[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        data += b
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + data)


def magnitude(t, density):  # mergekit sparsify.magnitude
    k = int(density * t.numel())
    mask = torch.zeros_like(t)
    topk = torch.argsort(t.abs().view(-1), descending=True)[:k]
    mask.view(-1)[topk] = 1
    return t * mask


def ties(base, models, weights, density, lam=1.0, normalize=True):
    deltas = torch.stack([magnitude(m - base, density) for m in models])
    w = torch.tensor(weights, dtype=deltas.dtype).view(-1, *([1] * base.dim()))
    deltas = deltas * w
    sign = deltas.sign()
    majority = (deltas.sum(dim=0) >= 0).to(deltas.dtype) * 2 - 1  # get_mask(method="sum")
    mask = sign == majority
    mixed = (deltas * mask).sum(dim=0)
    if normalize:
        div = (w * mask).sum(dim=0)
        div[div == 0] = 1
        mixed = mixed / div
    return base + lam * mixed


def slerp(t, v0, v1, dot_threshold=0.9995, eps=1e-8):  # mergekit slerp, in float64
    a, b = v0.double(), v1.double()
    na, nb = a.norm(), b.norm()
    a_n = a / na if na > eps else a
    b_n = b / nb if nb > eps else b
    dot = (a_n * b_n).sum()
    if dot.abs() > dot_threshold:
        return ((1 - t) * a + t * b).float()
    th0 = torch.arccos(dot)
    s0 = torch.sin(th0 - th0 * t) / torch.sin(th0)
    s1 = torch.sin(th0 * t) / torch.sin(th0)
    return (s0 * a + s1 * b).float()


base = {n: torch.randn(s) for n, s in SHAPES.items()}
models = [{n: base[n] + 0.1 * torch.randn(s) for n, s in SHAPES.items()} for _ in range(3)]
for name, m in zip(["base", "a", "b", "c"], [base] + models):
    save(name + ".safetensors", m)
save("expected_ties.safetensors", {n: ties(base[n], [m[n] for m in models], [1.0, 0.5, 2.0], 0.4) for n in SHAPES})
save("expected_ta.safetensors", {n: (base[n].double() + 0.7 * sum(m[n].double() - base[n].double() for m in models)).float() for n in SHAPES})
save("expected_slerp.safetensors", {n: slerp(0.3, models[0][n], models[1][n]) for n in SHAPES})
save("expected_linear.safetensors", {n: (sum(m[n].double() for m in models) / 3).float() for n in SHAPES})
