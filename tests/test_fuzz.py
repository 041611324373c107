"""Fuzz properties of the public API (hypothesis).

Over any input: only ``InputError`` is raised; spans index the original
string; fixes never overlap; results always serialise to JSON; the same
input gives the same output; every check ends within its deadline.

Fast by default (a few hundred inputs per property); ``pytest --fuzz-long``
runs 100,000 per property.
"""
from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tonecheck

CHECKER = tonecheck.default_checker()
DEADLINE_S = CHECKER.deadline_s
SLACK_S = 1.0  # time a check may take past its deadline (building the result after the last step)

ROLES = ["agent", "customer"]
COUNTERPARTS = ["debtor", "third_party", "unknown"]
CHANNELS = ["call", "visit", "sms"]
CUES = list("你您他傻逼骗子老赖滚死打砸收拾单位家人孩子学校法院警察坐牢欠钱还款卡号身份证密码验证码微信转账"
            " *·，。？！“”「」\n1234567890幺三八两零一二X") + ["不会", "没有", "你说", "他不在", "我是他妈妈", "尾号"]
PHRASES = ["再不还钱我弄死你", "你个傻逼", "把验证码报给我", "他欠我们三万", "您好", "请尽快还款", "法院的",
           "身份证110105199003071239", "6222021234567890128", "嗯 那个 就是说", "我不想活了", "你可真有本事"]


LONG = os.environ.get("TONECHECK_FUZZ_LONG") == "1"  # set by conftest.py for --fuzz-long


def _settings(default: int):
    """A property's budget: ``default`` inputs, or 100,000 with --fuzz-long."""
    def wrap(fn):
        return settings(max_examples=100_000 if LONG else default, deadline=None, derandomize=not LONG,
                        suppress_health_check=list(HealthCheck))(fn)
    return wrap


texts = st.one_of(
    st.text(max_size=300),                                                   # any code points, surrogates too
    st.lists(st.sampled_from(CUES), max_size=80).map("".join),              # cue soup
    st.lists(st.sampled_from(PHRASES), max_size=12).map("".join),            # violations run together
    st.tuples(st.sampled_from(PHRASES + CUES), st.integers(1, 4000)).map(lambda t: (t[0] * t[1])[:20_000]),
)


def _invariants(text: str, res: tonecheck.CheckResult) -> None:
    assert res.text == text
    fixes = sorted((f.fix_start, f.fix_end) for f in res.findings if f.fix_end > f.fix_start)
    assert all(a[1] <= b[0] for a, b in zip(fixes, fixes[1:])), fixes
    for f in res.findings:
        assert 0 <= f.start < f.end <= len(text) and text[f.start:f.end] == f.text
        assert 0 <= f.fix_start <= f.fix_end <= len(text)
    json.loads(res.model_dump_json())  # always serialisable


@_settings(400)
@given(text=texts, role=st.sampled_from(ROLES), cp=st.sampled_from(COUNTERPARTS), ch=st.sampled_from(CHANNELS))
def test_check_properties(text, role, cp, ch):
    t0 = time.perf_counter()
    try:
        res = CHECKER.check(text, role=role, counterpart=cp, channel=ch)
    except tonecheck.InputError as exc:
        assert "surrogate" in str(exc)  # the only bad input a str of ≤ 20,000 characters can be
        return
    assert time.perf_counter() - t0 <= DEADLINE_S + SLACK_S
    _invariants(text, res)
    again = CHECKER.check(text, role=role, counterpart=cp, channel=ch)
    if not (res.truncated or again.truncated):
        assert again == res  # same input, same output


junk = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=5), st.binary(max_size=5),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@_settings(300)
@given(text=st.one_of(st.text(max_size=50), junk), role=st.one_of(st.sampled_from(ROLES), junk),
       cp=st.one_of(st.sampled_from(COUNTERPARTS), junk), ch=st.one_of(st.sampled_from(CHANNELS), junk))
def test_bad_arguments_raise_only_input_error(text, role, cp, ch):
    try:
        res = CHECKER.check(text, role=role, counterpart=cp, channel=ch)
    except tonecheck.InputError:
        return
    json.loads(res.model_dump_json())


turn = st.fixed_dictionaries({"speaker": st.one_of(st.sampled_from(["agent", "customer", "坐席", "客户"]), junk),
                              "text": st.one_of(texts, junk)})
conversations = st.one_of(
    st.fixed_dictionaries({"id": st.one_of(st.text(max_size=8), junk),
                           "counterpart": st.one_of(st.sampled_from(COUNTERPARTS), junk),
                           "utterances": st.lists(turn, max_size=6)}),
    junk,
)


@_settings(300)
@given(conv=conversations)
def test_conversations_raise_only_input_error(conv):
    try:
        res = CHECKER.check_conversation(conv)
    except tonecheck.InputError as exc:
        assert str(exc).strip() and "\n" not in str(exc)  # one line naming the field
        return
    json.loads(res.model_dump_json())
    assert len(res.utterances) == len(conv["utterances"]) == len(res.counterparts)
    for u, t in zip(res.utterances, conv["utterances"]):
        _invariants(t["text"], u)
