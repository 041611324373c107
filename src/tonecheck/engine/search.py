"""Patterns searched under one check's time budget (the regex backend).

A check has a deadline; every regex search runs under what is left of it.
Patterns compile on first use (most never run in a process's life), and a
pattern written in the syntax Python's ``re`` understands gets an ``re`` twin,
three to five times faster than ``regex`` on the big word-class alternations
our lexicons use. The ``regex`` form stays for what only it can do
(\\p{Han}, variable-width look-behind) and runs with the time left as its
timeout.
"""
from __future__ import annotations

import re
import time
import warnings

import regex

# One check's total time budget (seconds); past it the check returns what it
# has found, with ``truncated`` set. Configurable per Checker.
DEFAULT_DEADLINE_S = 2.0
# Long texts are searched in chunks of this many characters (each sees this
# much more text beyond its end, for look-aheads), with a deadline check
# between chunks: one search can never run away with the budget.
SEARCH_CHUNK = 2000
SEARCH_OVERLAP = 400


class DeadlineExceeded(Exception):
    """A check ran out of its time budget (internal: the check returns a partial result)."""


class Deadline:
    """The moment one check must stop by (``time.monotonic`` seconds)."""

    __slots__ = ("at",)

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises DeadlineExceeded when none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded
        return left


class LazyRegex:
    """A pattern compiled on first use, searched under a deadline."""

    __slots__ = ("pattern", "_rx", "_fast")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._rx: regex.Pattern | None = None
        self._fast: re.Pattern | regex.Pattern | None = None

    def get(self) -> regex.Pattern:
        if self._rx is None:
            self._rx = regex.compile(self.pattern)
        return self._rx

    def fast(self) -> "re.Pattern | regex.Pattern":
        """The quickest compiled form (the stdlib twin when there is one)."""
        if self._fast is None:
            self._fast = stdlib_compile(self.pattern) or self.get()
        return self._fast

    def finditer(self, text: str, lo: int, hi: int, deadline: Deadline):
        """Matches in text[lo:hi], as ``finditer`` finds them, under the deadline.

        Beyond one chunk the text is searched chunk by chunk (each allowed to
        look SEARCH_OVERLAP characters past its end) with a deadline check in
        between; a match found in a chunk's overlap is left to the next chunk,
        which starts where the last match ended, as a plain scan would. Within
        one chunk (nearly every call) the compiled pattern's own iterator is
        returned as it is.
        """
        rx = self.fast()
        left = deadline.remaining()  # raises DeadlineExceeded when no time is left
        if hi - lo <= SEARCH_CHUNK + SEARCH_OVERLAP:
            return rx.finditer(text, lo, hi, timeout=left) if isinstance(rx, regex.Pattern) else rx.finditer(text, lo, hi)
        return self._chunked(rx, text, lo, hi, deadline)

    @staticmethod
    def _chunked(rx: "re.Pattern | regex.Pattern", text: str, lo: int, hi: int, deadline: Deadline):
        timed = isinstance(rx, regex.Pattern)  # only `regex` takes a timeout; `re` twins are bounded by chunks

        def scan(a: int, b: int):
            left = deadline.remaining()
            return rx.finditer(text, a, b, timeout=left) if timed else rx.finditer(text, a, b)

        pos = lo
        while pos < hi:
            stop = min(hi, pos + SEARCH_CHUNK)
            nxt = stop
            for m in scan(pos, min(hi, stop + SEARCH_OVERLAP)):
                if m.start() >= stop:
                    break
                yield m
                nxt = max(nxt, m.end())
            pos = nxt

    def search(self, text: str, deadline: Deadline, lo: int = 0, hi: int | None = None):
        """The first match in text[lo:hi] or None, under the deadline."""
        return next(self.finditer(text, lo, len(text) if hi is None else hi, deadline), None)


def stdlib_compile(pattern: str) -> "re.Pattern | None":
    """``re`` form of a pattern, or None when its syntax needs the ``regex`` module."""
    if "\\p{" in pattern or "\\P{" in pattern:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. a nested-set FutureWarning: meaning differs
            return re.compile(pattern)
    except (re.error, Warning, RecursionError, OverflowError):
        return None


def literal_alternation(words) -> "re.Pattern | None":
    """One compiled alternation of literal words, longest first (None for no words)."""
    words = sorted({w for w in words if w}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))) if words else None
