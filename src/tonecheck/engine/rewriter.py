"""The whole text with every violation fixed: fixes applied once, one re-check, one fallback.

The rewriter does not detect anything itself: it is handed a ``recheck``
callback (the engine's detectors on the rewritten text) that names the
sentences still flagged. Those get the category's polite sentence; if the
result is still flagged, the whole text becomes one safe sentence. Nothing
is iterated, and no fix adds a fact the text did not state.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..models import Category, Finding
from ..normalize import Normalized, normalize
from ..rewrite import apply_fixes, is_fragment, resolve_overlaps
from .segment import sentence_spans

# Which category's polite sentence replaces a sentence that held several kinds of violation.
FALLBACK_ORDER = [Category.sarcasm, Category.insult, Category.conduct, Category.threat, Category.privacy]

# Replacement used when a rule's own rewrite still leaves a violation.
FALLBACK = {
    Category.threat: "请您尽快安排还款；如有困难，我们可以一起商量还款方案。",
    Category.insult: "请您尽快处理欠款，如有困难可以和我们沟通。",
    Category.sarcasm: "请问您这边什么时候方便处理欠款？",
    Category.privacy: "麻烦您转告他尽快联系我们，谢谢。",
    Category.conduct: "请通过官方渠道办理还款；如有困难，可以和我们沟通还款安排。",
}

# Sentences (normalised offsets) a text still has flagged, with their category, and whether the
# re-check ran out of time.
Recheck = Callable[[Normalized], tuple[list[tuple[int, int, Category]], bool]]


def fallback(category: Category, counterpart: str) -> str:
    """The polite sentence for a category; to a third party any mention of repayment discloses
    the debt, so it only asks for a call back."""
    if counterpart == "third_party":
        return FALLBACK[Category.privacy]
    return FALLBACK[category]


@dataclass(frozen=True, slots=True)
class Rewriter:
    recheck: Recheck
    counterpart: str

    def rewrite(self, norm: Normalized, findings: list[Finding], truncated: bool) -> tuple[str, bool]:
        """The text with every violation fixed, and whether a deadline cut the work short.

        A check already cut short by its deadline is not re-checked (its
        rewrite covers the findings it has); a re-check the deadline cuts
        short reports truncated too.
        """
        text = norm.original
        viol = [f for f in findings if f.is_violation]
        if not viol:
            return text, False
        fixes = resolve_overlaps([(f.fix_start, f.fix_end, f.suggestion, f.severity.rank) for f in viol
                                  if f.fix_end > f.fix_start])
        fixes = self._whole_sentences_for_fragments(norm, fixes, viol)
        out = apply_fixes(text, fixes)
        if truncated:
            return out, True
        n2 = normalize(out)
        left, cut = self.recheck(n2)
        if left:
            fb = [(*n2.span(ss, se), fallback(cat, self.counterpart), 3) for ss, se, cat in left]
            out = apply_fixes(out, resolve_overlaps(fb))
            # Still not clean (the fallbacks met each other or their context): one safe sentence.
            again, cut2 = self.recheck(normalize(out))
            cut = cut or cut2
            if again:
                out = fallback(Category.threat, self.counterpart)
        return out or fallback(Category.threat, self.counterpart), cut

    def _whole_sentences_for_fragments(self, norm: Normalized, fixes: list[tuple[int, int, str]],
                                       viol: list[Finding]) -> list[tuple[int, int, str]]:
        """Fixes whose sentence would be left a fragment (你他妈的到底… → 的到底…) become one
        polite sentence replacing the whole sentence."""
        if not any(len(rep) <= 2 for _, _, rep in fixes):
            return fixes  # only deletions and tiny replacements can leave a fragment
        text = norm.original
        sents = [norm.span(a, b) for a, b in sentence_spans(norm)]
        whole = []
        for ss, se in sents:
            inside = [f for f in fixes if ss <= f[0] and f[1] <= se]
            if not inside:
                continue
            after = apply_fixes(text[ss:se], [(a - ss, b - ss, r) for a, b, r in inside])
            if is_fragment(after):
                cats = [f.category for f in viol if f.start < se and ss < f.end]
                worst = max(cats, key=lambda c: FALLBACK_ORDER.index(c)) if cats else Category.insult
                whole.append((ss, se, fallback(worst, self.counterpart), 9))
        if not whole:
            return fixes
        return resolve_overlaps([(a, b, r, 1) for a, b, r in fixes] + whole)
