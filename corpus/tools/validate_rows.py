#!/usr/bin/env python3
"""Check one author's corpus rows: format, labels, evidence, quotas.

Usage: python3 corpus/tools/validate_rows.py corpus/raw/a07.jsonl [--quota 600]
Prints errors (file:line: reason), then counts per subtype, role and register.
Exit 1 when any row is malformed.
"""
from __future__ import annotations

import json
import sys
from collections import Counter

AGENT = ("threat.violence", "threat.exposure", "threat.harassment", "threat.family", "threat.legal_false",
         "threat.impersonation", "insult.abuse", "insult.profanity", "insult.demeaning",
         "sarcasm.mock_praise", "sarcasm.mock_respect", "sarcasm.ridicule", "privacy.pii_exposure",
         "privacy.third_party_disclosure", "privacy.credential_request", "conduct.improper_payment",
         "conduct.private_channel", "conduct.dismiss_distress", "conduct.ignore_dispute")
RISK = ("risk.complaint", "risk.self_harm", "risk.hardship")
REGISTERS = ("plain", "asr", "sms", "chat", "visit", "visit_note", "dialect-yue", "dialect-chuanyu",
             "dialect-dongbei", "dialect-hu", "dialect-xibei", "traditional", "evasion", "long")


def problems(row: dict) -> list[str]:
    out = []
    for key in ("id", "text", "role", "counterpart", "channel", "labels", "register"):
        if key not in row:
            out.append(f"missing {key}")
    if out:
        return out
    if not isinstance(row["text"], str) or not row["text"].strip():
        out.append("empty text")
    if row["role"] not in ("agent", "customer"):
        out.append(f"role {row['role']!r}")
    if row["counterpart"] not in ("debtor", "third_party", "unknown"):
        out.append(f"counterpart {row['counterpart']!r}")
    if row["channel"] not in ("call", "visit", "sms"):
        out.append(f"channel {row['channel']!r}")
    if row["register"] not in REGISTERS:
        out.append(f"register {row['register']!r}")
    allowed = AGENT if row["role"] == "agent" else RISK
    labels = row["labels"]
    if not isinstance(labels, list) or len(set(labels)) != len(labels):
        out.append("labels must be a list without repeats")
        labels = []
    for lab in labels:
        if lab not in allowed:
            out.append(f"label {lab!r} not allowed for role {row['role']}")
    ev = row.get("evidence") or {}
    if set(ev) != set(labels):
        out.append("evidence must have exactly one entry per label")
    for lab, span in ev.items():
        if not isinstance(span, str) or not span or span not in row["text"]:
            out.append(f"evidence for {lab} is not a substring of text")
    ctx = row.get("context", [])
    if not isinstance(ctx, list) or len(ctx) > 3 or any(
            not isinstance(t, dict) or t.get("speaker") not in ("agent", "customer") or not t.get("text")
            for t in ctx):
        out.append("context must be a list of at most 3 {speaker, text} turns")
    return out


def main(argv: list[str]) -> int:
    path = argv[1]
    quota = int(argv[argv.index("--quota") + 1]) if "--quota" in argv else 600
    rows, bad, ids = [], 0, set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"{path}:{n}: not JSON ({exc.msg})")
                bad += 1
                continue
            errs = problems(row)
            if row.get("id") in ids:
                errs.append(f"duplicate id {row.get('id')}")
            ids.add(row.get("id"))
            for e in errs:
                print(f"{path}:{n}: {e}")
            bad += bool(errs)
            rows.append(row)
    texts = Counter(r.get("text") for r in rows)
    dups = sum(c - 1 for c in texts.values() if c > 1)
    labs = Counter(l for r in rows for l in r.get("labels", []))
    agent = [r for r in rows if r.get("role") == "agent"]
    cust = [r for r in rows if r.get("role") == "customer"]
    print(f"rows {len(rows)} (quota {quota})  malformed {bad}  duplicate texts {dups}")
    print(f"agent {len(agent)}: with violations {sum(bool(r.get('labels')) for r in agent)}, "
          f"clean {sum(not r.get('labels') for r in agent)}")
    print(f"customer {len(cust)}: risk {sum(bool(r.get('labels')) for r in cust)}, "
          f"clean {sum(not r.get('labels') for r in cust)}")
    short = [s for s in AGENT if labs[s] < 12] + [s for s in RISK if labs[s] < 15]
    for s in AGENT + RISK:
        print(f"  {s:32s} {labs[s]}")
    print("registers:", dict(Counter(r.get("register") for r in rows).most_common()))
    if short:
        print("below quota:", ", ".join(short))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
