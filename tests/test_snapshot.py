"""The rule engine's output on every labelled text in the repository, pinned.

tests/snapshots/findings.jsonl holds, for the team's labelled sets and every
rule example, the rule-only checker's findings (rule, subtype, span, fix,
suggestion) and rewrite. A refactor must leave it unchanged; an intended
change regenerates it (``python tools/snapshot.py write``) in the same commit,
which says why. It also proves that ``model=False`` reproduces the rules alone.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import snapshot  # noqa: E402


def test_rule_only_output_matches_the_snapshot():
    old = {}
    for line in open(ROOT / "tests" / "snapshots" / "findings.jsonl", encoding="utf-8"):
        r = json.loads(line)
        old[r["key"]] = r
    rows = list(snapshot.items(snapshot._checker()))
    changed = [r["key"] for r in rows if old.get(r["key"]) != r]
    gone = sorted(set(old) - {r["key"] for r in rows})
    assert not changed and not gone, (f"{len(changed)} changed (first: {changed[:5]}), {len(gone)} gone; "
                                      "run python tools/snapshot.py diff")
