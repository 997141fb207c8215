#!/usr/bin/python3
"""Peer for bench/merge: the uniform average of K safetensors checkpoints
with PyTorch, the way a Python user without the safetensors package does it
(Debian has no python3-safetensors): read each file whole, view tensors with
torch.frombuffer, average, and write a safetensors file (8-byte aligned,
space-padded header, as the Rust crate writes it).

usage: torch_merge.py OUT.safetensors IN.safetensors...
"""
import json
import struct
import sys

import torch

torch.set_num_threads(2)
DT = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64, "I64": torch.int64}
NAME = {v: k for k, v in DT.items()}


def load(path):
    with open(path, "rb") as f:
        buf = bytearray(f.read())
    n = struct.unpack("<Q", buf[:8])[0]
    hdr = json.loads(buf[8:8 + n])
    hdr.pop("__metadata__", None)
    base = 8 + n
    out = {}
    for name, e in hdr.items():
        b, end = e["data_offsets"]
        dt = DT[e["dtype"]]
        count = (end - b) // torch.tensor([], dtype=dt).element_size()
        out[name] = torch.frombuffer(buf, dtype=dt, count=count, offset=base + b).reshape(e["shape"])
    return out


def save(path, tensors):
    hdr, off = {"__metadata__": {"format": "pt"}}, 0
    for name, t in tensors.items():
        nb = t.numel() * t.element_size()
        hdr[name] = {"dtype": NAME[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for t in tensors.values():
            f.write(t.contiguous().numpy().tobytes())


def main():
    out, ins = sys.argv[1], sys.argv[2:]
    models = [load(p) for p in ins]
    merged = {}
    for name in models[0]:
        acc = models[0][name].clone()
        for m in models[1:]:
            acc += m[name]
        merged[name] = acc / len(models)
    save(out, merged)


if __name__ == "__main__":
    main()
