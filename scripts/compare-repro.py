#!/usr/bin/env python3
"""Compare two `warm repro` output trees: every file except PNG/HTML byte-equal,
after dropping timing/path fields from JSON(L) (seconds, when, time, *_s, elapsed, tokens_per_s)."""
import json, os, re, sys, hashlib
VOLATILE = re.compile(r'(seconds|per_second|^when$|^time$|elapsed|per_s$|^wall|^started|^finished|^date$|policy_stamp)', re.I)
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if not VOLATILE.search(k)}
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, str):
        return re.sub(r'/tmp/house/[a-z0-9]+', 'ROOT', v)
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
        s = re.sub(r'/tmp/house/[a-z0-9]+', 'ROOT', s)
        s = re.sub(r'written \S+ \S+ UTC', 'written T', s)
        s = re.sub(r'\b\d+(\.\d+)?\s*(s|min|seconds)\b', 'T', s)
        s = re.sub(r'\| \d{4,} \|', '| TOKS/S |', s)
        return s
    return hashlib.sha256(b).hexdigest()
a, b = sys.argv[1], sys.argv[2]
files = lambda r: {os.path.relpath(os.path.join(d, f), r) for d, _, fs in os.walk(r) for f in fs if f not in ('stages.json', 'report.html')}
fa, fb = files(a), files(b)
bad = 0
for f in sorted(fa ^ fb): print('only in one:', f); bad += 1
for f in sorted(fa & fb):
    if norm(os.path.join(a, f)) != norm(os.path.join(b, f)): print('differs:', f); bad += 1
print(f'{len(fa & fb)} files compared, {bad} differences')
sys.exit(1 if bad else 0)
