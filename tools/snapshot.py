#!/usr/bin/env python3
"""Record (or compare) what the checker finds on every labelled text in the repository.

Usage:
    python tools/snapshot.py write   # regenerate tests/snapshots/findings.jsonl
    python tools/snapshot.py diff    # list the items whose findings or rewrite changed

Covers the team's labelled sets (tests/blind*, tests/challenge: utterances and
conversations), every rule example and the bundled examples' texts, with the
rule-only checker. An engine refactor must leave this unchanged; an intended
change of output is regenerated in the same commit, and the commit says why.
"""
from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "snapshots" / "findings.jsonl"


def _checker():
    import tonecheck

    try:
        return tonecheck.Checker(model=False)
    except TypeError:  # before the model existed
        return tonecheck.Checker()


def _result_row(key: str, res) -> dict:
    return {"key": key,
            "findings": [[f.rule_id, f.subtype, f.start, f.end, f.fix_start, f.fix_end, f.suggestion]
                         for f in res.findings],
            "rewrite": res.rewrite, "truncated": res.truncated}


# The team's own labelled sets. Evaluation sets (first-contact blind sets, real quotes) are
# scored once by tools/evaluate.py and never pinned here.
TEAM_SETS = ("blind2", "blind3", "blind4", "blind5", "challenge")


def _team_sets(name: str) -> list[str]:
    return [str(ROOT / "tests" / d / name) for d in TEAM_SETS if (ROOT / "tests" / d / name).is_file()]


def items(checker):
    """Yield snapshot rows in a fixed order."""
    from tonecheck.selftest import _kwargs

    for path in _team_sets("utterances.jsonl"):
        name = Path(path).parent.name
        for line in open(path, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                res = checker.check(r["text"], role=r.get("role", "agent"), counterpart=r.get("counterpart", "unknown"),
                                    channel=r.get("channel", "call"))
                yield _result_row(f"{name}/{r['id']}", res)
    for path in _team_sets("conversations.jsonl"):
        name = Path(path).parent.name
        for line in open(path, encoding="utf-8"):
            if line.strip():
                conv = json.loads(line)
                res = checker.check_conversation(conv)
                for i, u in enumerate(res.utterances):
                    yield _result_row(f"{name}/{conv['id']}/{i}", u) | {"counterpart": res.counterparts[i]}
    for rule in checker.rules:
        for kind in ("fire", "clean"):
            for ex in getattr(rule.examples, kind):
                kw = _kwargs(rule, ex, fire=kind == "fire")
                res = checker.check(ex.text, role=kw["role"], counterpart=kw["counterpart"], channel=kw["channel"],
                                    context=kw["context"])
                yield _result_row(example_key(rule.id, kind, ex), res)


def example_key(rule_id: str, kind: str, ex) -> str:
    """A rule example's row key: its rule, kind and text (and any setting it states), not its position,
    so an example keeps its row when examples move (into a construction, say) or new ones are added."""
    setting = [f"{k}={v}" for k, v in (("role", ex.role), ("counterpart", ex.counterpart), ("channel", ex.channel))
               if v] + ([f"context={','.join(ex.context)}"] if ex.context else [])
    return f"rule/{rule_id}/{kind}/{ex.text}" + ("|" + ";".join(setting) if setting else "")


def main(argv: list[str]) -> int:
    mode = argv[1] if len(argv) > 1 else "diff"
    rows = list(items(_checker()))
    if mode == "write":
        OUT.parent.mkdir(parents=True, exist_ok=True)
        with open(OUT, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} rows to {OUT.relative_to(ROOT)}")
        return 0
    old = {}
    for line in open(OUT, encoding="utf-8"):
        r = json.loads(line)
        old[r["key"]] = r
    changed = [r for r in rows if r["key"] in old and old[r["key"]] != r]
    added = [r for r in rows if r["key"] not in old]
    missing = set(old) - {r["key"] for r in rows}
    for r in changed[:50]:
        print("changed:", r["key"])
        print("   was:", json.dumps(old.get(r["key"]), ensure_ascii=False)[:400])
        print("   now:", json.dumps(r, ensure_ascii=False)[:400])
    for r in added[:20]:
        print("new:", json.dumps(r, ensure_ascii=False)[:400])
    for k in sorted(missing)[:20]:
        print("gone:", k)
    print(f"{len(rows)} rows, {len(changed)} changed, {len(added)} new, {len(missing)} gone")
    return 1 if changed or added or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
