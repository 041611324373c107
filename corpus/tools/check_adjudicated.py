#!/usr/bin/env python3
"""Check one adjudicator's file: every id of the batch once, labels allowed for the role, a reason each.

Usage: python3 corpus/tools/check_adjudicated.py j01
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
    rows = [json.loads(x) for x in open(os.path.join(ROOT, "labels", "adjudication", f"{batch}.jsonl"), encoding="utf-8")]
    path = os.path.join(ROOT, "labels", "adjudicated", f"{batch}.jsonl")
    got, bad = {}, 0
    if os.path.exists(path):
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("id") in got:
                print(f"line {n}: {r.get('id')} answered twice"); bad += 1
            got[r.get("id")] = r
    role = {r["id"]: r["role"] for r in rows}
    for rid, r in got.items():
        if rid not in role:
            print(f"{rid}: not in the batch"); bad += 1; continue
        allowed = AGENT if role[rid] == "agent" else RISK
        if not isinstance(r.get("labels"), list) or any(l not in allowed for l in r["labels"]):
            print(f"{rid}: labels {r.get('labels')!r} not allowed for role {role[rid]}"); bad += 1
        if not str(r.get("reason", "")).strip():
            print(f"{rid}: no reason"); bad += 1
    missing = [r["id"] for r in rows if r["id"] not in got]
    print(f"{len(got)} decided of {len(rows)}; missing {len(missing)}; problems {bad}")
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
