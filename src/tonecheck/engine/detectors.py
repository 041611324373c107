"""Detectors behind one interface: the rules here, the trained model in model.py.

A detector is handed the segmented text, the setting and the hits found so
far, and returns the hits with its own added (or confirmed); for a rewrite's
re-check it says which sentences it still flags. The engine calls them in
order and does not know which kind it is calling. A ``primary`` detector
stands on its own; the others only add to or confirm what the primary ones
found (a rule example is tested with the primary detectors alone).
"""
from __future__ import annotations

import re
from typing import Protocol

from ..models import Category
from ..rewrite import Intervals
from .compile import RuleSet, Setting, Tables
from .filters import Language, keep
from .findings import Hit, to_findings
from .match import Candidate, Positions, match_rule
from .search import DeadlineExceeded
from .segment import Doc

Flagged = list[tuple[int, int, Category]]  # (start, end, category) of sentences, normalised offsets


class Detector(Protocol):
    primary: bool

    def detect(self, doc: Doc, setting: Setting, hits: list[Hit]) -> tuple[list[Hit], bool]:
        """``hits`` with this detector's added or confirmed, and whether the deadline cut it short."""
        ...

    def flagged(self, doc: Doc, setting: Setting) -> tuple[Flagged, bool]:
        """Sentences this detector flags (for a rewrite's re-check), and whether the deadline cut it short."""
        ...


class RuleDetector:
    """The lexicon rules: literal pass → rules that may apply → constructions → filters → candidates."""

    primary = True

    def __init__(self, ruleset: RuleSet, language: Language, own_words: frozenset[str],
                 lender_rx: "re.Pattern | None") -> None:
        self.ruleset = ruleset
        self.language = language
        self.own_words = own_words
        self.lender_rx = lender_rx

    def detect(self, doc: Doc, setting: Setting, hits: list[Hit]) -> tuple[list[Hit], bool]:
        kept, truncated = self.candidates(doc, setting)
        if kept:
            hits = hits + to_findings(kept, doc, setting.counterpart, setting.flags, self.lender_rx)
        return hits, truncated

    def flagged(self, doc: Doc, setting: Setting) -> tuple[Flagged, bool]:
        again, cut = self.candidates(doc, setting)
        return [(*doc.sentence(c.start, c.end), c.rule.category) for c in again
                if c.rule.category is not Category.risk], cut

    def candidates(self, doc: Doc, setting: Setting) -> tuple[list[Candidate], bool]:
        """Matches that survive every filter, one per subtype and place.

        Past the deadline the rules not yet run are skipped and the second
        value (truncated) is True.
        """
        rs = self.ruleset
        found = doc.found
        if not doc.text or not found:
            return [], False
        tables = rs.tables(setting)
        trigger = tables.trigger
        rules: set[int] = set()
        for pid in found & tables.trigger_ids:
            rules |= trigger[pid]
        pats: dict[int, set[int]] = {}
        if rs.gate_index is not None:  # the same choice, made in C
            for ri, k in rs.gate_index.query(found, tables.ok):
                ks = pats.get(ri)
                if ks is None:
                    pats[ri] = {k}
                else:
                    ks.add(k)
        else:
            self._gated_patterns(found, tables, pats)
        if not rules and not pats:
            return [], False
        rules.update(pats)
        pos: Positions = {pid: [] for pid in found & rs.positional}
        if pos:
            for pid, s, e in doc.matches:
                lst = pos.get(pid)
                if lst is not None:
                    lst.append((s, e))
        truncated = False
        cands: list[Candidate] = []
        cued = tables.cued
        deadline = doc.deadline
        for ri in sorted(rules):
            c = rs.compiled[ri]
            try:
                if ri in cued and ((c.cue_ids is not None and c.cue_ids.isdisjoint(found))
                                   or not any(rx.search(doc.text, deadline) for rx in c.cues)):
                    continue
                raw = match_rule(c, doc, pos, pats.get(ri, ()), self.own_words)
                if not raw:
                    continue
                exc = [x for pid in (c.exc_ids & found) for x in pos[pid]]
                cands.extend(cand for cand in raw if keep(c, cand, doc, exc, self.language))
            except (DeadlineExceeded, TimeoutError):  # TimeoutError: a `regex` search ran out of time
                truncated = True
                break
        if len(cands) > 1:
            cands.sort(key=lambda c: (-c.rule.severity.rank, -c.confidence, -(c.end - c.start), c.start, c.rule.id))
            kept: list[Candidate] = []
            taken: dict[str, Intervals] = {}
            for cand in cands:
                spans = taken.get(cand.rule.subtype)
                if spans is None:
                    spans = taken[cand.rule.subtype] = Intervals()
                if spans.add(cand.start, cand.end):
                    kept.append(cand)
            kept.sort(key=lambda c: (c.start, c.end, c.rule.id))
            cands = kept
        return cands, truncated

    def _gated_patterns(self, found: frozenset[int], tables: Tables, pats: dict[int, set[int]]) -> None:
        """``pats[rule]``: the patterns whose gates the literals found pass (the Python path of
        the C gate index)."""
        rs = self.ruleset
        pat_index = tables.pat_index
        anchored: set[int] = set(tables.free)  # pattern rules whose hand anchors are present (or that have none)
        for pid in found & tables.anchor_ids:
            anchored |= tables.anchors[pid]
        if anchored:
            # A pattern is indexed by its rarest gate; its other gates (and branches) are checked
            # here, once per pattern, so a rule none of whose patterns can match is not visited.
            compiled = rs.compiled
            looked: set[tuple[int, int]] = set()
            for pid in found & tables.pat_ids:
                for rk in pat_index[pid]:
                    if rk in looked:
                        continue
                    looked.add(rk)
                    ri, k = rk
                    if ri in anchored and compiled[ri].patterns[k].may_match(found):
                        ks = pats.get(ri)
                        if ks is None:
                            pats[ri] = {k}
                        else:
                            ks.add(k)
