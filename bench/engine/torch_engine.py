#!/usr/bin/python3
"""PyTorch peer for bench/engine/engine (the Go engine bench): the same
workloads on the same reference reward model, written in plain torch the way
HF transformers' modeling_gpt2 computes GPT-2 (Conv1D weights [in, out] with
addmm, gelu tanh, LayerNorm eps 1e-5, attention by hand with a causal
masked softmax -- torch 1.13 has no SDPA --, reward = score . ln_f(h) at the
last token, tied LM head for generation).

  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/engine/torch_engine.py [--secs 4] [--only train,infer,gen,gemm] [--threads 2]
  /usr/bin/python3 bench/engine/torch_engine.py --check DIR   (DIR from `engine -check DIR`)

Prints "torch <metric> <value>" lines (the names the Go program uses: each
rate per wall-clock second and, as <metric>_cpu, per CPU-second of the
process) and "torch peak_rss_mb <VmHWM>"; notes go to stderr. Keep the shapes in sync with
Reference() in bench/engine/engine/main.go.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F

V, P, C, L, H, FF = 8192, 128, 128, 2, 4, 512
HD, EPS, PDROP = C // H, 1e-5, 0.1
TRAIN_PAIRS, SEQ, INFER_B = 16, 128, 64
GEN_B, GEN_PROMPT, GEN_NEW = 16, 16, 64
GEMM_N = 1024
LR, WD, CLIP = 1e-5, 0.01, 1.0


def names(with_score=True):
    ns = [("transformer.wte.weight", (V, C)), ("transformer.wpe.weight", (P, C))]
    for i in range(L):
        p = f"transformer.h.{i}."
        ns += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
               (p + "attn.c_attn.weight", (C, 3 * C)), (p + "attn.c_attn.bias", (3 * C,)),
               (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
               (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
               (p + "mlp.c_fc.weight", (C, FF)), (p + "mlp.c_fc.bias", (FF,)),
               (p + "mlp.c_proj.weight", (FF, C)), (p + "mlp.c_proj.bias", (C,))]
    ns += [("transformer.ln_f.weight", (C,)), ("transformer.ln_f.bias", (C,))]
    if with_score:
        ns.append(("score.weight", (1, C)))
    return ns


def init_params(with_score=True, dtype=torch.float32):
    """HF GPT-2 init: N(0, 0.02), c_proj N(0, 0.02/sqrt(2L)), LN 1/0, biases 0."""
    ps = {}
    for n, shape in names(with_score):
        if ".ln_" in n or n.startswith("transformer.ln_f"):
            w = torch.ones(shape) if n.endswith("weight") else torch.zeros(shape)
        elif n.endswith(".bias"):
            w = torch.zeros(shape)
        elif n.endswith("c_proj.weight"):
            w = torch.randn(shape) * (0.02 / math.sqrt(2 * L))
        else:
            w = torch.randn(shape) * 0.02
        ps[n] = w.to(dtype).requires_grad_(True)
    return ps


def conv1d(x, w, b):
    """HF Conv1D: y = x.W + b with W [in, out]."""
    shape = x.shape[:-1] + (w.shape[1],)
    return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).view(shape)


def block(ps, i, h, train, cache=None, t0=0):
    """One GPT-2 block on h [B, T, C]. With cache (k, v: [B, H, P, HD]) the
    new keys/values are written at positions t0..t0+T-1 and attention runs
    over 0..t0+T-1 (prefill and decode)."""
    p = f"transformer.h.{i}."
    B, T, _ = h.shape
    x = F.layer_norm(h, (C,), ps[p + "ln_1.weight"], ps[p + "ln_1.bias"], EPS)
    q, k, v = conv1d(x, ps[p + "attn.c_attn.weight"], ps[p + "attn.c_attn.bias"]).split(C, dim=2)
    q, k, v = [t.view(B, T, H, HD).transpose(1, 2) for t in (q, k, v)]
    if cache is not None:
        kc, vc = cache
        kc[:, :, t0:t0 + T] = k
        vc[:, :, t0:t0 + T] = v
        k, v = kc[:, :, :t0 + T], vc[:, :, :t0 + T]
    w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(HD)
    if T > 1:  # a single decoded row sees every cached position
        S = k.shape[2]
        causal = torch.ones(T, S, dtype=torch.bool).tril(S - T)
        w = torch.where(causal, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
    w = torch.softmax(w, dim=-1)
    w = F.dropout(w, PDROP, train)
    a = torch.matmul(w, v).transpose(1, 2).reshape(B, T, C)
    a = conv1d(a, ps[p + "attn.c_proj.weight"], ps[p + "attn.c_proj.bias"])
    h = h + F.dropout(a, PDROP, train)
    x = F.layer_norm(h, (C,), ps[p + "ln_2.weight"], ps[p + "ln_2.bias"], EPS)
    m = F.gelu(conv1d(x, ps[p + "mlp.c_fc.weight"], ps[p + "mlp.c_fc.bias"]), approximate="tanh")
    m = conv1d(m, ps[p + "mlp.c_proj.weight"], ps[p + "mlp.c_proj.bias"])
    return h + F.dropout(m, PDROP, train)


def body(ps, ids, train, caches=None, t0=0):
    """GPT2Model: ln_f(h) [B, T, C] for ids [B, T] at positions t0..."""
    T = ids.shape[1]
    h = F.embedding(ids, ps["transformer.wte.weight"]) + ps["transformer.wpe.weight"][t0:t0 + T]
    h = F.dropout(h, PDROP, train)
    for i in range(L):
        h = block(ps, i, h, train, None if caches is None else caches[i], t0)
    return F.layer_norm(h, (C,), ps["transformer.ln_f.weight"], ps["transformer.ln_f.bias"], EPS)


def rewards(ps, ids, train):
    """GPT2ForSequenceClassification at the last token (no padding here)."""
    return body(ps, ids, train)[:, -1] @ ps["score.weight"][0]


def time_it(warm, min_iters, secs, fn):
    """Same loop as timeIt in the Go program: warm-up untimed, then at least
    min_iters and until secs have passed. Returns (work, iters, seconds,
    cpu_seconds); process_time is user+sys of all the process's threads."""
    for i in range(warm):
        fn(-1 - i)
    work, iters, t0, c0 = 0.0, 0, time.perf_counter(), time.process_time()
    while iters < min_iters or time.perf_counter() - t0 < secs:
        work += fn(iters)
        iters += 1
    return work, iters, time.perf_counter() - t0, time.process_time() - c0


