"""The trained model as a detector beside the rules.

Rules keep precedence: a model hit never removes or changes a rule finding
except to raise its confidence when both agree (same subtype, same sentence).
Where no rule flagged the sentence for that category, the model's subtype
becomes an ordinary finding (``MDL-<CATEGORY>``) spanning the sentence, with
the calibrated probability as its confidence, the n-grams that weighed most
as its explanation and a polite sentence for the category as its fix. Where a
rule flagged the category with another subtype, the model adds its subtype
only when that subtype's own probability clears the subtype threshold.
The model itself (features, weights, calibration) is :mod:`tonecheck.model`.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from typing import TYPE_CHECKING, Callable

from .. import pii
from ..lexicon import SubtypeInfo
from ..models import Category, Finding, Severity
from ..normalize import Normalized
from ..rewrite import keep_facts
from .compile import Setting
from .detectors import Flagged
from .findings import Hit, blank
from .rewriter import fallback
from .segment import Doc

if TYPE_CHECKING:
    from ..model.detector import ModelDetector, ModelHit


class TrainedDetector:
    """:class:`tonecheck.model.detector.ModelDetector` behind the engine's detector interface."""

    primary = False

    def __init__(self, model: "ModelDetector", allowed: frozenset[str], subtypes: dict[str, SubtypeInfo],
                 severity_of: Callable[[str], Severity], allow_rx: "re.Pattern | None",
                 shows_identifier: "re.Pattern | None" = None) -> None:
        self.model = model
        self.allowed = allowed  # the subtypes it may report (the checker's rule selection)
        self.categories = frozenset(s.split(".")[0] for s in allowed)
        self.subtypes = subtypes
        self.severity_of = severity_of
        self.allow_rx = allow_rx  # allow-listed terms win over the model too: it reads the text with them blanked
        # language.toml's shows_identifier: an exposure needs an identifier in the sentence
        self.shows_identifier = shows_identifier

    def detect(self, doc: Doc, setting: Setting, hits: list[Hit]) -> tuple[list[Hit], bool]:
        """Rule hits (confidence raised where the model agrees) plus the model's own."""
        norm = doc.norm
        seen = norm if self.allow_rx is None else blank(norm, self.allow_rx)
        found = self.model.detect(seen.text, doc.sentence_spans(), setting.role, setting.counterpart,
                                  setting.channel, setting.flags, only=self.categories, evidence=False)
        if not found:
            return hits, False
        out = list(hits)
        changed = added = False
        # Rule hits by start, to find those in a sentence without scanning them all per model hit
        # (a long unpunctuated turn has hundreds of sentences and findings).
        order = sorted((x.finding.start, i) for i, x in enumerate(out) if not x.finding.rule_id.startswith("MDL-"))
        starts = [st for st, _ in order]
        longest = max((out[i].finding.end - out[i].finding.start for _, i in order), default=0)
        for h in found:
            if h.subtype not in self.allowed:
                continue
            s, e = _trim(seen.text, h.start, h.end)
            if e <= s:
                continue
            if (h.subtype == "privacy.pii_exposure" and self.shows_identifier is not None
                    and not self.shows_identifier.search(seen.text, s, e)):
                continue
            os_, oe = seen.span(s, e)
            lo, hi = bisect_left(starts, os_ - longest), bisect_left(starts, oe)
            same_sentence = sorted(i for _, i in order[lo:hi] if out[i].finding.end > os_)
            agree = [i for i in same_sentence if out[i].finding.subtype == h.subtype]
            if agree:
                for i in agree:
                    f = out[i].finding
                    out[i] = Hit(f.model_copy(update={
                        "confidence": round(1 - (1 - f.confidence) * (1 - h.probability), 3),
                        "explanation": f.explanation + f"；模型也判断为此类（概率 {h.probability:.2f}）"}), None)
                    changed = True
                continue
            if any(out[i].finding.category.value == h.category for i in same_sentence) and not h.sure:
                continue  # the rules saw this category here; a weaker second subtype would only add noise
            h = h._replace(evidence=self.model.evidence(seen.text[h.start:h.end], h.subtype, setting.role,
                                                        setting.counterpart, setting.channel, setting.flags))
            out.append(Hit(self._finding(h, seen, os_, oe, setting.counterpart), None))
            changed = added = True
        if not changed:
            return hits, False
        if added:  # raised confidences keep the order; only new findings need placing
            out.sort(key=lambda x: (x.finding.start, x.finding.end, x.finding.rule_id))
        return out, False

    def flagged(self, doc: Doc, setting: Setting) -> tuple[Flagged, bool]:
        if setting.role != "agent":
            return [], False
        out: Flagged = []
        for h in self.model.detect(doc.text, doc.sentence_spans(), setting.role, setting.counterpart,
                                   setting.channel, setting.flags, only=self.categories, evidence=False):
            if h.subtype in self.allowed:
                out.append((h.start, h.end, Category(h.category)))
        return out, False

    def _finding(self, h: "ModelHit", norm: Normalized, os_: int, oe: int, counterpart: str) -> Finding:
        info = self.subtypes.get(h.subtype)
        cat = Category(h.category)
        original = norm.original[os_:oe]
        if cat is Category.risk:
            suggestion = ""
        else:
            suggestion = fallback(cat, counterpart)
            if h.subtype not in ("privacy.pii_exposure", "privacy.third_party_disclosure"):
                suggestion = keep_facts(original, suggestion, debt_facts=counterpart != "third_party")
        evidence = "、".join(f"「{pii.mask_text(g)}」" for g in h.evidence) or "整句"
        name = info.name if info else h.subtype
        expl = f"模型 {self.model.version} 判断本句为{name}（概率 {h.probability:.2f}），权重最大的片段：{evidence}"
        return Finding(
            rule_id=f"MDL-{h.category.upper()}", category=cat, subtype=h.subtype,
            severity=self.severity_of(h.subtype), confidence=round(h.probability, 3), start=os_, end=oe,
            text=original, message=info.message if info else f"模型判断为 {h.subtype}", suggestion=suggestion,
            fix_start=os_, fix_end=oe, auto_apply=False, explanation=expl, source=info.source if info else "",
        )


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and not text[s].strip():
        s += 1
    while e > s and not text[e - 1].strip():
        e -= 1
    return s, e

