"""Static check for patterns that can backtrack catastrophically.

A team pattern such as ``(?:(?:a|ab)+)+x`` passes every example and then
takes minutes on a sixty-character turn: the engine tries exponentially many
ways to split the text between the repeats. The deadline stops such a check,
but a rule that always times out is useless, so lexicon loading and
``rules test`` refuse the shapes that cause it. A *loop* is a repeat without
an upper bound or with one over 100; then:

* **nested loops**: inside a loop, another repeat whose length can vary
  (``(a+)+``, ``(?:\\w+\\s?)*``, ``(?:[^，]{0,9}x)+``);
* **ambiguous loop bodies**: a loop whose body is a small finite set of
  strings in which some concatenation can be split two ways
  (``(?:a|aa)+``, ``(?:你|你个|个)*``), decided exactly with the
  Sardinas–Patterson test;
* **unbounded bodies of varying length** that cannot be listed (wide
  classes inside the loop) are refused too: write a bounded window
  (``[^。]{0,30}``) instead.

Bounded windows such as ``.{0,30}`` and ``(?:x|y){0,3}`` are always fine.
"""
from __future__ import annotations

import itertools
import re
import re._constants as C  # noqa: N812  (the stdlib's own parser, used read-only)
import re._parser as P  # noqa: N812
import warnings

LOOP_BOUND = 100
_LANGUAGE_LIMIT = 2000  # most strings a loop body may expand to for the exact test
_CLASS_LIMIT = 64  # widest character class expanded
_REGEX_ONLY = re.compile(r"\\[pP]\{[^}]*\}")
_LOOKBEHIND = re.compile(r"\(\?<[=!]")
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT))


def catastrophic(pattern: str) -> str | None:
    """Why ``pattern`` can backtrack catastrophically, or None."""
    # \p{..} (a `regex` extra) becomes one wide class; look-behinds are read as plain groups:
    # neither changes the shapes looked for here.
    plain = _LOOKBEHIND.sub("(?:", _REGEX_ONLY.sub("[^\\n]", pattern))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" FutureWarnings say nothing about backtracking
            tree = P.parse(plain)
    except (re.error, RecursionError, OverflowError):
        return None  # the syntax check reports what cannot be parsed
    return _walk(list(tree), in_loop=False)


def _walk(items: list, in_loop: bool) -> str | None:
    for op, av in items:
        why = None
        if op in _REPEATS:
            lo, hi, body = av
            body = list(body)
            loop = hi == C.MAXREPEAT or hi > LOOP_BOUND
            if in_loop and hi > 1 and (lo != hi or _can_vary(body)):
                return "a repeat of varying length inside another unbounded repeat (nested quantifiers)"
            if loop and _delimited(body):
                why = _walk(body, False)  # every pass starts at a place the text marks: one way to split
            else:
                why = _walk(body, in_loop or loop) or (_loop_body(body) if loop else None)
        elif op == C.SUBPATTERN:
            why = _walk(list(av[-1]), in_loop)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            why = _walk(list(av[1]), in_loop)
        elif op == C.BRANCH:
            why = next((w for b in av[1] if (w := _walk(list(b), in_loop))), None)
        elif op == C.GROUPREF_EXISTS:
            why = next((w for b in av[1:] if b is not None and (w := _walk(list(b), in_loop))), None)
        if why:
            return why
    return None


def _loop_body(body: list) -> str | None:
    if not _can_vary(body):
        return None
    lang = _language(body)
    if lang is None:
        return "an unbounded repeat over text of varying length (use a bounded window such as {0,30})"
    words = {w for w in lang if w}
    if not uniquely_decodable(words):
        return "an unbounded repeat over alternatives that can split the same text two ways"
    return None


def _delimited(body: list) -> bool:
    """Whether every pass of the loop starts with a character nothing else in the body can match.

    Then each pass begins at a place the text itself marks (``(?:\\.[a-z0-9-]+)+``):
    there is only one way to split it.
    """
    if not body or body[0][0] not in (C.LITERAL, C.IN):
        return False
    first = _chars(body[:1])
    rest = _chars(body[1:])
    return first is not None and rest is not None and not (first & rest)


def _chars(items: list) -> set[str] | None:
    """Every character the items can match anywhere, or None when that includes negated or wide classes."""
    out: set[str] = set()
    for op, av in items:
        if op == C.LITERAL:
            out.add(chr(av))
        elif op == C.IN:
            cls = _class(av)
            if cls is None:
                return None
            out |= cls
        elif op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue
        elif op == C.SUBPATTERN:
            sub = _chars(list(av[-1]))
            if sub is None:
                return None
            out |= sub
        elif op in _REPEATS:
            sub = _chars(list(av[2]))
            if sub is None:
                return None
            out |= sub
        elif op == C.BRANCH:
            for b in av[1]:
                sub = _chars(list(b))
                if sub is None:
                    return None
                out |= sub
        else:
            return None
    return out




def _can_vary(items: list) -> bool:
    """Whether the sequence can match strings of more than one length."""
    return _length(items) is None


def _length(items: list) -> int | None:
    n = 0
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL, C.IN, C.ANY):
            n += 1
        elif op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue
        elif op == C.SUBPATTERN:
            k = _length(list(av[-1]))
            if k is None:
                return None
            n += k
        elif op in _REPEATS:
            lo, hi, body = av
            k = _length(list(body))
            if k is None or (lo != hi and k):
                return None
            n += k * lo
        elif op == C.BRANCH:
            ks = {_length(list(b)) for b in av[1]}
            if len(ks) != 1 or None in ks:
                return None
            n += ks.pop()
        else:
            return None
    return n


def _language(items: list) -> set[str] | None:
    """Every string the sequence can match, or None when that is infinite or too many."""
    out = {""}
    for op, av in items:
        if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
            continue
        if op == C.LITERAL:
            part = {chr(av)}
        elif op == C.IN:
            part = _class(av)
        elif op == C.SUBPATTERN:
            part = _language(list(av[-1]))
        elif op == C.BRANCH:
            part = set()
            for b in av[1]:
                sub = _language(list(b))
                if sub is None:
                    return None
                part |= sub
        elif op in _REPEATS:
            lo, hi, body = av
            sub = _language(list(body))
            if sub is None or hi > 8:
                return None
            part = set()
            for k in range(lo, hi + 1):
                for combo in itertools.product(sorted(sub), repeat=k):
                    part.add("".join(combo))
                    if len(part) > _LANGUAGE_LIMIT:
                        return None
        else:
            return None
        if part is None:
            return None
        out = {a + b for a in out for b in part}
        if len(out) > _LANGUAGE_LIMIT:
            return None
    return out


def _class(av: list) -> set[str] | None:
    chars: set[str] = set()
    for k, v in av:
        if k == C.LITERAL:
            chars.add(chr(v))
        elif k == C.RANGE and v[1] - v[0] < _CLASS_LIMIT:
            chars.update(map(chr, range(v[0], v[1] + 1)))
        else:
            return None
    return chars if len(chars) <= _CLASS_LIMIT else None


def uniquely_decodable(words: set[str]) -> bool:
    """Sardinas–Patterson: can every concatenation of ``words`` be split only one way?"""
    code = {w for w in words if w}

    def dangling(a_set: set[str], b_set: set[str]) -> set[str]:
        return {b[len(a):] for a in a_set for b in b_set if len(b) > len(a) and b.startswith(a)}

    current = dangling(code, code)
    seen: set[frozenset[str]] = set()
    while current:
        if current & code:
            return False
        key = frozenset(current)
        if key in seen:
            return True
        seen.add(key)
        current = dangling(code, current) | dangling(current, code)
    return True
