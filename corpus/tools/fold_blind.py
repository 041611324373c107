#!/usr/bin/env python3
"""Fold a blind set into the training corpus, once it has been scored at first contact.

Usage: python3 corpus/tools/fold_blind.py tests/blind6 [tests/blind7 ...]

A blind set measures the system only until it has been scored; after that its rows are
more training data written by yet another author (POLICY.md, issue #10: "only after scoring
are they folded into training"). Each set becomes ``corpus/folded/<set>.jsonl`` in the raw
row format: single utterances as they are, conversation turns with every earlier turn of
their dialogue as ``context`` (so the training sees the listener and the dialogue flags the
library would derive). Rows sharing a 10-character run with a development-set sentence or
a real quote (tests/real_quotes, never trained on) are left out, as leak_filter.py does for
authored rows, and listed in corpus/excluded.tsv. The labels are the set author's, labelled once (no second pass); the
build marks them ``labels_from: "blind set author"``. Rows have no evidence spans, so a
multi-sentence row trains as a whole.
"""
from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPO = ROOT.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from leak_filter import _PUNCT, _texts, _windows  # noqa: E402


def _guarded_windows() -> tuple[set[str], set[str]]:
    """10-character windows (raw and without punctuation) of the dev set and the real quotes."""
    texts = _texts(sorted(glob.glob(str(REPO.parent / "shared" / "eval" / "dev_*.jsonl")))
                   + [str(REPO / "tests" / "real_quotes" / "utterances.jsonl")])
    return _windows(texts, 10, False), _windows(texts, 10, True)


def _leaks(row: dict, raw: set[str], clean: set[str]) -> bool:
    for t in [row["text"]] + [c["text"] for c in row.get("context", [])]:
        c = _PUNCT.sub("", t)
        if any(t[i:i + 10] in raw for i in range(len(t) - 9)) or any(c[i:i + 10] in clean for i in range(len(c) - 9)):
            return True
    return False


def _row(rid: str, text: str, role: str, listener: dict, labels, note: str, source: str) -> dict:
    """One corpus row in the raw format (``listener``: the utterance or conversation record that
    names counterpart and channel)."""
    channel = listener.get("channel", "call")
    return {"id": rid, "text": text, "role": role, "counterpart": listener.get("counterpart", "unknown"),
            "channel": channel, "labels": sorted(labels), "evidence": {},
            "register": {"sms": "sms", "visit": "visit"}.get(channel, "plain"), "note": note, "source": source}


def fold(set_dir: Path) -> list[dict]:
    name = set_dir.name
    tag = "b" + name.removeprefix("blind")
    rows = []
    utt = set_dir / "utterances.jsonl"
    if utt.is_file():
        for line in utt.open(encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line)
            rows.append(_row(f"{tag}-{r['id']}", r["text"], r["role"], r, r.get("labels", []), r.get("note", ""),
                             f"tests/{name}/utterances.jsonl"))
    conv = set_dir / "conversations.jsonl"
    if conv.is_file():
        for line in conv.open(encoding="utf-8"):
            if not line.strip():
                continue
            c = json.loads(line)
            earlier: list[dict] = []
            for k, u in enumerate(c["utterances"]):
                role = "agent" if u["speaker"] == "agent" else "customer"
                row = _row(f"{tag}-{c['id']}-t{k:02d}", u["text"], role, c, u.get("labels", []), "",
                           f"tests/{name}/conversations.jsonl")
                if earlier:
                    row["context"] = [dict(t) for t in earlier]
                rows.append(row)
                earlier.append({"speaker": role, "text": u["text"]})
    return rows


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2])
        return 2
    out_dir = ROOT / "folded"
    out_dir.mkdir(exist_ok=True)
    raw, clean = _guarded_windows()
    for arg in argv:
        d = Path(arg)
        rows = fold(d)
        leaked = [_leaks(r, raw, clean) for r in rows]
        keep = [r for r, bad in zip(rows, leaked) if not bad]
        dropped = [r["id"] for r, bad in zip(rows, leaked) if bad]
        path = out_dir / f"{d.name}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for r in keep:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        listed = {line.split("\t", 1)[0] for line in (ROOT / "excluded.tsv").open(encoding="utf-8")}
        with (ROOT / "excluded.tsv").open("a", encoding="utf-8") as log:
            for rid in (r for r in dropped if r not in listed):
                log.write(f"{rid}\tshares a 10-character run with a development-set sentence or a real quote\n")
        print(f"{path.relative_to(REPO)}: {len(keep)} rows ({len(dropped)} left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
