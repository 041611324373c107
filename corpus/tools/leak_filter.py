#!/usr/bin/env python3
"""Drop corpus rows that share a distinctive piece with an evaluation sentence.

Usage: python3 corpus/tools/leak_filter.py AUTHOR...

Authors never see the evaluation sets, but people who write about the same
trade converge on the same phrases ("the child's school and class"). A row
that shares a 10-character run (digits aside) with a development-set sentence
(../shared/eval), or a 12-character run with the team's labelled sets
(tests/blind*, tests/challenge), is removed from the author's file and listed
(id and reason only, never the text) in corpus/excluded.tsv. The evaluation
sets then measure the model on text it never saw.
"""
from __future__ import annotations

import glob
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(ROOT)
_PUNCT = re.compile(r'[，。？！、；：\s,.?!;:“”"「」…]')


def _texts(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        for line in open(path, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                out.extend(u["text"] for u in (r.get("utterances") or [r]) if u.get("text"))
    return out


def _windows(texts: list[str], n: int, clean: bool) -> set[str]:
    out = set()
    for t in texts:
        t = _PUNCT.sub("", t) if clean else t
        for i in range(len(t) - n + 1):
            w = t[i:i + n]
            if not any(c.isdigit() or c == "*" for c in w):
                out.add(w)
    return out


def main(argv: list[str]) -> int:
    shared = os.path.join(os.path.dirname(REPO), "shared", "eval")
    dev = _texts(sorted(glob.glob(os.path.join(shared, "dev_*.jsonl"))))
    team = _texts(sorted(glob.glob(os.path.join(REPO, "tests", "blind*", "*.jsonl"))
                         + glob.glob(os.path.join(REPO, "tests", "challenge", "*.jsonl"))))
    dev_raw, dev_clean = _windows(dev, 10, False), _windows(dev, 10, True)
    team_clean = _windows(team, 12, True)
    excluded = os.path.join(ROOT, "excluded.tsv")
    with open(excluded, "a", encoding="utf-8") as log:
        for author in argv[1:]:
            path = os.path.join(ROOT, "raw", f"{author}.jsonl")
            keep, dropped = [], 0
            for line in open(path, encoding="utf-8"):
                if not line.strip():
                    continue
                r = json.loads(line)
                texts = [r["text"]] + [t["text"] for t in r.get("context", [])]
                why = None
                for t in texts:
                    c = _PUNCT.sub("", t)
                    if any(t[i:i + 10] in dev_raw for i in range(len(t) - 9)) or \
                            any(c[i:i + 10] in dev_clean for i in range(len(c) - 9)):
                        why = "shares a 10-character run with a development-set sentence"
                    elif any(c[i:i + 12] in team_clean for i in range(len(c) - 11)):
                        why = "shares a 12-character run with a team labelled set (tests/blind*, tests/challenge)"
                    if why:
                        break
                if why:
                    log.write(f"{r['id']}\t{why}\n")
                    dropped += 1
                else:
                    keep.append(line if line.endswith("\n") else line + "\n")
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(keep)
            print(f"{author}: kept {len(keep)}, dropped {dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
