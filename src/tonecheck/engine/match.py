"""Terms, named constructions and sequences → candidates (rule, construction, span).

The literal pass (compile.Literals.scan) has already said which literals
occur where; this module turns a rule that may apply into the raw hits of
its constructions. Nothing here judges context: that is filters.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .. import pii
from ..rules import Rule
from .compile import CompiledRule
from .segment import Doc

# Validators whose identifiers are digit runs: their patterns only look near a run of digits.
_NUMERIC_VALIDATORS = frozenset({"cn_id", "bank_card", "cn_mobile", "landline"})


@dataclass(slots=True)
class Candidate:
    """A raw hit of one construction of one rule (normalised offsets)."""

    rule: Rule
    start: int
    end: int
    cue: str
    identifier: str | None = None
    valid: bool | None = None
    confidence: float = 0.0
    construction: str = ""


Positions = dict[int, list[tuple[int, int]]]  # literal id -> (start, end) occurrences


def match_rule(c: CompiledRule, doc: Doc, pos: Positions, pats: Iterable[int], own_words: frozenset[str]
               ) -> list[Candidate]:
    """Every raw hit of one rule: its terms, then its patterns (``pats``, which passed their gates,
    and the ungated ones), or its sequence."""
    rule = c.rule
    if rule.sequence:
        return list(_match_sequence(c, doc, pos, own_words))
    found = doc.found
    out: list[Candidate] = []
    for u in c.terms:
        for s, e in sorted(x for pid in (u.term_ids & found) for x in pos[pid]):
            if rule.boundary == "token" and not doc.aligned(s, e, own_words):
                continue
            out.append(Candidate(rule, s, e, doc.text[s:e], confidence=rule.confidence, construction=u.name))
    if not c.patterns or (c.anchor_ids and c.anchor_ids.isdisjoint(found)):
        return out
    windows = None
    if rule.validator in _NUMERIC_VALIDATORS:
        windows = doc.digit_windows()  # a numeric identifier needs a run of digits
        if not windows:
            return out
    todo = sorted((*c.ungated, *pats)) if c.ungated else sorted(pats)
    for k in todo:  # ``pats`` passed every gate already (RuleDetector.candidates); ungated ones have none
        out.extend(_run_pattern(c, k, doc, windows, own_words))
    return out


def _run_pattern(c: CompiledRule, k: int, doc: Doc, windows: list[tuple[int, int]] | None,
                 own_words: frozenset[str]) -> list[Candidate]:
    rule = c.rule
    unit = c.patterns[k]
    text = doc.text
    out: list[Candidate] = []
    lazy = unit.regex
    assert lazy is not None
    ms = (lazy.finditer(text, 0, len(text), doc.deadline) if windows is None
          else (m for ws, we in windows for m in lazy.finditer(text, ws, we, doc.deadline)))
    groups = lazy.fast().groupindex
    for m in ms:
        if "hit" in groups and m.group("hit") is not None:
            s, e = m.span("hit")
        else:
            s, e = m.span()
        if e <= s:
            continue
        if rule.boundary == "token" and not doc.aligned(s, e, own_words):
            continue
        ident = m.group("num") if "num" in groups else None
        cand = Candidate(rule, s, e, text[s:e], identifier=ident, confidence=rule.confidence, construction=unit.name)
        if rule.validator:
            has_ctx = "ctx" in groups and m.group("ctx") is not None
            cand.valid = pii.validate(rule.validator, ident or text[s:e])
            if cand.valid is False and not has_ctx:
                continue
            if cand.valid:
                cand.confidence = min(1.0, rule.confidence + 0.1)
            elif cand.valid is False:
                cand.confidence = max(0.3, rule.confidence - 0.2)
        out.append(cand)
    return out


def _match_sequence(c: CompiledRule, doc: Doc, pos: Positions, own_words: frozenset[str]) -> Iterable[Candidate]:
    """Elements in order, each within ``max_gap`` tokens of the one before."""
    rule = c.rule
    found = doc.found
    lists = []
    for ids in c.seq_ids:
        h = [x for pid in (ids & found) for x in pos[pid]]
        if not h:
            return
        if rule.boundary == "token":
            h = [x for x in h if doc.aligned(x[0], x[1], own_words)]
            if not h:
                return
        lists.append(sorted(h))
    for first in lists[0]:
        chain = [first]
        for lst in lists[1:]:
            prev_end = chain[-1][1]
            nxt = None
            for s, e in lst:
                if s < prev_end:
                    continue
                gap = doc.tokens_between(prev_end, s) if s > prev_end else 0
                if gap <= rule.max_gap:
                    nxt = (s, e)
                break
            if nxt is None:
                break
            chain.append(nxt)
        if len(chain) == len(lists):
            s, e = chain[0][0], chain[-1][1]
            yield Candidate(rule, s, e, doc.text[s:e], confidence=rule.confidence, construction="sequence")
