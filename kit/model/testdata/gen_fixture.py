#!/usr/bin/python3
"""Independent reference for package model and `warm score`.

A tiny GPT-2 written in plain PyTorch (float64) following the maths of HF
transformers' modeling_gpt2 (GPT2Attention with an attention mask, right
padding, gelu_new, GPT2ForSequenceClassification pooling at the last non-pad
token), a GPT-2 byte-level BPE written from the GPT-2 paper's encoder.py, and
a hand-written safetensors writer. HF transformers is not installed here, so
nothing is imported from it.

Run from this directory with Debian's python3-torch:
    /usr/bin/python3 gen_fixture.py
It writes:
    hf_rm/            config.json, model.safetensors (F32), vocab.json, merges.txt
    fixture.json      batch token ids, rewards, LM log-probs, some logits rows, losses
    grads.safetensors F32 gradients of the BT loss ("bt/<name>") and LM loss ("lm/<name>")
    score.jsonl       rows for `warm score` (unicode, newlines, pairs and singles)
    score_expected.jsonl  their token ids and rewards
"""
import json, math, os, re, struct
import torch
import torch.nn.functional as F

torch.manual_seed(1234)
DT = torch.float64
HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- tokenizer
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return bs, [chr(c) for c in cs]

BS, CS = bytes_to_unicode()
B2U = dict(zip(BS, CS))
# GPT-2's pattern with \p{L} -> [^\W\d_] and \p{N} -> \d (the texts below use
# no characters where Python's classes and Unicode's differ).
PAT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")

def words(text):
    return ["".join(B2U[b] for b in w.encode("utf-8")) for w in PAT.findall(text)]

CORPUS = """The quick brown fox jumps over the lazy dog. The dog sleeps in the sun,
and the fox runs into the woods. It is a good day; the weather is nice and the
people are happy. There are three things in the house: a table, a chair and a bed.
They said that the answer was not what they wanted to hear, but it was the truth."""

N_MERGES = 43
def train_merges(text, n):
    counts = {}
    for w in words(text):
        counts[w] = counts.get(w, 0) + 1
    seqs = {w: list(w) for w in counts}
    merges = []
    for _ in range(n):
        pairs = {}
        for w, c in counts.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        for w in seqs:
            s, out, i = seqs[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1]); i += 2
                else:
                    out.append(s[i]); i += 1
            seqs[w] = out
    return merges

MERGES = train_merges(CORPUS, N_MERGES)
VOCAB = {c: i for i, c in enumerate(CS)}
for a, b in MERGES:
    VOCAB[a + b] = len(VOCAB)
VOCAB["<|endoftext|>"] = len(VOCAB)
EOT = VOCAB["<|endoftext|>"]
RANKS = {m: i for i, m in enumerate(MERGES)}

