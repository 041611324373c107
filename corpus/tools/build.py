#!/usr/bin/env python3
"""Build corpus/corpus.jsonl: every authored row with its final labels and provenance.

Usage: python3 corpus/tools/build.py [--allow-unlabelled]

A row's final labels are the author's when the second pass agreed, else the
adjudicator's decision. Blind sets folded in after their first-contact scoring
(corpus/folded/, see fold_blind.py) keep their author's labels. Evidence spans are kept for the labels that survive.
Rows without a second-pass answer stop the build (unless --allow-unlabelled,
for development, which keeps the author's labels and marks them so).
Prints the corpus figures the README quotes.
"""
from __future__ import annotations

import glob
import json
import os
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validate_rows import AGENT, RISK  # noqa: E402

DATE = "2026-12-07"
DATE_FOLDED = "2026-12-07"  # blind6-8, folded in after first contact


def _read(pattern: str) -> dict[str, dict]:
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
        for line in open(path, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                out[r["id"]] = r
    return out


def main(argv: list[str]) -> int:
    raw = _read("raw/*.jsonl")
    second = _read("labels/pass2/*.jsonl")
    decided = _read("labels/adjudicated/*.jsonl")
    rows, missing = [], []
    src = Counter()
    for rid in sorted(raw):
        r = raw[rid]
        author = rid.split("-")[0]
        mine = sorted(r["labels"])
        if rid in second:
            other = sorted(second[rid]["labels"])
            if other == mine:
                final, how = mine, "agreed"
            elif rid in decided:
                final, how = sorted(decided[rid]["labels"]), "adjudicated"
            else:
                missing.append(rid)
                continue
        elif "--allow-unlabelled" in argv:
            final, how = mine, "author only"
        else:
            missing.append(rid)
            continue
        src[how] += 1
        ev = {k: v for k, v in (r.get("evidence") or {}).items() if k in final}
        row = {"id": rid, "text": r["text"], "role": r["role"], "counterpart": r["counterpart"], "channel": r["channel"],
               "labels": final, "evidence": ev, "register": r["register"], "author": author,
               "brief": f"corpus/briefs/{author}.md", "date": DATE, "set": "corpus-v1", "labels_from": how}
        if r.get("context"):
            row["context"] = r["context"]
        rows.append(row)
    # Blind sets folded in after their first-contact scoring (corpus/tools/fold_blind.py): one
    # author's labels, no second pass; the set's README is the brief.
    folded = _read("folded/*.jsonl")
    for rid in sorted(folded):
        r = folded[rid]
        author = rid.split("-")[0]
        set_name = "blind" + author.removeprefix("b")
        src["blind set author"] += 1
        row = {"id": rid, "text": r["text"], "role": r["role"], "counterpart": r["counterpart"], "channel": r["channel"],
               "labels": sorted(r["labels"]), "evidence": {}, "register": r["register"], "author": author,
               "brief": f"tests/{set_name}/README.md", "date": DATE_FOLDED, "set": set_name,
               "labels_from": "blind set author"}
        if r.get("context"):
            row["context"] = r["context"]
        rows.append(row)
    if missing:
        print(f"{len(missing)} rows lack a second-pass answer or an adjudication (first: {missing[:5]})")
        if "--allow-unlabelled" not in argv:
            return 1
    with open(os.path.join(ROOT, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    agent = [r for r in rows if r["role"] == "agent"]
    cust = [r for r in rows if r["role"] == "customer"]
    labs = Counter(l for r in rows for l in r["labels"])
    clean = sum(1 for r in rows if not r["labels"])
    print(f"rows {len(rows)}: agent {len(agent)}, customer {len(cust)}; clean {clean} ({clean / len(rows):.1%}); "
          f"authors {len({r['author'] for r in rows})}; labels {dict(src)}")
    print("per subtype:", ", ".join(f"{s} {labs[s]}" for s in AGENT + RISK))
    print("under 300:", [s for s in AGENT + RISK if labs[s] < 300])
    print("registers:", dict(Counter(r["register"] for r in rows).most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
