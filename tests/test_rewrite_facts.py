"""Rewrites never invent or leak facts (a property over every labelled text and rule example in the repo).

A rewrite may keep only facts that are in the original turn and allowed for
the listener: no amount or date it did not have, no agreement, deferral or
other commitment the speaker did not make, no debt amount to a third party,
and no sentence fragment left by a deletion.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tonecheck
from tonecheck.rewrite import amounts_in, dates_in, is_fragment

ROOT = Path(__file__).resolve().parents[1]
SETS = ("blind2", "blind3", "blind4", "blind5", "challenge")
COMMITMENTS = re.compile(r"约定|答应|承诺|暂缓|延期|减免|免息|停催|不用还|先不还|分期")
_SENT = re.compile(r"[^。！？!?；;\n]+")


def _texts():
    checker = tonecheck.default_checker()
    for d in SETS:
        for line in open(ROOT / "tests" / d / "utterances.jsonl", encoding="utf-8"):
            r = json.loads(line)
            yield r["text"], r.get("role", "agent"), r.get("counterpart", "unknown"), r.get("channel", "call")
    for rule in checker.rules:
        for ex in rule.examples.fire:
            yield (ex.text, ex.role or rule.roles[0], ex.counterpart or (rule.counterparts[0] if rule.counterparts else "debtor"),
                   ex.channel or (rule.channels[0] if rule.channels else "call"))


CASES = list(_texts())


def _problems(text: str, role: str, cp: str, ch: str) -> list[str]:
    res = tonecheck.check(text, role=role, counterpart=cp, channel=ch)
    rw = res.rewrite
    if not res.violations or rw == text:
        return []
    out = []
    new_amounts = set(amounts_in(rw)) - set(amounts_in(text))
    if new_amounts:
        out.append(f"amount not in the original: {sorted(new_amounts)}")
    new_dates = {d for d in dates_in(rw) if d not in text}
    if new_dates:
        out.append(f"date not in the original: {sorted(new_dates)}")
    added = set(COMMITMENTS.findall(rw)) - set(COMMITMENTS.findall(text))
    if added:
        out.append(f"commitment the speaker did not make: {sorted(added)}")
    if cp == "third_party" and amounts_in(rw):
        out.append(f"amount told to a third party: {amounts_in(rw)}")
    frags = [s for s in _SENT.findall(rw) if s.strip() and is_fragment(s)]
    if frags:
        out.append(f"fragment left: {frags}")
    return out


def test_no_rewrite_invents_or_leaks_facts():
    bad = []
    for text, role, cp, ch in CASES:
        for p in _problems(text, role, cp, ch):
            bad.append(f"{text!r} ({cp}): {p}")
    assert not bad, f"{len(bad)} of {len(CASES)}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("text,cp,forbidden", [
    ("月底前不还就去你单位闹", "debtor", "约定"),              # a deadline in a threat is no agreement
    ("他欠的三千块你让他月底前还，不然我们去他单位闹", "third_party", "三千"),
    ("你他妈的到底还不还", "debtor", "的到底"),               # no fragment
])
def test_known_cases(text, cp, forbidden):
    assert forbidden not in tonecheck.check(text, counterpart=cp).rewrite


@pytest.mark.parametrize("text, amount", [
    ("你一个月才挣四千块，还好意思说手头紧？", "四千块"),     # income
    ("转了八十块过来，真给我们面子啊", "八十块"),             # a payment
    ("你车门修一下也得好几千，自己掂量", "好几千"),           # a repair bill
])
def test_an_amount_not_said_of_the_debt_is_never_stated_as_the_debt(text, amount):
    from tonecheck.rewrite import debt_amounts_in

    assert debt_amounts_in(text) == []
    res = tonecheck.Checker(model=False).check(text)
    assert "欠款" not in res.rewrite or amount.rstrip("块") not in res.rewrite


def test_an_amount_said_of_the_debt_is_kept():
    from tonecheck.rewrite import debt_amounts_in

    assert debt_amounts_in("你欠的三千块拖了半年") == ["三千块"]
    assert debt_amounts_in("这两万块到底什么时候还？") == ["两万块"]


@pytest.mark.parametrize("left, fragment", [
    ("说了几遍还是记不住，跟", True),      # the object of 跟 was deleted
    ("你这个人真是", True),
    ("的到底还不还", True),
    ("请您尽快安排还款", False),
    ("我们跟您确认一下", False),
])
def test_what_a_deletion_leaves_is_judged_a_fragment(left, fragment):
    assert is_fragment(left) is fragment


def test_a_deletion_that_strands_a_preposition_falls_back_to_a_whole_sentence():
    res = tonecheck.Checker(model=False).check("提醒你多少回都记不住，跟猪一样蠢")
    assert res.findings and not res.rewrite.rstrip("。").endswith("跟")
