"""Rejected hits back to the rule author, as lexicon files that ``tonecheck rules test`` runs.

For every rule with rejected hits, ``feedback`` writes a *twin* of the rule into
``OUT/review-feedback.toml`` (the lexicon format of docs/lexicon-format.md): the same
definition under the id ``QA-<RULE>``, with every rejected turn added to ``examples.clean``
(with the listener and channel of the call) and, unless ``--examples-only``, the rejected
phrase (the span with a few characters of its clause around it) added to ``exceptions``, the
rule's allow-list. The team then disables the original in ``tonecheck.toml``
(``disable = ["<RULE>"]``, printed by the command) so the twin replaces it, and

* with the allow-list entries, ``tonecheck rules test OUT`` passes at once: the rejected
  sentences stay clean while the rule's own fire examples still fire;
* with ``--examples-only``, it fails on each rejected sentence until the author narrows the
  twin (an ``unless``, a tighter pattern, an exception), and passes when the fix is right.

Re-running merges: a twin already in the file keeps its definition (the author's fix) and only
gains new examples and allow-list entries. Rejected hits of conversation-level rules (contact
policy) have no lexicon rule; they are listed, to be fixed in the ``[contact]`` config.
"""
from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..checker import Checker
from . import schema as t
from .db import Store

OUT_NAME = "review-feedback.toml"
TWIN_PREFIX = "QA-"   # not a suffix: a selector "X" also disables "X-…" ids
_CLAUSE_END = re.compile(r"[，。！？；、,.!?;\s]")
CONTEXT_CHARS = 4


@dataclass
class FeedbackResult:
    path: Path
    twins: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    examples_added: int = 0
    skipped: list[str] = field(default_factory=list)   # one line each: what could not become a lexicon entry


