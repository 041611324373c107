"""Run every rule's own examples: the meta-test and ``tonecheck rules test`` use it."""
from __future__ import annotations

from typing import Iterable

from .checker import Checker
from .engine import Engine
from .rules import Example, Rule


def _kwargs(rule: Rule, ex: Example, fire: bool = False) -> dict:
    # A fire example of a rule with a context_cue and no context of its own
    # runs without the flags: the cue in its text has to supply them. Clean
    # examples always get the flags (the stricter test).
    context = ex.context or ([] if fire and rule.context_cue else rule.context)
    return {
        "role": ex.role or rule.roles[0],
        "counterpart": ex.counterpart or (rule.counterparts[0] if rule.counterparts else "debtor"),
        "channel": ex.channel or (rule.channels[0] if rule.channels else "call"),
        "context": frozenset(context),
    }


def run_rule_examples(checker: Checker, only: Iterable[str] | None = None) -> list[str]:
    """Failures as one-line strings; empty when every example behaves."""
    only = set(only) if only is not None else None
    failures: list[str] = []
    for rule in checker.rules:
        if only is not None and rule.id not in only:
            continue
        if not rule.examples.fire or not rule.examples.clean:
            failures.append(f"{rule.id}: needs at least one 'fire' and one 'clean' example")
            continue
        solo = Engine(checker.lexicon, [rule], shared_tokenizer=checker.engine.tokenizer)
        for ex in rule.examples.fire:
            kw = _kwargs(rule, ex, fire=True)
            found = solo.run(ex.text, kw["role"], kw["counterpart"], kw["channel"], kw["context"]).findings
            if not any(f.rule_id == rule.id for f in found):
                failures.append(f"{rule.id}: should fire on {ex.text!r}")
        for ex in rule.examples.clean:
            kw = _kwargs(rule, ex)
            found = checker.engine.run(ex.text, kw["role"], kw["counterpart"], kw["channel"], kw["context"],
                                       with_model=False).findings
            bad = [f for f in found if f.subtype == rule.subtype]
            if bad:
                failures.append(f"{rule.id}: should not flag {ex.text!r} as {rule.subtype} (got {bad[0].rule_id} on {bad[0].text!r})")
    return failures
