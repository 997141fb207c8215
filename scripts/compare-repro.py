#!/usr/bin/env python3
"""Compare two `warm repro` output trees, e.g. before and after a refactor:

    warm-old repro --preset tiny --sample --out /tmp/a
    warm-new repro --preset tiny --sample --out /tmp/b
    scripts/compare-repro.py /tmp/a /tmp/b

Every file must match: safetensors, PNGs and other binaries byte for byte;
JSON/JSONL value for value once timing fields (seconds, *_per_second, when,
policy_stamp) are dropped and the two run roots are replaced by ROOT;
report.md once timings are masked. stages.json (hashes of argument lists)
and report.html (embeds the report's timings) are skipped. Exit status 1 on
any difference."""
import json, os, re, sys, hashlib
ROOTS = []
VOLATILE = re.compile(r'(seconds|per_second|^when$|^time$|elapsed|per_s$|^wall|^started|^finished|^date$|policy_stamp)', re.I)
def unroot(s):
    for r in ROOTS:
        s = s.replace(r, 'ROOT')
    return s
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if not VOLATILE.search(k)}
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, str):
        return unroot(v)
    return v
def norm(path):
    b = open(path, 'rb').read()
    if path.endswith('.json'):
        try: return json.dumps(clean(json.loads(b)), sort_keys=True)
        except Exception: pass
    if path.endswith('.jsonl'):
        try: return '\n'.join(json.dumps(clean(json.loads(l)), sort_keys=True) for l in b.splitlines() if l.strip())
        except Exception: pass
    if path.endswith('.md') or path.endswith('.html'):
        s = b.decode(errors='replace')
        s = unroot(s)
        s = re.sub(r'written \S+ \S+ UTC', 'written T', s)
        s = re.sub(r'\b\d+(\.\d+)?\s*(s|min|seconds)\b', 'T', s)
        s = re.sub(r'\| \d{4,} \|', '| TOKS/S |', s)
        return s
    return hashlib.sha256(b).hexdigest()
a, b = sys.argv[1], sys.argv[2]
ROOTS[:] = sorted({os.path.abspath(a), os.path.abspath(b), a.rstrip('/'), b.rstrip('/')}, key=len, reverse=True)
files = lambda r: {os.path.relpath(os.path.join(d, f), r) for d, _, fs in os.walk(r) for f in fs if f not in ('stages.json', 'report.html')}
fa, fb = files(a), files(b)
bad = 0
for f in sorted(fa ^ fb): print('only in one:', f); bad += 1
for f in sorted(fa & fb):
    if norm(os.path.join(a, f)) != norm(os.path.join(b, f)): print('differs:', f); bad += 1
print(f'{len(fa & fb)} files compared, {bad} differences')
sys.exit(1 if bad else 0)
