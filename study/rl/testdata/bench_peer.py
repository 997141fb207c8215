#!/usr/bin/python3
"""PyTorch peer for rl's BenchmarkRLStep and BenchmarkDuelSample.

The same shapes as the Go benchmarks (the quick preset: vocab 8192, d 128,
4 layers, 4 heads, context 128; random weights): one RLOO step of 8 prompts
x 4 samples (16-token prompts, 32 new tokens at temperature 0.9 with a KV
cache, reference log-probs, a reward model on prompt+response, policy
forward + backward, grad clipping, AdamW), and sampling 256 rows x 32 tokens.

Run with Debian's torch + OpenBLAS, 2 threads:
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 study/rl/testdata/bench_peer.py [rl|sample] [reps]
Prints one line per rep: seconds and sequences per second.
"""
import math
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
V, C, L, H, T = 8192, 128, 4, 4, 128
HD = C // H


class GPT2(torch.nn.Module):
    """GPT-2 as HF computes it (gelu_new, LN eps 1e-5, tied LM head)."""

    def __init__(self, reward=False):
        super().__init__()
        self.wte = torch.nn.Parameter(torch.randn(V, C) * 0.02)
        self.wpe = torch.nn.Parameter(torch.randn(T, C) * 0.01)
        self.blocks = torch.nn.ModuleList()
        for _ in range(L):
            b = torch.nn.Module()
            b.ln1 = torch.nn.LayerNorm(C, eps=1e-5)
            b.attn = torch.nn.Linear(C, 3 * C)
            b.proj = torch.nn.Linear(C, C)
            b.ln2 = torch.nn.LayerNorm(C, eps=1e-5)
            b.fc = torch.nn.Linear(C, 4 * C)
            b.fcp = torch.nn.Linear(4 * C, C)
            self.blocks.append(b)
        self.lnf = torch.nn.LayerNorm(C, eps=1e-5)
        self.score = torch.nn.Parameter(torch.randn(C) * 0.02) if reward else None

    def body(self, ids, past=None, pos0=0):
        B, S = ids.shape
        x = self.wte[ids] + self.wpe[pos0:pos0 + S]
        new = []
        for i, b in enumerate(self.blocks):
            h = b.ln1(x)
            q, k, v = b.attn(h).split(C, dim=-1)
            q = q.view(B, S, H, HD).transpose(1, 2)
            k = k.view(B, S, H, HD).transpose(1, 2)
            v = v.view(B, S, H, HD).transpose(1, 2)
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            new.append((k, v))
            att = q @ k.transpose(-1, -2) / math.sqrt(HD)
            Tk = k.shape[2]
            mask = torch.ones(S, Tk, dtype=torch.bool).tril(Tk - S)
            att = att.masked_fill(~mask, float("-inf")).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(B, S, C)
            x = x + b.proj(y)
            x = x + b.fcp(F.gelu(b.fc(b.ln2(x)), approximate="tanh"))
        return self.lnf(x), new

    def logits(self, h):
        return h @ self.wte.t()


@torch.no_grad()
def generate(m, prompts, new, temperature):
    h, past = m.body(prompts)
    out = []
    lg = m.logits(h[:, -1])
    pos = prompts.shape[1]
    for t in range(new):
        # Inverse-CDF sampling: torch.multinomial is 2.5x slower here (and
        # the Go sampler is inverse-CDF too).
        cdf = (lg / temperature).softmax(-1).cumsum(-1)
        tok = torch.searchsorted(cdf, torch.rand(lg.shape[0], 1) * cdf[:, -1:]).clamp_(max=V - 1)
        out.append(tok)
        if t == new - 1:
            break
        h, past = m.body(tok, past, pos)
        pos += 1
        lg = m.logits(h[:, -1])
    return torch.cat(out, dim=1)


def token_logprobs(m, seqs):
    h, _ = m.body(seqs)
    lg = m.logits(h[:, :-1])
    return torch.gather(lg.log_softmax(-1), 2, seqs[:, 1:, None])[..., 0]


def rl_step(pol, ref, rm, opt, prompts, P=16, new=32, k=4):
    rows = prompts.repeat_interleave(k, dim=0)
    resp = generate(pol, rows, new, 0.9)
    seqs = torch.cat([rows, resp], dim=1)
    with torch.no_grad():
        ref_lp = token_logprobs(ref, seqs)[:, P - 1:]
        h, _ = rm.body(seqs)
        r = h[:, -1] @ rm.score
    lp = token_logprobs(pol, seqs)[:, P - 1:]
    kl = (lp.detach() - ref_lp).sum(-1)
    R = (r - 0.01 * kl).view(-1, k)
    adv = (R - (R.sum(-1, keepdim=True) - R) / (k - 1)).view(-1)
    loss = -(adv[:, None] * lp).sum(-1).mean()
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(pol.parameters(), 1.0)
    opt.step()
    return rows.shape[0]


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "rl"
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    pol, rm = GPT2(), GPT2(reward=True)
    ref = GPT2()
    ref.load_state_dict(pol.state_dict())
    opt = torch.optim.AdamW(pol.parameters(), lr=1e-5, weight_decay=0)
    for rep in range(reps + 1):
        t0 = time.perf_counter()
        if what == "rl":
            n = rl_step(pol, ref, rm, opt, torch.randint(0, V - 1, (8, 16)))
        else:
            n = 256
            generate(pol, torch.randint(0, V - 1, (n, 16)), 32, 1.0)
        dt = time.perf_counter() - t0
        if rep > 0:  # the first is warm-up
            print(f"peer {what}: {dt:.3f} s, {n / dt:.1f} seqs/s", flush=True)


if __name__ == "__main__":
    main()
