"""bench/modern's peer: the plain-PyTorch reference (kit/llama/testdata/reference.py)
scoring a batch with a sequence-classification model, in float32 or bfloat16,
on N threads. Weights are memory-mapped (numpy memmap; BF16 as int16 viewed
as bfloat16), converted to float32 for the f32 runs as torch would hold them.
Prints one JSON line: seconds, tokens/s, peak RSS (VmHWM) and the rewards.

    /usr/bin/python3 peer.py DIR f32|bf16 THREADS NSEQ SEQLEN"""

import json
import os
import resource
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kit", "llama", "testdata"))
import reference as ref  # noqa: E402


# The memmap is read-only and never written: torch's warning does not apply.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")


def load_mmap(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        assert e["dtype"] == "BF16", e["dtype"]
        arr = np.memmap(path, dtype=np.int16, mode="r", offset=base + a, shape=((b - a) // 2,))
        out[name] = torch.from_numpy(arr).view(torch.bfloat16).reshape(e["shape"])
    return out


def batch(vocab, nseq, seqlen):
    # The same deterministic ids as bench/modern/score.
    return [[(i * 1000003 + t * 7919 + 12345) % vocab for t in range(seqlen)] for i in range(nseq)]


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024


def main():
    d, dt, threads, nseq, seqlen = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    cfg = json.load(open(os.path.join(d, "config.json")))
    W = load_mmap(os.path.join(d, "model.safetensors"))
    dtype = torch.float32 if dt == "f32" else torch.bfloat16
    if dtype == torch.float32:
        W = {k: v.float() for k, v in W.items()}
    seqs = batch(cfg["vocab_size"], nseq, seqlen)
    with torch.no_grad():
        ref.rewards(W, cfg, [s[:16] for s in seqs[:1]], dtype)  # warm-up: pages, allocator
        t, c = time.perf_counter(), cpu_seconds()
        r = ref.rewards(W, cfg, seqs, dtype)
        sec, cpu = time.perf_counter() - t, cpu_seconds() - c
    print(json.dumps({"impl": "torch-" + dt, "threads": threads, "seconds": sec, "cpu_seconds": cpu,
                      "tokens_per_s": nseq * seqlen / sec, "peak_rss_mb": peak_rss_mb(), "rewards": r}))


if __name__ == "__main__":
    main()
