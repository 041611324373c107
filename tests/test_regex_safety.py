"""The static catastrophic-backtracking check: what it refuses, what it lets through."""
from __future__ import annotations

import re
import time

import pytest

from tonecheck.regex_safety import catastrophic, uniquely_decodable

REFUSED = [
    r"(?:(?:a|ab)+)+x",          # nested loops over alternatives
    r"(a+)+b",
    r"(?:\w+\s?)*$",
    r"(?:你|你个|个)+傻",           # 你个 = 你 + 个: two ways to split
    r"(?:a|aa)+b",
    r"(?:[^，]{0,9}x)+",           # a window inside a loop
    r"(?:(?:傻|逼)+)+c",
    r"(?:\.[a-z.]+)+@",            # the delimiter also occurs inside the body
]
ALLOWED = [
    r"(?:a|b)+", r".{0,30}?(?:x|xy)", r"(?:你|您)(?:个|这个)?傻逼", r"(?:ab|cd){2,}",
    r"[^。]{0,20}(?:a|b)", r"(?:x{0,30}){0,30}", r"(?:a|ab){0,5}", r"(?:就是说|那个|就是|嗯)*x",
    r"\d+", r"(?:,\d{3})+", r"(?:\.[a-z0-9\-]+)+", r"(?<=\p{Han})[a-z]+",
]


@pytest.mark.parametrize("pattern", REFUSED)
def test_refused(pattern):
    assert catastrophic(pattern)


@pytest.mark.parametrize("pattern", ALLOWED)
def test_allowed(pattern):
    assert catastrophic(pattern) is None


def test_a_refused_pattern_really_is_slow_and_the_check_is_not():
    """The reason for the check: the refused shape explodes on a short text in the stdlib engine
    (which the engine uses for speed wherever a pattern's syntax allows)."""
    t0 = time.perf_counter()
    assert re.compile(r"(a+)+b").search("a" * 22) is None
    slow = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert catastrophic(r"(a+)+b")
    assert time.perf_counter() - t0 < slow / 10


def test_sardinas_patterson():
    assert uniquely_decodable({"0", "10", "110"})          # a prefix code
    assert uniquely_decodable({"就是说", "就是", "那个"})
    assert not uniquely_decodable({"a", "ab", "b"})
    assert not uniquely_decodable({"你", "你个", "个"})
    assert not uniquely_decodable({"1", "011", "01110", "1110", "10011"})  # classic non-UD code
