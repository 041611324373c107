#!/usr/bin/env python3
"""Check one labeller's answers: every id of the batch once, labels allowed for the row's role.

Usage: python3 corpus/tools/check_pass2.py b07
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validate_rows import AGENT, RISK  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str]) -> int:
    batch = argv[1]
    rows = [json.loads(x) for x in open(os.path.join(ROOT, "labels", "batches", f"{batch}.jsonl"), encoding="utf-8")]
    path = os.path.join(ROOT, "labels", "pass2", f"{batch}.jsonl")
    got: dict[str, list] = {}
    bad = 0
    if os.path.exists(path):
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                print(f"line {n}: not JSON"); bad += 1; continue
            if r.get("id") in got:
                print(f"line {n}: {r.get('id')} answered twice"); bad += 1
            got[r.get("id")] = r.get("labels")
    role = {r["id"]: r["role"] for r in rows}
    for rid, labels in got.items():
        if rid not in role:
            print(f"{rid}: not in the batch"); bad += 1; continue
        allowed = AGENT if role[rid] == "agent" else RISK
        if not isinstance(labels, list) or any(l not in allowed for l in labels):
            print(f"{rid}: labels {labels!r} not allowed for role {role[rid]}"); bad += 1
    missing = [r["id"] for r in rows if r["id"] not in got]
    print(f"{len(got)} answered of {len(rows)}; missing {len(missing)}; problems {bad}")
    if missing[:5]:
        print("first missing:", ", ".join(missing[:5]))
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
