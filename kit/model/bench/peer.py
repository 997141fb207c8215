#!/usr/bin/python3
"""PyTorch peer for the model benchmarks: the same GPT-2 reward model
(vocab 8192, d 128, 4 heads, 2 layers, MLP 512, seq 128) as
kit/model/bench_test.go, as HF's GPT2ForSequenceClassification computes it.

  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 kit/model/bench/peer.py [train|infer] [seconds]

Prints one line: "train tokens/s N" or "infer seqs/s N".
"""
import math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
V, P, C, L, H, FF, T = 8192, 128, 128, 2, 4, 512, 128

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, FF), nn.Linear(FF, C)
        self.drop = nn.Dropout(0.1)
    def forward(self, x, causal):
        B, T_, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = [t.view(B, T_, H, C // H).transpose(1, 2) for t in (q, k, v)]
        w = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
        w = w.masked_fill(~causal[:T_, :T_], torch.finfo(w.dtype).min)
        w = self.drop(torch.softmax(w, dim=-1))
        a = (w @ v).transpose(1, 2).reshape(B, T_, C)
        x = x + self.drop(self.c_proj(a))
        m = self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x + self.drop(m)

class RM(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(P, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.score = nn.Linear(C, 1, bias=False)
        self.drop = nn.Dropout(0.1)
        self.register_buffer("causal", torch.tril(torch.ones(P, P, dtype=torch.bool)))
    def forward(self, ids):
        x = self.drop(self.wte(ids) + self.wpe(torch.arange(ids.shape[1])))
        for b in self.h:
            x = b(x, self.causal)
        return self.score(self.ln_f(x))[:, -1, 0]

mode = sys.argv[1] if len(sys.argv) > 1 else "train"
secs = float(sys.argv[2]) if len(sys.argv) > 2 else 5
m = RM()
if mode == "train":
    m.train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    ids = torch.randint(0, V, (32, T))
    def step():
        opt.zero_grad()
        r = m(ids)
        loss = -F.logsigmoid(r[0::2] - r[1::2]).mean()
        loss.backward()
        opt.step()
    step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < secs:
        step(); n += 1
    print("train tokens/s %.0f" % (n * 32 * T / (time.perf_counter() - t0)))
else:
    m.eval()
    ids = torch.randint(0, V, (64, T))
    with torch.no_grad():
        m(ids)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < secs:
            m(ids); n += 1
    print("infer seqs/s %.0f" % (n * 64 / (time.perf_counter() - t0)))
