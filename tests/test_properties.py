"""Properties over any input: never raise, spans in range, clean stays clean."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

import tonecheck

CHECKER = tonecheck.default_checker()
CUES = list("你您傻逼骗子老赖滚死打砸收拾单位家人孩子学校法院警察坐牢欠钱还款卡号身份证密码验证码 *·，。？1234567890幺三八两")
FILLERS = ["嗯", "那个", "就是说", "呃", "然后", "嗯嗯", "对对"]
CLEAN = [
    "您好，这边是卡中心贷后服务岗，请问这会儿说话方便吗？",
    "您这个月的账单是两千三百元，最后还款日是15号。",
    "要是手头紧，可以考虑办个分期，每期压力会小一些。",
    "按规定逾期信息会报送征信系统，麻烦您留意一下。",
    "好的，那我们约明天下午三点再联系您，打扰了。",
    "谢谢您及时还款，祝您生活愉快。",
    "您的家人和同事我们都不会去打扰，请您放心。",
]


def _check_invariants(text: str, res: tonecheck.CheckResult) -> None:
    assert res.text == text
    prev = (-1, -1)
    seen = set()
    fixes = sorted((f.fix_start, f.fix_end) for f in res.findings if f.fix_end > f.fix_start)
    assert all(a[1] <= b[0] for a, b in zip(fixes, fixes[1:])), f"fixes overlap: {fixes}"
    for f in res.findings:
        assert 0 <= f.start < f.end <= len(text)
        if f.fix_end > f.fix_start:
            assert 0 <= f.fix_start <= f.start and f.end <= f.fix_end <= len(text)
        else:  # its fix is part of a wider one, which starts here and overlaps its span
            assert f.suggestion == ""
            assert any(s == f.fix_start and s < f.end and f.start < e for s, e in fixes)
        assert f.text == text[f.start:f.end]
        assert (f.start, f.end) >= prev
        prev = (f.start, f.end)
        key = (f.rule_id, f.subtype, f.start, f.end)  # the model names two subtypes of one category under one id
        assert key not in seen
        seen.add(key)
    if not res.violations:
        assert res.rewrite == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_unicode_never_raises_and_spans_are_in_range(text):
    for role in ("agent", "customer"):
        _check_invariants(text, CHECKER.check(text, role=role, counterpart="third_party"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(CUES), max_size=40).map("".join))
def test_cue_soup_never_raises(text):
    _check_invariants(text, CHECKER.check(text, counterpart="third_party", channel="sms"))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CLEAN), st.lists(st.sampled_from(FILLERS), max_size=3), st.lists(st.sampled_from(FILLERS), max_size=3),
       st.sampled_from(["", " ", "，"]))
def test_clean_utterance_stays_clean_wrapped_in_fillers(text, pre, post, sep):
    wrapped = sep.join(pre + [text] + post)
    res = CHECKER.check(wrapped, counterpart="debtor")
    assert not res.violations, [(f.rule_id, f.text) for f in res.violations]


def test_clean_sentences_are_clean():
    for text in CLEAN:
        assert not CHECKER.check(text, counterpart="debtor").violations, text
