"""One check in one direction: normalise → segment → detect → filter → merge → rewrite.

:class:`Engine` wires the small parts together: the compiled rules
(compile.py), the text under check (segment.py), the detectors (the rules,
detectors.py; the trained model, model.py), the findings (findings.py) and
the rewriter (rewriter.py), which is handed the detectors as its re-check.
"""
from __future__ import annotations

import re

from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple

from ..context import Signal
from ..lexicon import Lexicon
from ..models import Finding, Severity
from ..normalize import Normalized, normalize
from ..rules import Rule
from ..tokenizer import Tokenizer, make_tokenizer
from .compile import RuleSet, Setting
from .detectors import Detector, Flagged, RuleDetector
from .filters import Language
from .findings import settle
from .model import TrainedDetector
from .rewriter import Rewriter
from .search import DEFAULT_DEADLINE_S, Deadline, literal_alternation
from .segment import Doc

if TYPE_CHECKING:
    from ..model.detector import ModelDetector


class Run(NamedTuple):
    """What one engine run gives back."""

    findings: list[Finding]
    rewrite: str
    truncated: bool
    norm: Normalized
    doc: Doc


class Engine:
    """Compiled rules, the detectors and the tokenizer they share."""

    def __init__(self, lexicon: Lexicon, rules: Iterable[Rule] | None = None, *,
                 tokenizer: str | None = None, deadline_s: float = DEFAULT_DEADLINE_S,
                 shared_tokenizer: Tokenizer | None = None, model: "ModelDetector | None" = None,
                 model_subtypes: frozenset[str] = frozenset(),
                 severity_of: "Callable[[str], Severity] | None" = None, allow: Iterable[str] = (),
                 signals: Iterable[Signal] = ()) -> None:
        self.lexicon = lexicon
        self.rules = RuleSet(lexicon, rules if rules is not None else lexicon.rules, signals)
        self.deadline_s = deadline_s
        # Terms that need token boundaries become tokenizer words, so they segment whole.
        self.tokenizer = shared_tokenizer or make_tokenizer(tokenizer, self.rules.token_words())
        language = Language.from_lexicon(lexicon)
        lender_rx = literal_alternation(lexicon.classes.get("lender", ()))
        self.detectors: list[Detector] = [RuleDetector(self.rules, language, self.tokenizer.words, lender_rx)]
        # The trained detector beside the rules, with the subtypes it may report and their severities.
        if model is not None and model_subtypes:
            severity_of = severity_of or (lambda st: lexicon.subtypes[st].severity if st in lexicon.subtypes
                                          else Severity.medium)
            allowed = literal_alternation(lexicon.expand_terms(list(allow)))
            shows_id = lexicon.guards.get("shows_identifier")
            self.detectors.append(TrainedDetector(model, model_subtypes, lexicon.subtypes, severity_of, allowed,
                                                  re.compile(lexicon.expand(shows_id)) if shows_id else None))

    @property
    def compiled(self):
        """The compiled rules (for tests and tools)."""
        return self.rules.compiled

    def warm_up(self) -> None:
        """Compile every pattern now (a service does this at start-up, not on the first request)."""
        for rx in self.rules.all_regexes():
            rx.get()
            rx.fast()

    def doc(self, norm: Normalized, deadline: Deadline) -> Doc:
        """The text under check, with the literal pass done."""
        doc = Doc(norm, self.tokenizer, deadline)
        self.rules.literals.scan(doc)
        return doc

    def run(self, text: str, role: str, counterpart: str, channel: str,
            context: frozenset[str] = frozenset(), deadline: Deadline | None = None, with_model: bool = True) -> Run:
        """Findings, the rewrite and whether the deadline cut the check short.

        ``with_model=False`` runs the primary detectors (the rules) alone: a rule's own examples test the rule.
        """
        deadline = deadline or Deadline(self.deadline_s)
        setting = Setting(role, counterpart, channel, context)
        doc = self.doc(normalize(text), deadline)
        hits, truncated = [], False
        for det in self.detectors:
            if truncated or not (with_model or det.primary):
                continue  # a check the deadline cut short is not handed to the next detector
            hits, cut = det.detect(doc, setting, hits)
            truncated = truncated or cut
        findings = settle(hits, doc)
        if any(f.is_violation for f in findings):
            rewrite, cut = Rewriter(lambda n: self._flagged(n, setting, deadline), counterpart).rewrite(
                doc.norm, findings, truncated)
        else:  # nothing to fix (what Rewriter.rewrite returns too, without building it)
            rewrite, cut = doc.norm.original, False
        return Run(findings, rewrite, truncated or cut, doc.norm, doc)

    def _flagged(self, norm: Normalized, setting: Setting, deadline: Deadline) -> tuple[Flagged, bool]:
        """The rewriter's re-check: the sentences every detector still flags."""
        doc = self.doc(norm, deadline)
        left: Flagged = []
        cut = False
        for det in self.detectors:
            got, c = det.flagged(doc, setting)
            left += got
            cut = cut or c
        return left, cut

    def signals_hit(self, doc: Doc, role: str, subtypes: set[str]) -> list[Signal]:
        """The dialogue signals one turn raises (its findings' subtypes count too)."""
        return [s.signal for s in self.rules.signals if s.hit(doc, role, subtypes)]

