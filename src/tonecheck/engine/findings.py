"""Candidates → findings: spans back to the caller's text, facts, messages, one finding per violation.

A finding's offsets index the caller's original string. Its fix replaces
the span, its clause or its sentence (the rule says which) with the rule's
template filled with the facts the replaced text held. Hits of one subtype
in one sentence become one finding, and no two fixes overlap.
"""
from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass

from .. import pii
from ..models import Finding
from ..normalize import Normalized
from ..rewrite import SIGNATURE, apply_fixes, extract_facts, keep_facts, render, resolve_overlaps, separate_fixes
from .match import Candidate
from .segment import Doc, sentence_spans

_NO_FACTS = ("privacy.third_party_disclosure", "privacy.pii_exposure")  # identifiers carry no facts to keep


@dataclass(slots=True)
class Hit:
    """A finding with the sentence it belongs to (the caller's offsets), for merging per sentence.

    ``sentence`` is None when it is to be found from the finding's start (a
    finding a second detector added or changed).
    """

    finding: Finding
    sentence: tuple[int, int] | None


def to_findings(kept: list[Candidate], doc: Doc, counterpart: str, flags: frozenset[str],
                lender_rx: "re.Pattern | None") -> list[Hit]:
    """One finding per surviving candidate, with its fix, facts and explanation."""
    norm = doc.norm
    out: list[Hit] = []
    # Hits of one rule in one sentence share its fix: their suggestion is made once, unless where
    # the hit lies matters (a signature or a lender in the replaced text). 20,000 characters of
    # repeated abuse have thousands of such hits.
    made: dict[tuple, str] = {}
    for cand in kept:
        rule = cand.rule
        os_, oe = norm.span(cand.start, cand.end)
        scope = rule.rewrite.scope
        if scope == "span":
            fs, fe = cand.start, cand.end
        elif scope == "clause":
            fs, fe = doc.clause(cand.start, cand.end)
        else:
            fs, fe = doc.sentence(cand.start, cand.end)
        ofs, ofe = norm.span(fs, fe)
        key = (rule.id, ofs, ofe, cand.identifier)
        suggestion = made.get(key)
        if suggestion is None:
            suggestion, where_matters = _suggestion(rule, cand, norm, os_, oe, ofs, ofe, counterpart, lender_rx)
            if not where_matters:
                made[key] = suggestion
        ctx = []
        if rule.counterparts:
            ctx.append(f"听话人：{counterpart}")
        if rule.context:
            active = sorted(set(rule.context) & flags)
            ctx.append("对话上下文：" + "、".join(active) if active else "本句自己提到了对方的处境或异议")
        if cand.valid is True:
            ctx.append("号码校验通过")
        elif cand.valid is False:
            ctx.append("号码未通过校验，但上下文表明是证件/卡号")
        expl = f"规则 {rule.id}{'（' + rule.name + '）' if rule.name else ''} 命中「{pii.mask_text(norm.original[os_:oe])}」"
        if ctx:
            expl += "；" + "；".join(ctx)
        f = Finding(  # validating is faster than pydantic's model_construct here
            rule_id=rule.id, category=rule.category, subtype=rule.subtype, severity=rule.severity,
            confidence=round(cand.confidence, 3), start=os_, end=oe, text=norm.original[os_:oe],
            message=rule.message, suggestion=suggestion, fix_start=ofs, fix_end=ofe,
            auto_apply=rule.rewrite.auto_apply, explanation=expl, source=rule.source,
            construction=cand.construction,
        )
        out.append(Hit(f, norm.span(*doc.sentence(cand.start, cand.end))))
    return out


def settle(hits: list[Hit], doc: Doc) -> list[Finding]:
    """The findings of a check: each hit's sentence known, one finding per subtype and sentence,
    no fix inside another."""
    if not hits:
        return []
    if any(h.sentence is None for h in hits):
        starts = [doc.norm.span(a, b) for a, b in sentence_spans(doc.norm)]
        keys = [a for a, _ in starts]
        for h in hits:
            if h.sentence is None:
                f = h.finding
                h.sentence = enclosing(starts, f.start, f.end, keys) or (f.start, f.end)
    findings = [h.finding for h in hits]
    return disjoint_fixes(merge_per_sentence(findings, [h.sentence for h in hits], doc.norm.original))


