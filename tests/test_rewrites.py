"""Rewrites over every rule's own fire examples: changed, clean, facts kept."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

import tonecheck
from tonecheck.rewrite import debt_amounts_in, AMOUNT_RE, DATE_RE, apply_fixes, extract_facts, render, resolve_overlaps

CHECKER = tonecheck.default_checker()
CASES = [(r.id, ex) for r in CHECKER.rules if r.category.value not in ("risk",) for ex in r.examples.fire]


def _kw(rule_id, ex):
    rule = next(r for r in CHECKER.rules if r.id == rule_id)
    return dict(role=ex.role or rule.roles[0],
                counterpart=ex.counterpart or (rule.counterparts[0] if rule.counterparts else "debtor"),
                channel=ex.channel or (rule.channels[0] if rule.channels else "call"),
                context=ex.context or rule.context)


@pytest.mark.parametrize("rule_id, ex", CASES, ids=[f"{rid}-{i}" for i, (rid, _) in enumerate(CASES)])
def test_rewrite_is_changed_clean_and_keeps_facts(rule_id, ex):
    kw = _kw(rule_id, ex)
    res = CHECKER.check(ex.text, **kw)
    assert res.violations, f"{rule_id} example not flagged: {ex.text}"
    assert res.rewrite != ex.text
    again = CHECKER.check(res.rewrite, **kw)
    assert not again.violations, (res.rewrite, [(f.rule_id, f.text) for f in again.violations])
    if any(f.subtype == "privacy.third_party_disclosure" for f in res.violations):
        return  # to a third party the debt facts themselves are the violation
    private = [(f.fix_start, f.fix_end) for f in res.violations if f.category == "privacy"]
    debt = set(debt_amounts_in(ex.text))  # an amount not said of the debt is not kept as the debt's
    for rx in (AMOUNT_RE, DATE_RE):
        for m in rx.finditer(ex.text):
            if any(s <= m.start() < e for s, e in private):
                continue  # identifiers and addresses are masked, not kept
            if rx is AMOUNT_RE and m.group(0) not in debt:
                continue
            assert m.group(0) in res.rewrite, f"fact {m.group(0)!r} lost: {ex.text} -> {res.rewrite}"


def test_fixes_never_overlap_and_apply_once():
    for _, ex in CASES[:200]:
        res = CHECKER.check(ex.text, counterpart="debtor")
        ranges = resolve_overlaps([(f.fix_start, f.fix_end, f.suggestion, f.severity.rank) for f in res.violations])
        for (s1, e1, _), (s2, e2, _) in zip(ranges, ranges[1:]):
            assert e1 <= s2


def test_template_placeholders_and_optional_parts():
    facts = extract_facts("你这三千块拖到下周一还不还")
    assert facts["amount"] == "三千块" and facts["date"].startswith("下周一")
    assert render("[您的{amount}欠款，]请于{date}前处理。", facts) == "您的三千块欠款，请于下周一前处理。"
    assert render("[您的{amount}欠款，]请尽快处理。", {}) == "请尽快处理。"
    assert render("尾号{tail4}的卡", extract_facts("", "6222021234567890128")) == "尾号0128的卡"


def test_apply_fixes_tidies_punctuation():
    assert apply_fixes("你这个废物，，三千块都拖半年", [(0, 5, "")]) == "三千块都拖半年"
    assert apply_fixes("好的，你个傻逼。", [(3, 7, "")]) == "好的。"


@given(st.text(alphabet="0123456789,.一二三两十百千万几多元块钱月日号天周今明下本点前", max_size=30))
def test_quick_fact_scans_find_what_the_full_scans_find(text):
    from tonecheck.rewrite import amounts_in, dates_in

    assert amounts_in(text) == [m.group(0) for m in AMOUNT_RE.finditer(text)]
    assert dates_in(text) == [m.group(0) for m in DATE_RE.finditer(text)]


@pytest.mark.parametrize("text, kept, dropped", [
    ("【XX银行】你这种人就该去坐牢，三千元月底前处理", ["【XX银行】", "三千元"], ["坐牢"]),
    ("您在招商银行的那笔欠款拖着，真有本事啊，一分都不还", ["招商银行"], []),
    ("【某某法院执行局】您已被列为被执行人，请立即还款", [], ["法院"]),   # the letterhead is the violation
    ("你去借呗借一笔先把我们这个还上", [], ["借呗"]),                    # named inside the violation
])
def test_rewrites_keep_signature_and_lender_but_not_what_violates(text, kept, dropped):
    res = CHECKER.check(text, counterpart="debtor")
    assert res.findings, text
    for k in kept:
        assert k in res.rewrite, (k, res.rewrite)
    for d in dropped:
        assert d not in res.rewrite, (d, res.rewrite)
    assert not CHECKER.check(res.rewrite, counterpart="debtor").violations


@pytest.mark.parametrize("text, expected", [
    ("你在我们这儿欠的三千块拖了半年，真是个老赖", "你在我们这儿欠的三千块拖了半年"),
    ("好的。你个废物！还钱", "好的。还钱"),
])
def test_deleting_a_name_takes_its_frame_along(text, expected):
    assert CHECKER.check(text, counterpart="debtor").rewrite == expected


def test_fallback_to_a_third_party_never_mentions_repayment():
    conv = {"id": "fb", "counterpart": "unknown", "channel": "call", "utterances": [
        {"speaker": "agent", "text": "你好，请问孙磊在吗"},
        {"speaker": "customer", "text": "他早搬走了，你们别再往我这打了"},
        {"speaker": "agent", "text": "你不告诉我他在哪，我们就天天打你这个号，打到他还钱为止"},
    ]}
    res = CHECKER.check_conversation(conv)
    last = res.utterances[-1]
    assert last.violations
    again = CHECKER.check(last.rewrite, counterpart="third_party")
    assert not again.violations, last.rewrite
    assert "还款" not in last.rewrite
