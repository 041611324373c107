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
        failures.extend(_construction_failures(checker, rule))
        for ex in rule.examples.clean:
            kw = _kwargs(rule, ex)
            found = checker.engine.run(ex.text, kw["role"], kw["counterpart"], kw["channel"], kw["context"],
                                       with_model=False).findings
            bad = [f for f in found if f.subtype == rule.subtype]
            if bad:
                failures.append(f"{rule.id}: should not flag {ex.text!r} as {rule.subtype} (got {bad[0].rule_id} on {bad[0].text!r})")
    return failures


def _construction_failures(checker: Checker, rule: Rule) -> list[str]:
    """Each named construction, alone in its rule, fires on its own fire examples with the
    expected span (``hit``) and rewrite (``rewrite``) where the example gives them."""
    out: list[str] = []
    for con in rule.constructions:
        if not con.fire:
            continue
        alone = Engine(checker.lexicon, [rule.model_copy(update={"constructions": [con]})],
                       shared_tokenizer=checker.engine.tokenizer)
        for ex in con.fire:
            kw = _kwargs(rule, ex, fire=True)
            run = alone.run(ex.text, kw["role"], kw["counterpart"], kw["channel"], kw["context"])
            mine = [f for f in run.findings if f.rule_id == rule.id]
            where = f"{rule.id} / {con.name}"
            if not mine:
                out.append(f"{where}: should fire on {ex.text!r}")
            elif ex.hit is not None and not any(f.text == ex.hit for f in mine):
                out.append(f"{where}: on {ex.text!r} should report {ex.hit!r}, reported {[f.text for f in mine]}")
            elif ex.rewrite is not None and run.rewrite != ex.rewrite:
                out.append(f"{where}: on {ex.text!r} should rewrite to {ex.rewrite!r}, got {run.rewrite!r}")
            elif any(f.construction != con.name for f in mine):
                out.append(f"{where}: findings on {ex.text!r} do not carry the construction's name")
    return out