def _suggestion(rule, cand: Candidate, norm: Normalized, os_: int, oe: int, ofs: int, ofe: int,
                counterpart: str, lender_rx: "re.Pattern | None") -> tuple[str, bool]:
    """The fix's text, and whether it depends on where in the replaced text the hit lies."""
    template = rule.rewrite.text
    replaced = norm.original[ofs:ofe]
    facts = extract_facts(replaced, cand.identifier) if "{" in template else {}
    if counterpart == "third_party":
        facts.pop("amount", None)  # a debt fact the listener may not hear, even kept from the original
    suggestion = render(template, facts)
    if rule.subtype in _NO_FACTS:
        return suggestion, False
    # a lender named inside the violation (去借呗借一笔还我们) is its content, not a fact
    found = list(lender_rx.finditer(replaced)) if lender_rx else []
    lenders = [m.group() for m in found if m.end() <= os_ - ofs or m.start() >= oe - ofs]
    suggestion = keep_facts(replaced, suggestion, lenders, hit_start=os_ - ofs,
                            debt_facts=counterpart != "third_party")
    return suggestion, bool(found) or bool(SIGNATURE.match(replaced))


def enclosing(spans: list[tuple[int, int]], start: int, end: int,
              keys: list[int] | None = None) -> tuple[int, int] | None:
    """The (original-offset) sentence holding a finding that starts at ``start`` (``keys``: the
    spans' starts, computed once by a caller that asks many times)."""
    i = bisect.bisect_right(keys if keys is not None else [a for a, _ in spans], start) - 1
    if i >= 0 and spans[i][0] <= start < max(spans[i][1], start + 1):
        return spans[i][0], max(spans[i][1], end)
    return None


def merge_per_sentence(findings: list[Finding], sentences: list, original: str) -> list[Finding]:
    """One finding per violation: hits of one subtype in one sentence become one finding.

    A disclosure sentence that three rules (or one rule three times) flagged
    is one violation for the reviewer and for the score. The merged finding
    spans the hits, carries the most severe rule (its id, message, source,
    construction), names every rule that agreed, and has one fix: the
    members' own fixes applied together over their sentence, so no text
    between two hits is lost (and a deletion can take its frame along:
    你个□ 听不懂…).
    """
    if len(findings) < 2:
        return findings
    groups: dict[tuple[str, tuple[int, int]], list[int]] = {}
    for i, (f, sent) in enumerate(zip(findings, sentences)):
        groups.setdefault((f.subtype, sent), []).append(i)
    if len(groups) == len(findings):
        return findings
    out: list[Finding] = []
    for (_, sentence), idx in groups.items():
        if len(idx) == 1:
            out.append(findings[idx[0]])
            continue
        members = [findings[i] for i in idx]
        lead = max(members, key=lambda f: (f.severity.rank, f.confidence, -f.start))
        start, end = min(f.start for f in members), max(f.end for f in members)
        fs, fe = min(sentence[0], *(f.fix_start for f in members)), max(sentence[1], *(f.fix_end for f in members))
        fixes = resolve_overlaps([(f.fix_start - fs, f.fix_end - fs, f.suggestion, f.severity.rank) for f in members])
        rules = list(dict.fromkeys(f.rule_id for f in members))
        hits = "、".join(f"「{pii.mask_text(f.text)}」" for f in members)
        agreed = f"同一句中同类问题 {len(members)} 处合并为一条（规则 {'、'.join(rules)}，命中 {hits}）"
        out.append(lead.model_copy(update={
            "start": start, "end": end, "text": original[start:end], "fix_start": fs, "fix_end": fe,
            "suggestion": apply_fixes(original[fs:fe], fixes),
            "auto_apply": all(f.auto_apply for f in members),
            "confidence": max(f.confidence for f in members),
            "explanation": lead.explanation + "；" + agreed,
        }))
    out.sort(key=lambda f: (f.start, f.end, f.rule_id))
    return out


def disjoint_fixes(findings: list[Finding]) -> list[Finding]:
    """Findings whose fix lies inside a wider one get an empty fix there (fixes never overlap)."""
    if len(findings) < 2:
        return findings
    moved = separate_fixes([(f.fix_start, f.fix_end, f.severity.rank) for f in findings])
    return [f if at is None else f.model_copy(update={
        "fix_start": at, "fix_end": at, "suggestion": "", "auto_apply": False,
        "explanation": f.explanation + "；改写并入同一处更大范围的修改"}) for f, at in zip(findings, moved)]


def blank(norm: Normalized, rx: "re.Pattern") -> Normalized:
    """The normalised text with every match of ``rx`` replaced by spaces (same offsets)."""
    if not rx.search(norm.text):
        return norm
    return dataclasses.replace(norm, text=rx.sub(lambda m: " " * len(m.group()), norm.text))