def bench_train(warm, min_iters, secs, foreach):
    ps = init_params()
    decay = [p for n, p in ps.items() if not (n.endswith(".bias") or "ln_" in n)]
    nodecay = [p for n, p in ps.items() if n.endswith(".bias") or "ln_" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, foreach=foreach)
    params = list(ps.values())
    ids = torch.randint(0, V, (2 * TRAIN_PAIRS, SEQ))
    losses = []

    def step(i):
        opt.zero_grad(set_to_none=True)  # torch 2.x default, the cheaper one
        r = rewards(ps, ids, True)
        loss = -F.logsigmoid(r[:TRAIN_PAIRS] - r[TRAIN_PAIRS:]).mean()  # chosen || rejected
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        losses.append(loss.item())
        return ids.numel()

    res = time_it(warm, min_iters, secs, step)
    return res, f"BT loss {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} steps, AdamW foreach={foreach}"


def bench_infer(warm, min_iters, secs):
    ps = init_params()
    ids = torch.randint(0, V, (INFER_B, SEQ))
    out = []

    def run(i):
        with torch.inference_mode():  # cheaper than no_grad: no version counters
            r = rewards(ps, ids, False)
        out.append(r[0].item())
        return r.shape[0]

    res = time_it(warm, min_iters, secs, run)
    return res, f"reward[0] {out[-1]:.5f}"


@torch.inference_mode()
def generate(ps, prompts, new, temperature=1.0):
    """Sample `new` tokens per row with a KV cache: one prefill over the
    prompts, then one forward per token; temperature 0 is greedy. Returns
    [B, new]."""
    B, T0 = prompts.shape
    S = T0 + new
    dt = ps["transformer.wte.weight"].dtype
    caches = [(torch.empty(B, H, S, HD, dtype=dt), torch.empty(B, H, S, HD, dtype=dt)) for _ in range(L)]
    wte = ps["transformer.wte.weight"]
    out = torch.empty(B, new, dtype=torch.long)
    h = body(ps, prompts, False, caches, 0)[:, -1]
    for j in range(new):
        if temperature == 0:
            tok = (h @ wte.t()).argmax(dim=-1, keepdim=True)
        else:
            tok = torch.multinomial(torch.softmax((h @ wte.t()) / temperature, dim=-1), 1)
        out[:, j] = tok[:, 0]
        if j + 1 < new:
            h = body(ps, tok, False, caches, T0 + j)[:, -1]
    return out


