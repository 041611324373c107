"""The trained model's sentences beside the rules' findings.

Rules keep precedence: a model hit never removes or changes a rule finding
except to raise its confidence when both agree (same subtype, same sentence).
Where no rule flagged the sentence for that category, the model's subtype
becomes an ordinary finding (``MDL-<CATEGORY>``) spanning the sentence, with
the calibrated probability as its confidence, the n-grams that weighed most
as its explanation and a polite sentence for the category as its fix. Where a
rule flagged the category with another subtype, the model adds its subtype
only when that subtype's own probability clears the subtype threshold.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Callable, Iterable

from . import pii
from .lexicon import SubtypeInfo
from .model.detector import ModelDetector, ModelHit
from .models import Category, Finding, Severity
from .normalize import Normalized
from .rewrite import keep_facts


def model_findings(model: ModelDetector, norm: Normalized, sentences: list[tuple[int, int]], role: str,
                   counterpart: str, channel: str, context: frozenset[str], rule_findings: list[Finding],
                   allowed: frozenset[str], subtypes: dict[str, SubtypeInfo], severity_of: Callable[[str], Severity],
                   fallback: Callable[[Category, str], str]) -> list[Finding]:
    """Rule findings (confidence raised where the model agrees) plus the model's own findings."""
    cats = frozenset(s.split(".")[0] for s in allowed)
    hits = model.detect(norm.text, sentences, role, counterpart, channel, context, only=cats)
    if not hits:
        return rule_findings
    out = list(rule_findings)
    # Rule findings by start, to find those in a sentence without scanning them all per hit
    # (a long unpunctuated turn has hundreds of sentences and findings).
    order = sorted((f.start, i) for i, f in enumerate(out) if not f.rule_id.startswith("MDL-"))
    starts = [st for st, _ in order]
    longest = max((out[i].end - out[i].start for _, i in order), default=0)
    for h in hits:
        if h.subtype not in allowed:
            continue
        s, e = _trim(norm.text, h.start, h.end)
        if e <= s:
            continue
        os_, oe = norm.span(s, e)
        lo, hi = bisect_left(starts, os_ - longest), bisect_left(starts, oe)
        same_sentence = sorted(i for _, i in order[lo:hi] if out[i].end > os_)
        agree = [i for i in same_sentence if out[i].subtype == h.subtype]
        if agree:
            for i in agree:
                f = out[i]
                out[i] = f.model_copy(update={
                    "confidence": round(1 - (1 - f.confidence) * (1 - h.probability), 3),
                    "explanation": f.explanation + f"；模型也判断为此类（概率 {h.probability:.2f}）"})
            continue
        if any(out[i].category.value == h.category for i in same_sentence) and not h.sure:
            continue  # the rules saw this category here; a weaker second subtype would only add noise
        out.append(_finding(h, norm, os_, oe, role, counterpart, subtypes, severity_of, fallback, model.version))
    out.sort(key=lambda f: (f.start, f.end, f.rule_id))
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and not text[s].strip():
        s += 1
    while e > s and not text[e - 1].strip():
        e -= 1
    return s, e


def _finding(h: ModelHit, norm: Normalized, os_: int, oe: int, role: str, counterpart: str,
             subtypes: dict[str, SubtypeInfo], severity_of: Callable[[str], Severity],
             fallback: Callable[[Category, str], str], version: str) -> Finding:
    info = subtypes.get(h.subtype)
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
    expl = f"模型 {version} 判断本句为{name}（概率 {h.probability:.2f}），权重最大的片段：{evidence}"
    return Finding(
        rule_id=f"MDL-{h.category.upper()}", category=cat, subtype=h.subtype, severity=severity_of(h.subtype),
        confidence=round(h.probability, 3), start=os_, end=oe, text=original,
        message=info.message if info else f"模型判断为 {h.subtype}", suggestion=suggestion,
        fix_start=os_, fix_end=oe, auto_apply=False, explanation=expl, source=info.source if info else "",
    )


def allowed_subtypes(known: Iterable[str], selected: Callable[[str], bool]) -> frozenset[str]:
    """The subtypes the model may report: those the checker's rule selection keeps."""
    return frozenset(s for s in known if selected(s))
