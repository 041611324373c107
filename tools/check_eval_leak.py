#!/usr/bin/env python3
"""Refuse commits that copy evaluation sentences into lexicons, tests, examples or docs.

Install as a pre-commit hook: cp tools/check_eval_leak.py .git/hooks/pre-commit
Or check files: python3 tools/check_eval_leak.py FILE...
"""
import json, re, subprocess, sys
N = 7
BOILER = ("银行信用卡中心", "xx银行", "XX银行", "官方客服", "信用卡中心的")
def clean(t): return re.sub(r'[，。？！、；：\s,.?!;:“”"「」…]', '', t)
grams = {}
for path in ("../shared/eval/dev_utterances.jsonl", "../shared/eval/dev_conversations.jsonl"):
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        us = r.get("utterances") or [r]
        for u in us:
            t = clean(u["text"])
            for i in range(len(t) - N + 1):
                g = t[i:i+N]
                if not any(b in g for b in BOILER) and not g.isdigit() and not g.isascii():
                    grams[g] = u["text"]
import glob, os
NC = 12  # our own blind sets (tests/challenge, tests/blind*): only long copies count
DIGITS = set("零〇一二两三四五六七八九幺0123456789")
chal = {}
for path in glob.glob("tests/challenge/*.jsonl") + glob.glob("tests/blind*/*.jsonl"):
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        r = json.loads(line)
        for u in r.get("utterances") or [r]:
            t = clean(u["text"])
            for i in range(len(t) - NC + 1):
                g = t[i:i+NC]
                if not any(b in g for b in BOILER) and not g.isdigit() and not g.isascii() and not set(g) <= DIGITS:
                    chal[g] = f"[{os.path.dirname(path)}] " + u["text"]
policy = clean(open("../shared/POLICY.md", encoding="utf-8").read())
grams = {g: t for g, t in grams.items() if g not in policy}
chal = {g: t for g, t in chal.items() if g not in policy and sum(ch.isdigit() for ch in g) < 4}
files = sys.argv[1:] or subprocess.run(["git", "diff", "--cached", "--name-only", "--diff-filter=AM"], capture_output=True, text=True).stdout.split()
bad = []
for f in files:
    if not (f.startswith(("lexicons/", "tests/", "examples/", "docs/")) or f == "README.md") or f.startswith(("tests/challenge/", "tests/blind")):
        continue
    try:
        if len(sys.argv) > 1:
            body = open(f, encoding="utf-8", errors="ignore").read()
        else:
            body = subprocess.run(["git", "show", f":{f}"], capture_output=True, text=True, errors="ignore").stdout
    except OSError:
        continue
    for lineno, line in enumerate(body.splitlines(), 1):
        c = clean(line)
        for i in range(len(c) - N + 1):
            if c[i:i+N] in grams:
                bad.append(f"{f}:{lineno}: copies evaluation text «{c[i:i+N]}»")
                break
            if c[i:i+NC] in chal:
                bad.append(f"{f}:{lineno}: copies {chal[c[i:i+NC]].split(']')[0].lstrip('[')} text «{c[i:i+NC]}»")
                break
if bad:
    print("COMMIT REFUSED by the evaluation-leak check: these lines copy sentences or distinctive phrases", file=sys.stderr)
    print("from the evaluation set (../shared/eval). The held-out set is written in other words: rewrite these", file=sys.stderr)
    print("examples/terms in your own words and cover the phenomenon with word classes and constructions instead.", file=sys.stderr)
    print("(Check before committing: python3 tools/check_eval_leak.py FILE...; phrases quoted in POLICY.md are allowed.)", file=sys.stderr)
    for b in bad[:60]:
        print("  " + b, file=sys.stderr)
    if len(bad) > 60:
        print(f"  ... and {len(bad) - 60} more", file=sys.stderr)
    sys.exit(1)
