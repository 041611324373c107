"""The fast backend must segment exactly like jieba (HMM off) on our texts."""
from __future__ import annotations

import pytest

import tonecheck
from tonecheck.tokenizer import JiebaTokenizer, make_tokenizer

rjieba = pytest.importorskip("rjieba", reason="rjieba (tonecheck[fast]) not installed")


def _texts():
    c = tonecheck.default_checker()
    for r in c.rules:
        for ex in r.examples.fire + r.examples.clean:
            yield ex.text


def test_parity_over_rule_examples():
    from tonecheck.normalize import normalize

    words = tonecheck.default_checker().engine.rules.literals.words
    a = JiebaTokenizer(words)
    b = make_tokenizer("rjieba", words)
    diffs = [t for t in _texts() if a.tokenize(normalize(t).text) != b.tokenize(normalize(t).text)]
    assert not diffs, diffs[:5]


def test_same_findings_with_both_backends():
    fast = tonecheck.default_checker()
    assert fast.tokenizer_name == "rjieba"
    slow = tonecheck.Checker(tokenizer="jieba")
    for t in _texts():
        fa = [(f.rule_id, f.start, f.end) for f in slow.check(t, counterpart="third_party").findings]
        fb = [(f.rule_id, f.start, f.end) for f in fast.check(t, counterpart="third_party").findings]
        assert fa == fb, t


def test_unknown_backend_is_an_error():
    with pytest.raises(ValueError, match="unknown tokenizer"):
        make_tokenizer("nope")
