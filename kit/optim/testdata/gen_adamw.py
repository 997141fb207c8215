# Reference for optim tests: torch.optim.AdamW and clip_grad_norm_ on fixed
# values. Run: /usr/bin/python3 gen_adamw.py > adamw.json
import json, torch
torch.manual_seed(0)
w0 = torch.randn(2, 5)
b0 = torch.randn(5)
grads = [(torch.randn(2, 5), torch.randn(5)) for _ in range(4)]
w = w0.clone().requires_grad_(True)
b = b0.clone().requires_grad_(True)
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                        lr=0.01, betas=(0.9, 0.999), eps=1e-8)
lrs = [0.01, 0.02, 0.005, 0.01]
norms = []
for (gw, gb), lr in zip(grads, lrs):
    for g in opt.param_groups:
        g["lr"] = lr
    w.grad = gw.clone() * 3
    b.grad = gb.clone() * 3
    norms.append(float(torch.nn.utils.clip_grad_norm_([w, b], 2.0)))
    opt.step()
print(json.dumps({
    "w0": w0.flatten().tolist(), "b0": b0.tolist(),
    "grads": [[(gw * 3).flatten().tolist(), (gb * 3).tolist()] for gw, gb in grads],
    "lrs": lrs, "max_norm": 2.0, "norms": norms,
    "w": w.detach().flatten().tolist(), "b": b.detach().tolist(),
}))
