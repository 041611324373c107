"""The checking engine, one small module per step of a check.

========================  =================================================================
``compile``               lexicons → indexed, gated rules (anchors derived from the patterns)
``segment``               clauses, sentences, quotes, tokens: the one definition of each
``match``                 terms, named constructions, sequences → candidates
``filters``               negation, quotes, reported speech, guards (cue words from lexicon classes)
``findings``              spans back to the caller's text, facts, messages, one finding per violation
``detectors`` / ``model`` the rules and the trained model behind one interface
``rewriter``              fixes applied once, one re-check, one fallback
``search``                patterns searched under the check's deadline
``pipeline``              :class:`Engine`: normalise → segment → detect → merge → rewrite
========================  =================================================================
"""
from __future__ import annotations

from .pipeline import Engine, Run
from .rewriter import FALLBACK
from .search import DEFAULT_DEADLINE_S, Deadline, DeadlineExceeded
from .segment import sentence_spans

__all__ = ["DEFAULT_DEADLINE_S", "FALLBACK", "Deadline", "DeadlineExceeded", "Engine", "Run", "sentence_spans"]