def bpe(word):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(RANKS.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
        r, i = min(pairs)
        if r == 1 << 30:
            break
        a, b = parts[i], parts[i + 1]
        out, j = [], 0
        while j < len(parts):
            if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b:
                out.append(a + b); j += 2
            else:
                out.append(parts[j]); j += 1
        parts = out
    return parts

def encode(text):
    return [VOCAB[t] for w in words(text) for t in bpe(w)]

# ---------------------------------------------------------------- model
V, P, C, L, H = len(VOCAB), 128, 32, 2, 4
assert V == 300, V
HD, FF, EPS = C // H, 4 * C, 1e-5

def names():
    ns = [("transformer.wte.weight", (V, C)), ("transformer.wpe.weight", (P, C))]
    for i in range(L):
        p = f"transformer.h.{i}."
        ns += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
               (p + "attn.c_attn.weight", (C, 3 * C)), (p + "attn.c_attn.bias", (3 * C,)),
               (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
               (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
               (p + "mlp.c_fc.weight", (C, FF)), (p + "mlp.c_fc.bias", (FF,)),
               (p + "mlp.c_proj.weight", (FF, C)), (p + "mlp.c_proj.bias", (C,))]
    ns += [("transformer.ln_f.weight", (C,)), ("transformer.ln_f.bias", (C,)), ("score.weight", (1, C))]
    return ns

# Weights larger than HF's init (0.02) so every nonlinearity matters; drawn
# in float32 so the file holds them exactly.
params = {}
for n, shape in names():
    if n.endswith("ln_1.weight") or n.endswith("ln_2.weight") or n.endswith("ln_f.weight"):
        w = 1 + 0.2 * torch.randn(shape)
    elif n.endswith(".bias"):
        w = 0.1 * torch.randn(shape)
    elif n == "score.weight":
        w = 0.5 * torch.randn(shape)
    else:
        w = 0.15 * torch.randn(shape)
    params[n] = w.float().to(DT).requires_grad_(True)

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

def hidden(ids, mask):
    """GPT2Model.forward with right padding and an attention mask, eval mode."""
    B, T = ids.shape
    pos = torch.arange(T)
    h = params["transformer.wte.weight"][ids] + params["transformer.wpe.weight"][pos][None]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None]
    minv = torch.finfo(DT).min
    ext = (1.0 - mask[:, None, None, :].to(DT)) * minv
    for i in range(L):
        p = f"transformer.h.{i}."
        x = F.layer_norm(h, (C,), params[p + "ln_1.weight"], params[p + "ln_1.bias"], EPS)
        qkv = x @ params[p + "attn.c_attn.weight"] + params[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=2)
        q, k, v = [t.view(B, T, H, HD).permute(0, 2, 1, 3) for t in (q, k, v)]
        w = q @ k.transpose(-1, -2) / torch.full([], HD ** 0.5, dtype=DT)
        w = torch.where(causal, w, torch.full([], minv, dtype=DT))
        w = w + ext
        w = torch.softmax(w, dim=-1)
        a = (w @ v).permute(0, 2, 1, 3).reshape(B, T, C)
        h = h + a @ params[p + "attn.c_proj.weight"] + params[p + "attn.c_proj.bias"]
        x = F.layer_norm(h, (C,), params[p + "ln_2.weight"], params[p + "ln_2.bias"], EPS)
        m = gelu_new(x @ params[p + "mlp.c_fc.weight"] + params[p + "mlp.c_fc.bias"])
        h = h + m @ params[p + "mlp.c_proj.weight"] + params[p + "mlp.c_proj.bias"]
    return F.layer_norm(h, (C,), params["transformer.ln_f.weight"], params["transformer.ln_f.bias"], EPS)

def pad(seqs):
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), EOT, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = torch.tensor(s)
        mask[b, :len(s)] = 1
    return ids, mask

def rewards(seqs):
    ids, mask = pad(seqs)
    logits = hidden(ids, mask) @ params["score.weight"].T  # [B, T, 1]
    last = mask.sum(1) - 1  # last non-pad token (right padding)
    return logits[torch.arange(len(seqs)), last, 0]

def logprobs(seqs):
    ids, mask = pad(seqs)
    lg = hidden(ids, mask) @ params["transformer.wte.weight"].T
    lp = torch.log_softmax(lg, dim=-1)
    return lg, [lp[b, torch.arange(len(s) - 1), torch.tensor(s[1:], dtype=torch.long)] for b, s in enumerate(seqs)]

# ---------------------------------------------------------------- outputs
def write_safetensors(path, tensors, metadata):
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = metadata
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * (-len(hj) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)

g = torch.Generator().manual_seed(7)
def rand_seq(n):
    return torch.randint(0, V, (n,), generator=g).tolist()

# Padded batch: pairs (chosen, rejected) of different lengths, including a
# 1-token sequence and one of the full n_positions.
batch = [rand_seq(n) for n in (9, 5, 17, 1, 128, 30, 2, 12)]
r = rewards(batch)
diff = r[0::2] - r[1::2]
bt = -F.logsigmoid(diff).mean()
grads_bt = torch.autograd.grad(bt, [params[n] for n, _ in names()])
lg, lps = logprobs(batch)
ntok = sum(len(s) - 1 for s in batch)
lm = -sum(lp.sum() for lp in lps) / ntok
grads_lm = torch.autograd.grad(lm, [params[n] for n, _ in names()], allow_unused=True)
grads_lm = [gl if gl is not None else torch.zeros_like(params[n]) for (n, _), gl in zip(names(), grads_lm)]

