"""Every bundled rule carries its own examples; this runs them all.

A rule without a 'fire' and a 'clean' example fails, as does a missed or a
false example. Team lexicons get the same check from `tonecheck rules test DIR`.
"""
from __future__ import annotations

import pytest

import tonecheck
from tonecheck.selftest import run_rule_examples

CHECKER = tonecheck.default_checker()
RULE_IDS = [r.id for r in CHECKER.rules]


def test_every_category_has_rules():
    cats = {r.category.value for r in CHECKER.rules}
    assert {"threat", "insult", "sarcasm", "privacy", "conduct", "risk"} <= cats


def test_every_policy_subtype_has_a_rule():
    from tonecheck.rules import KNOWN_SUBTYPES

    have = {r.subtype for r in CHECKER.rules}
    missing = {s for s in KNOWN_SUBTYPES if not s.startswith("contact.")} - have
    assert not missing, f"subtypes without rules: {sorted(missing)}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_examples(rule_id):
    failures = run_rule_examples(CHECKER, only=[rule_id])
    assert not failures, "\n".join(failures)


def test_signal_examples():
    bad = []
    for sig in CHECKER.lexicon.signals:
        assert sig.examples, f"signal {sig.id} has no examples"
        role = sig.roles[0]
        for text in sig.examples:
            if not CHECKER.signal_fires(sig, text, role):
                bad.append(f"{sig.id} should fire on {text!r}")
        for text in sig.clean:
            if CHECKER.signal_fires(sig, text, role):
                bad.append(f"{sig.id} should not fire on {text!r}")
    assert not bad, "\n".join(bad)


def test_every_bundled_regex_compiles_fully():
    """The loader checks syntax with stand-ins; here the real, expanded patterns compile."""
    for c in CHECKER.engine.compiled:
        for rx in (*(u.regex for u in c.patterns), *c.unless, *c.requires, *c.cues):
            assert rx.get().pattern == rx.pattern


def test_no_bundled_pattern_can_backtrack_catastrophically():
    """The same static check team lexicons get at load time, on every expanded bundled pattern."""
    from tonecheck.regex_safety import catastrophic

    bad = []
    for c in CHECKER.engine.compiled:
        for rx in (*(u.regex for u in c.patterns), *c.unless, *c.requires, *c.cues):
            if why := catastrophic(rx.pattern):
                bad.append(f"{c.rule.id}: {why}")
    for cs in CHECKER.engine.rules.signals:
        for rx in (*cs.patterns, *cs.unless):
            if why := catastrophic(rx.pattern):
                bad.append(f"signal {cs.signal.id}: {why}")
    assert not bad, "\n".join(bad)