def allow_phrase(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> str:
    """The span and up to ``context`` characters on each side, without crossing a clause boundary."""
    a = start
    while a > 0 and start - a < context and not _CLAUSE_END.match(text[a - 1]):
        a -= 1
    b = end
    while b < len(text) and b - end < context and not _CLAUSE_END.match(text[b]):
        b += 1
    return text[a:b]


_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence holding text[start:end] (its end punctuation included)."""
    a = start
    while a > 0 and not _SENTENCE_END.match(text[a - 1]):
        a -= 1
    b = end
    while b < len(text) and not _SENTENCE_END.match(text[b]):
        b += 1
    return a, min(len(text), b + 1)


def clean_text(h: dict[str, Any], others: list[tuple[int, int]]) -> str | None:
    """What may be claimed clean of the hit's subtype: the whole turn when no other unrejected hit of
    that subtype is in it, else the hit's sentence when none is in that, else nothing."""
    text = h["turn_text"]
    if not others:
        return text
    a, b = sentence_around(text, h["start"], h["end"])
    if any(s < b and a < e for s, e in others):
        return None
    return text[a:b].strip() or None


def rejected_hits(store: Store) -> list[dict[str, Any]]:
    """Rejected hits with their turn, and the spans of other hits of the same subtype in that turn
    that reviewers did not reject (a confirmed neighbour means the turn is not clean)."""
    H, C, T = t.hits, t.conversations, t.turns
    q = (sa.select(H.c.hit_id, H.c.rule_id, H.c.subtype, H.c.turn, H.c.start, H.c.end, C.c.channel,
                   H.c.conversation_id,
                   T.c.text.label("turn_text"), T.c.speaker, T.c.counterpart)
         .select_from(H.join(C, C.c.id == H.c.conversation_id)
                      .outerjoin(T, sa.and_(T.c.conversation_id == H.c.conversation_id, T.c.position == H.c.turn)))
         .where(H.c.status == "rejected", H.c.category != "risk").order_by(H.c.rule_id, H.c.hit_id))
    other = H.alias("other")
    q2 = (sa.select(H.c.hit_id, other.c.start, other.c.end)
          .join(other, sa.and_(other.c.conversation_id == H.c.conversation_id, other.c.turn == H.c.turn,
                               other.c.subtype == H.c.subtype, other.c.hit_id != H.c.hit_id,
                               other.c.status != "rejected", other.c.present == sa.true()))
          .where(H.c.status == "rejected", H.c.category != "risk", H.c.turn.is_not(None)))
    with store.read() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
        others: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for hid, a, b in conn.execute(q2):
            others[hid].append((a, b))
    for r in rows:
        r["others"] = others.get(r["hit_id"], [])
    return rows


def _twin(rule: Any) -> dict[str, Any]:
    d = rule.model_dump(mode="json", exclude_defaults=True, exclude={"enabled"})
    d["id"] = TWIN_PREFIX + rule.id
    d["name"] = (rule.name or rule.id) + "（复核反馈版）"
    d["description"] = (f"{rule.id} with what reviewers rejected: clean examples and allow-list entries written "
                        f"by tonecheck feedback. Disable {rule.id} in tonecheck.toml so this twin replaces it.")
    return d


def _example(h: dict[str, Any], text: str) -> dict[str, Any]:
    ex: dict[str, Any] = {"text": text}
    if h.get("speaker") in ("agent", "customer"):
        ex["role"] = h["speaker"]
    if h.get("counterpart") in ("debtor", "third_party", "unknown"):
        ex["counterpart"] = h["counterpart"]
    if h.get("channel") in ("call", "visit", "sms"):
        ex["channel"] = h["channel"]
    return ex


def write_feedback(store: Store, checker: Checker, out_dir: str | Path, *, allow: bool = True) -> FeedbackResult:
    import tomli_w

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / OUT_NAME
    res = FeedbackResult(path)
    existing: dict[str, dict[str, Any]] = {}
    if path.exists():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        existing = {r["id"]: r for r in data.get("rule", [])}
    by_id = {r.id: r for r in checker.lexicon.rules}
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for h in rejected_hits(store):
        grouped[h["rule_id"]].append(h)
    twins: dict[str, dict[str, Any]] = dict(existing)
    for rule_id, hs in grouped.items():
        rule = by_id.get(rule_id)
        if rule is None:
            res.skipped.append(f"{rule_id}: {len(hs)} rejected hit(s), no lexicon rule with this id "
                               "(contact policy: adjust [contact] in tonecheck.toml; or a rule no longer loaded)")
            continue
        twin_id = rule_id if rule_id.startswith(TWIN_PREFIX) else TWIN_PREFIX + rule_id
        twin = twins.get(twin_id) or _twin(rule)
        examples = twin.setdefault("examples", {})
        clean = examples.setdefault("clean", [])
        have = {(c if isinstance(c, str) else c.get("text")) for c in clean}
        have_before = set(have)
        exceptions = twin.setdefault("exceptions", [])
        for h in hs:
            if not h.get("turn_text"):
                continue
            text = clean_text(h, h["others"])
            if text is None:
                res.skipped.append(f"{rule_id} hit {h['hit_id']}: its sentence also holds a {h['subtype']} hit "
                                   "reviewers did not reject; not a clean example")
                continue
            if text not in have:
                clean.append(_example(h, text))
                have.add(text)
                res.examples_added += 1
            phrase = allow_phrase(h["turn_text"], h["start"], h["end"])
            if allow and phrase and "{" not in phrase and "}" not in phrase and phrase not in exceptions:
                exceptions.append(phrase)
        if not exceptions:
            twin.pop("exceptions")
        if twin_id not in existing and not any(x not in have_before for x in have):
            continue   # nothing this rule's twin could say yet
        twins[twin_id] = twin
        if not rule_id.startswith(TWIN_PREFIX):
            res.disable.append(rule_id)
    res.twins = sorted(twins)
    header = ("# Written by `tonecheck feedback` from the results store: rules reviewers rejected hits of,\n"
              "# as twins (QA-<RULE>) carrying the rejected turns as clean examples"
              + (" and allow-list entries.\n" if allow else ".\n")
              + "# Disable the originals in tonecheck.toml so the twins replace them:\n"
              + f"#   disable = {sorted(set(res.disable) | {i[len(TWIN_PREFIX):] for i in twins})!r}\n"
              + "# then prove the fix with:  tonecheck rules test " + str(out) + "\n"
              + "# Re-running the command keeps each twin's definition and adds new examples.\n\n")
    body = tomli_w.dumps({"rule": [twins[k] for k in res.twins]}, multiline_strings=False) if twins else ""
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(header + body, encoding="utf-8")
    tmp.replace(path)
    res.disable = sorted(set(res.disable) | {i[len(TWIN_PREFIX):] for i in twins})
    return res
