#!/usr/bin/env python3
"""Agreement between the authors' labels and the second pass; the disagreements to adjudicate.

Usage: python3 corpus/tools/agreement.py [--write-adjudication] [--json OUT]

Prints, over every row with a second-pass answer: the share of rows whose
label sets agree exactly, agreement per category (does the row carry any
label of it?) with Cohen's kappa, and kappa per subtype. With
--write-adjudication, the rows whose label sets differ go, blind (text and
setting, both label sets in random order, no names), into
corpus/labels/adjudication/jNN.jsonl batches for a third reader.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validate_rows import AGENT, RISK  # noqa: E402

CATS = ("threat", "insult", "sarcasm", "privacy", "conduct", "risk")


def kappa(a: list[bool], b: list[bool]) -> float:
    n = len(a)
    if not n:
        return float("nan")
    po = sum(x == y for x, y in zip(a, b)) / n
    pa, pb = sum(a) / n, sum(b) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


def load() -> tuple[dict, dict]:
    raw = {}
    for path in glob.glob(os.path.join(ROOT, "raw", "*.jsonl")):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                raw[r["id"]] = r
    second = {}
    for path in glob.glob(os.path.join(ROOT, "labels", "pass2", "*.jsonl")):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                second[r["id"]] = set(r["labels"])
    return raw, second


def main(argv: list[str]) -> int:
    raw, second = load()
    ids = sorted(i for i in second if i in raw)
    a = {i: set(raw[i]["labels"]) for i in ids}
    b = second
    exact = sum(a[i] == b[i] for i in ids) / max(1, len(ids))
    report = {"rows": len(ids), "exact_agreement": round(exact, 3), "categories": {}, "subtypes": {}}
    for c in CATS:
        x = [any(s.startswith(c + ".") for s in a[i]) for i in ids]
        y = [any(s.startswith(c + ".") for s in b[i]) for i in ids]
        report["categories"][c] = {"agreement": round(sum(p == q for p, q in zip(x, y)) / len(ids), 3),
                                   "kappa": round(kappa(x, y), 3), "author": sum(x), "second": sum(y)}
    for s in AGENT + RISK:
        x = [s in a[i] for i in ids]
        y = [s in b[i] for i in ids]
        report["subtypes"][s] = {"kappa": round(kappa(x, y), 3), "author": sum(x), "second": sum(y)}
    clean_a = [not a[i] for i in ids]
    clean_b = [not b[i] for i in ids]
    report["clean_vs_violation_kappa"] = round(kappa(clean_a, clean_b), 3)
    disagree = [i for i in ids if a[i] != b[i]]
    report["disagreements"] = len(disagree)
    print(json.dumps({k: v for k, v in report.items() if k != "subtypes"}, ensure_ascii=False, indent=1))
    print("subtype kappa:", ", ".join(f"{s.split('.')[1]} {v['kappa']:.2f}" for s, v in report["subtypes"].items()))
    if "--json" in argv:
        with open(argv[argv.index("--json") + 1], "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=2)
    if "--write-adjudication" in argv:
        out_dir = os.path.join(ROOT, "labels", "adjudication")
        os.makedirs(out_dir, exist_ok=True)
        done = set()
        for path in glob.glob(os.path.join(out_dir, "*.jsonl")):
            done.update(json.loads(x)["id"] for x in open(path, encoding="utf-8"))
        todo = [i for i in disagree if i not in done]
        todo.sort(key=lambda i: hashlib.sha256(i.encode()).hexdigest())
        n = len(glob.glob(os.path.join(out_dir, "*.jsonl")))
        for k in range(0, len(todo), 500):
            n += 1
            with open(os.path.join(out_dir, f"j{n:02d}.jsonl"), "w", encoding="utf-8") as f:
                for i in todo[k:k + 500]:
                    r = raw[i]
                    opts = sorted([sorted(a[i]), sorted(b[i])],
                                  key=lambda o: hashlib.sha256((i + json.dumps(o)).encode()).hexdigest())
                    row = {"id": i, "text": r["text"], "role": r["role"], "counterpart": r["counterpart"],
                           "channel": r["channel"], "option_1": opts[0], "option_2": opts[1]}
                    if r.get("context"):
                        row["context"] = r["context"]
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"j{n:02d}: {len(todo[k:k + 500])} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
