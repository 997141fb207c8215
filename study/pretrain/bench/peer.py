#!/usr/bin/python3
"""PyTorch peer of BenchmarkPretrainStep: one training step of preset quick's
GPT-2 language model (vocab 8192, d 128, 4 layers, 4 heads, 128 positions,
16 windows per step; tied LM head, gelu_new, dropout 0), cross-entropy over
the vocabulary, clip_grad_norm_(1.0), AdamW(betas 0.9/0.95, wd 0.1).

  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 study/pretrain/bench/peer.py [seconds] [threads]

Prints one line: "pretrain tokens/s N tokens/cpu-s M" (tokens per second of
process CPU time: on a shared machine wall time measures the neighbours).
"""
import math, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
torch.manual_seed(0)
V, P, C, L, H, B, T = 8192, 128, 128, 4, 4, 16, 128

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)
    def forward(self, x, causal):
        B_, T_, _ = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = [t.view(B_, T_, H, C // H).transpose(1, 2) for t in (q, k, v)]
        w = (q @ k.transpose(-1, -2)) / math.sqrt(C // H)
        w = w.masked_fill(~causal[:T_, :T_], torch.finfo(w.dtype).min)
        a = (torch.softmax(w, dim=-1) @ v).transpose(1, 2).reshape(B_, T_, C)
        x = x + self.c_proj(a)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(P, C)
        self.h = nn.ModuleList([Block() for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        self.register_buffer("causal", torch.tril(torch.ones(P, P, dtype=torch.bool)))
    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        for b in self.h:
            x = b(x, self.causal)
        return self.ln_f(x) @ self.wte.weight.t()

secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10
m = LM().train()
decay = [p for n, p in m.named_parameters() if p.dim() == 2]
other = [p for n, p in m.named_parameters() if p.dim() != 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=1e-4, betas=(0.9, 0.95))
ids = torch.randint(0, V, (B, T))
def step():
    opt.zero_grad()
    logits = m(ids)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
step()
n, t0, c0 = 0, time.perf_counter(), time.process_time()
while time.perf_counter() - t0 < secs:
    step(); n += 1
print("pretrain tokens/s %.0f tokens/cpu-s %.0f" % (n * B * T / (time.perf_counter() - t0), n * B * T / (time.process_time() - c0)))