def bench_gen(warm, min_iters, secs):
    ps = init_params(with_score=False)
    for p in ps.values():
        p.requires_grad_(False)
    prompts = torch.randint(0, V, (GEN_B, GEN_PROMPT))
    res = time_it(warm, min_iters, secs, lambda i: generate(ps, prompts, GEN_NEW).numel())
    return res, f"{GEN_B * GEN_NEW} new tokens per call"


def bench_gemm(warm, min_iters, secs):
    n = GEMM_N
    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)

    def run(i):
        torch.mm(a, b, out=c)
        return 2 * n ** 3 / 1e9

    return time_it(warm, min_iters, secs, run), ""


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def blas_library():
    """The BLAS shared objects mapped into this process (OpenBLAS or not)."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in path:
                libs.add(os.path.realpath(path))
    return " ".join(sorted(libs)) or "none mapped"


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, want F32")
        lo, hi = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.float32).reshape(info["shape"])
    return out


def check(d):
    """Recompute, in float64, the rewards the Go engine wrote to d."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    got = (cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"], cfg["n_head"], cfg.get("n_inner") or 4 * cfg["n_embd"])
    if got != (V, P, C, L, H, FF):
        raise SystemExit(f"{d}/config.json: shape {got}, want {(V, P, C, L, H, FF)}")
    st = read_safetensors(os.path.join(d, "model.safetensors"))
    ps = {n: st[n].to(torch.float64) for n, _ in names()}
    case = json.load(open(os.path.join(d, "check.json")))
    worst = 0.0
    with torch.no_grad():
        for s, want in zip(case["seqs"], case["rewards"]):
            r = rewards(ps, torch.tensor([s]), False)[0].item()
            worst = max(worst, abs(r - want) / max(1.0, abs(r)))
    n = len(case["seqs"])
    ok = worst < 1e-4
    print(f"peer check: {n} sequences (1..128 tokens), max |reward ours - torch float64| / max(1,|r|) = {worst:.2e} "
          f"(tolerance 1e-4): {'ok' if ok else 'MISMATCH'}")
    # Greedy decoding exercises the peer's KV-cache path (prefill, then
    # positions T0, T0+1, ...) against the engine's Generate.
    same = 0
    for pr, want in zip(case["prompts"], case["greedy"]):
        got = generate(ps, torch.tensor([pr]), len(want), temperature=0)[0].tolist()
        if got == want:
            same += 1
        else:
            print(f"peer check: greedy continuation of a {len(pr)}-token prompt: ours {want}, torch {got}")
    print(f"peer check: greedy generation with KV cache, {same}/{len(case['prompts'])} prompts identical "
          f"({len(case['greedy'][0])} tokens each): {'ok' if same == len(case['prompts']) else 'MISMATCH'}")
    return 0 if ok and same == len(case["prompts"]) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="train,infer,gen,gemm")
    ap.add_argument("--secs", type=float, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--min-iters", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--foreach", type=int, default=1, help="AdamW foreach implementation (1, torch's faster one here) or 0")
    ap.add_argument("--check", metavar="DIR")
    ap.add_argument("--label", default="torch", help="first word of each result line")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.check:
        sys.exit(check(a.check))
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(a.threads):
        print(f"torch_engine: warning: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, want {a.threads}", file=sys.stderr)
    works = {"train": lambda: bench_train(a.warmup, a.min_iters, a.secs, bool(a.foreach)),
             "infer": lambda: bench_infer(a.warmup, a.min_iters, a.secs),
             "gen": lambda: bench_gen(a.warmup, a.min_iters, a.secs),
             "gemm": lambda: bench_gemm(a.warmup, a.min_iters, a.secs)}
    metric = {"train": "train_tokens_per_s", "infer": "infer_seqs_per_s", "gen": "gen_tokens_per_s", "gemm": "gemm_gflops"}
    for w in a.only.split(","):
        if w not in works:
            raise SystemExit(f"torch_engine: --only: unknown workload {w!r} (want train, infer, gen, gemm)")
        print(f"torch_engine: {w}: {a.warmup} warm-up, then {a.secs}s ...", file=sys.stderr)
        (work, iters, secs, cpu), note = works[w]()
        print(f"torch_engine: {metric[w]}: {work / secs:.1f} in {iters} iterations, {secs:.2f}s ({cpu:.2f} CPU-s) {note}",
              file=sys.stderr)
        print(f"{a.label} {metric[w]} {work / secs:.2f}", flush=True)
        print(f"{a.label} {metric[w]}_cpu {work / cpu:.2f}", flush=True)
    print(f"{a.label} peak_rss_mb {peak_rss_mb():.1f}")
    print(f"torch_engine: torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, blas: {blas_library()}", file=sys.stderr)


if __name__ == "__main__":
    main()
