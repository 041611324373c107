import re

import pytest

from hypothesis import assume, given, settings, strategies as st

from tonecheck.normalize import normalize

EVASIONS = [
    ("傻 逼", "傻逼"),
    ("傻*逼", "傻逼"),
    ("ｓｂ", "sb"),
    ("S B", "sb"),
    ("你這個騙子", "你这个骗子"),
    ("操操操", "操"),
    ("幺三八", "138"),
    ("幺三八 两四六七 杠 一二三四", "13824671234"),
    ("尾号幺三八六", "尾号1386"),
]


def test_evasion_forms_fold_to_canonical():
    for raw, canon in EVASIONS:
        assert normalize(raw).text == canon, raw


def test_masks_decimals_and_clause_punctuation_survive():
    assert normalize("138****5678").text == "138****5678"
    assert normalize("6222 **** **** 0128").text == "6222 **** **** 0128"
    assert normalize("合计7,318.64元").text == "合计7,318.64元"
    assert normalize("好的。我知道了").text == "好的。我知道了"
    assert normalize("天天").text == "天天"  # two repeats are words, not evasion


def test_amounts_with_units_are_not_spoken_digit_runs():
    assert normalize("欠了三万二").text == "欠了三万二"


def test_span_maps_back_to_original_characters():
    raw = "你 个 傻 * 逼"
    n = normalize(raw)
    i = n.text.index("傻逼")
    s, e = n.span(i, i + 2)
    assert raw[s] == "傻" and raw[e - 1] == "逼"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_offset_map_is_total_and_monotonic(text):
    n = normalize(text)
    assert len(n.origin) == len(n.text)
    assert all(0 <= o < len(text) for o in n.origin)
    assert all(a <= b for a, b in zip(n.origin, n.origin[1:]))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("你您个傻逼骗子老赖 *·-一二三四五六七八九幺两0123456789abcSB，。？傻傻傻還錢"))))
def test_normalisation_is_idempotent(text):
    once = normalize(text).text
    assert normalize(once).text == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("我们会按规定安排还款日期您好谢谢,。"))))
def test_canonical_text_round_trips_unchanged(text):
    assume(not re.search(r"(.)\1\1", text))  # 3+ repeats are folded by design
    assert normalize(text).text == text


# The fast path skips steps a text does not need; skipping must never change the result.
_STEP_ALPHABET = "一二三两幺拐勾零0123456789 _-*.杠傻逼你好钱还哈"


def _all_steps(text: str):
    from tonecheck import normalize as n

    folded = text.translate(n._fold_table())
    cur, origin, breaks_at = n._drop_separators(folded, None)
    cur, origin = n._spoken_digits(cur, origin)
    cur, origin = n._collapse_repeats(cur, origin)
    return cur, tuple(origin) if origin is not None else tuple(range(len(cur)))


@given(st.text(alphabet=_STEP_ALPHABET, max_size=40))
def test_skipping_steps_never_changes_the_result(text):
    from tonecheck.normalize import normalize

    got = normalize(text)
    assert (got.text, got.origin) == _all_steps(text)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(
    ["傻", "逼", " ", "*", "_", "-", ".", "一", "二", "三", "拐", "勾", "Ａ", "ｂ", "說", "錢", "，", "\n", "\u3000",
     "\ud800", "哈哈哈", "\n\n\n", "1", "２"]), max_size=20).map("".join)))
def test_c_fold_is_the_python_fold(text):
    """tonecheck._fold folds as str.translate does, and a clear flag means its step has nothing
    to do (the C path only skips work the Python path would find empty)."""
    from tonecheck import normalize as nz

    folder = nz._folder()
    if folder is None:
        pytest.skip("tonecheck._fold not built (or TONECHECK_PURE_PYTHON=1)")
    folded, may = folder.fold(text)
    assert folded == text.translate(nz._fold_table())
    assert (may & 1) or not nz._SEP_CHAR.search(folded)
    assert (may & 2) or not nz._SPOKEN_CHAR.search(folded)
    assert bool(may & 4) == (nz._ANY_REPEAT.search(folded) is not None)