tensors = []
for (n, _), gb, gl in zip(names(), grads_bt, grads_lm):
    tensors += [("bt/" + n, gb), ("lm/" + n, gl)]
write_safetensors(os.path.join(HERE, "grads.safetensors"), tensors, {"format": "pt"})

logit_rows = [(0, 0), (0, 7), (4, 127), (5, 10)]
fixture = {
    "seqs": batch,
    "rewards": r.tolist(),
    "bt_loss": bt.item(),
    "lm_loss": lm.item(),
    "logprobs": [lp.tolist() for lp in lps],
    "logits": [{"seq": b, "pos": t, "values": lg[b, t].tolist()} for b, t in logit_rows],
}
with open(os.path.join(HERE, "fixture.json"), "w") as f:
    json.dump(fixture, f)

# HF directory: weights, config as transformers writes it, tokenizer files.
d = os.path.join(HERE, "hf_rm")
os.makedirs(d, exist_ok=True)
write_safetensors(os.path.join(d, "model.safetensors"), [(n, params[n]) for n, _ in names()], {"format": "pt"})
config = {
    "activation_function": "gelu_new", "architectures": ["GPT2ForSequenceClassification"],
    "attn_pdrop": 0.1, "bos_token_id": EOT, "embd_pdrop": 0.1, "eos_token_id": EOT,
    "id2label": {"0": "LABEL_0"}, "initializer_range": 0.02, "label2id": {"LABEL_0": 0},
    "layer_norm_epsilon": EPS, "model_type": "gpt2", "n_ctx": P, "n_embd": C, "n_head": H,
    "n_inner": None, "n_layer": L, "n_positions": P, "pad_token_id": EOT,
    "reorder_and_upcast_attn": False, "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False,
    "scale_attn_weights": True, "summary_activation": None, "summary_first_dropout": 0.1,
    "summary_proj_to_labels": True, "summary_type": "cls_index", "summary_use_proj": True,
    "torch_dtype": "float32", "transformers_version": "4.46.3", "use_cache": True, "vocab_size": V,
}
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump(VOCAB, f, ensure_ascii=False)
with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n")
    for a, b in MERGES:
        f.write(f"{a} {b}\n")

rows = [
    {"prompt": "The fox said:", "response": " the dog is lazy."},
    {"prompt": "Café au lait, s'il vous plaît.\n", "response": "Naïve résumé — 日本語のテキスト 🙂!"},
    {"prompt": "Q: What's 2 + 2?\n\nA:", "chosen": " It is 4.", "rejected": " It's\tfive;  maybe\n\n   six."},
    {"prompt": "", "response": "they're here, we've seen it, I'd say we'll go  \n"},
    {"prompt": "Emoji: ", "chosen": "🙂🙂 good", "rejected": "☹ bad___day"},
    {"prompt": "The quick brown fox jumps over the lazy dog. ", "response": "Ünïcödé ÅÄÖ ñ"},
]
with open(os.path.join(HERE, "score.jsonl"), "w", encoding="utf-8") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
with open(os.path.join(HERE, "score_expected.jsonl"), "w") as f:
    for row in rows:
        if "response" in row:
            ids = encode(row["prompt"] + row["response"])
            assert 0 < len(ids) <= P, len(ids)
            f.write(json.dumps({"ids": [ids], "reward": rewards([ids]).item()}) + "\n")
        else:
            c, rj = encode(row["prompt"] + row["chosen"]), encode(row["prompt"] + row["rejected"])
            rr = rewards([c, rj])
            f.write(json.dumps({"ids": [c, rj], "chosen_reward": rr[0].item(), "rejected_reward": rr[1].item()}) + "\n")
print("vocab", V, "params", sum(p.numel() for p in params.values()), "bt", bt.item(), "lm", lm.item())
