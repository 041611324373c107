#!/usr/bin/env python3
"""Split every author's rows into blind batches for the second labelling pass.

Usage: python3 corpus/tools/label_batches.py AUTHOR... [--size 900]
       (authors whose files are finished, e.g. a01 a02 c01)

Each batch holds rows from many authors in a fixed pseudo-random order, with
only what a labeller may see (id, text, role, counterpart, channel, context):
no labels, evidence, notes or registers. Batches already written are kept, so
new authors' rows go into new batches.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOWN = ("id", "text", "role", "counterpart", "channel", "context")


def main(argv: list[str]) -> int:
    size = int(argv[argv.index("--size") + 1]) if "--size" in argv else 900
    out_dir = os.path.join(ROOT, "labels", "batches")
    os.makedirs(out_dir, exist_ok=True)
    done = set()
    for path in glob.glob(os.path.join(out_dir, "*.jsonl")):
        for line in open(path, encoding="utf-8"):
            done.add(json.loads(line)["id"])
    authors = [a for a in argv[1:] if not a.startswith("--") and not a.isdigit()]
    rows = []
    for path in sorted(os.path.join(ROOT, "raw", f"{a}.jsonl") for a in authors):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                if r["id"] not in done:
                    rows.append({k: r[k] for k in SHOWN if k in r})
    rows.sort(key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
    n = len(glob.glob(os.path.join(out_dir, "*.jsonl")))
    for i in range(0, len(rows), size):
        n += 1
        with open(os.path.join(out_dir, f"b{n:02d}.jsonl"), "w", encoding="utf-8") as f:
            for r in rows[i:i + size]:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"b{n:02d}: {len(rows[i:i + size])} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
