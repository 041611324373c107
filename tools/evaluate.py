#!/usr/bin/env python3
"""Score the library on labelled sets (the same measures as ../shared/eval/score.py), rules and model or rules alone.

Usage:
    python tools/evaluate.py tests/blind5 [tests/challenge ...] [--no-model] [--json OUT]

A set is a directory holding utterances.jsonl and/or conversations.jsonl (or the files themselves).
Per category precision / recall / F1 at utterance level, macro F1 over threat, insult,
sarcasm and privacy, the false-alarm rate on clean agent utterances, subtype accuracy and the
share of rewrites that re-check clean. The quality gate in tests/test_quality_gate.py and
docs/quality.md use it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

MISSION = ("threat", "insult", "sarcasm", "privacy")
VIOLATIONS = MISSION + ("conduct",)
CATEGORIES = VIOLATIONS + ("risk",)


def _files(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        out += sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    return out


def cases(checker, paths: list[str]) -> list[tuple]:
    """(gold subtypes, predicted subtypes, result, role, counterpart, channel) per utterance."""
    out = []
    for path in _files(paths):
        for line in open(path, encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            if "utterances" in r:
                res = checker.check_conversation({k: v for k, v in r.items() if k != "labels"})
                for u, ur, cp in zip(r["utterances"], res.utterances, res.counterparts):
                    out.append((set(u.get("labels", [])), {f.subtype for f in ur.findings}, ur,
                                u["speaker"] if u["speaker"] in ("agent", "customer") else ur.role, cp, r.get("channel", "call"),
                                u.get("note", "")))
            else:
                role, cp, ch = r.get("role", "agent"), r.get("counterpart", "unknown"), r.get("channel", "call")
                res = checker.check(r["text"], role=role, counterpart=cp, channel=ch)
                out.append((set(r.get("labels", [])), {f.subtype for f in res.findings}, res, role, cp, ch, r.get("note", "")))
    return out


def metrics(checker, cs: list[tuple], clean_note: str | None = None) -> dict:
    """``clean_note``: a regex over the rows' ``note``; adds the false-alarm rate on the clean agent
    turns whose note matches (e.g. lawful firm statements), the subset the issue targets separately."""
    cats = lambda subs: {s.split(".")[0] for s in subs}  # noqa: E731
    per = {}
    for c in CATEGORIES:
        tp = sum(1 for g, p, *_ in cs if c in cats(g) and c in cats(p))
        fp = sum(1 for g, p, *_ in cs if c not in cats(g) and c in cats(p))
        fn = sum(1 for g, p, *_ in cs if c in cats(g) and c not in cats(p))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        per[c] = {"precision": round(prec, 3), "recall": round(rec, 3),
                  "f1": round(2 * prec * rec / (prec + rec), 3) if prec + rec else 0.0, "support": tp + fn}
    clean = [x for x in cs if not x[0] and x[3] == "agent"]
    fa = sum(1 for x in clean if cats(x[1]) & set(VIOLATIONS))
    hits = total = 0
    for g, p, *_ in cs:
        for s in g:
            if s.split(".")[0] in cats(p):
                total += 1
                hits += s in p
    rw_total = rw_ok = 0
    for g, p, res, role, cp, ch, _note in cs:
        if role != "agent" or not (cats(p) & set(VIOLATIONS)):
            continue
        rw_total += 1
        again = checker.check(res.rewrite, role=role, counterpart=cp, channel=ch)
        rw_ok += not (cats({f.subtype for f in again.findings}) & set(VIOLATIONS))
    extra = {}
    if clean_note:
        sub = [x for x in clean if re.search(clean_note, x[6])]
        extra = {"clean_note": clean_note, "clean_note_cases": len(sub),
                 "clean_note_false_alarms": sum(1 for x in sub if cats(x[1]) & set(VIOLATIONS))}
    return {**extra, "cases": len(cs), "per_category": per,
            "macro_f1": round(sum(per[c]["f1"] for c in MISSION) / len(MISSION), 3),
            "clean_false_alarm_rate": round(fa / len(clean), 4) if clean else None, "clean_cases": len(clean),
            "subtype_accuracy": round(hits / total, 3) if total else None,
            "rewrite_clean_rate": round(rw_ok / rw_total, 3) if rw_total else None}


def evaluate(checker, paths: list[str], clean_note: str | None = None) -> dict:
    return metrics(checker, cases(checker, paths), clean_note)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--no-model", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--clean-note", metavar="REGEX",
                    help="also report false alarms on clean agent turns whose note matches REGEX")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import tonecheck

    checker = tonecheck.Checker(model=not args.no_model)
    m = evaluate(checker, args.paths, args.clean_note)
    print(f"{'category':10} {'P':>6} {'R':>6} {'F1':>6} {'n':>5}")
    for c, d in m["per_category"].items():
        print(f"{c:10} {d['precision']:6.3f} {d['recall']:6.3f} {d['f1']:6.3f} {d['support']:5d}")
    for k in ("clean_note_cases", "clean_note_false_alarms", "macro_f1", "clean_false_alarm_rate", "clean_cases", "subtype_accuracy", "rewrite_clean_rate", "cases"):
        if k in m:
            print(f"{k}: {m[k]}")
    if args.json:
        Path(args.json).write_text(json.dumps(m, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
