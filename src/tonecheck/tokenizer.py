"""Tokeniser backends: jieba by default, rjieba (jieba-rs) when installed.

Both load the same dictionary and, with HMM off, segment identically on our
texts (tests/test_tokenizer.py checks parity over the examples). Each checker
owns one backend instance with the lexicon terms added as words, so a term
that sits inside a longer dictionary word (热狗, 杀毒软件) does not segment
on its own.
"""
from __future__ import annotations

import logging
import os
from typing import Iterable, Protocol

# Frequency given to lexicon terms: high enough that a term wins over its
# pieces, low enough that a longer dictionary word containing it still wins.
TERM_FREQ = 2000


class Tokenizer(Protocol):
    name: str
    words: frozenset[str]  # the lexicon terms added as words

    def tokenize(self, text: str) -> list[tuple[int, int]]:
        """Token spans (start, end) over ``text``, covering it contiguously."""
        ...


class JiebaTokenizer:
    name = "jieba"

    def __init__(self, words: Iterable[str] = ()) -> None:
        import jieba

        self.words = frozenset(words)
        logging.getLogger("jieba").setLevel(logging.ERROR)
        jieba.setLogLevel(logging.ERROR)
        self._tk = jieba.Tokenizer()
        self._tk.initialize()
        for w in self.words:
            if len(w) > 1 and not self._tk.FREQ.get(w):
                self._tk.add_word(w, freq=TERM_FREQ)

    def tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(s, e) for _, s, e in self._tk.tokenize(text, HMM=False)]


class RJiebaTokenizer:
    name = "rjieba"

    def __init__(self, words: Iterable[str] = ()) -> None:
        import rjieba

        self.words = frozenset(words)
        self._tk = rjieba.Jieba()
        for w in self.words:
            if len(w) > 1 and not self._tk.has_word(w):
                self._tk.add_word(w, TERM_FREQ, None)

    def tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(s, e) for _, s, e in self._tk.tokenize(text, "default", False)]


def available_backends() -> list[str]:
    names = ["jieba"]
    try:
        import rjieba  # noqa: F401

        names.insert(0, "rjieba")
    except ImportError:
        pass
    return names


def make_tokenizer(backend: str | None = None, words: Iterable[str] = ()) -> Tokenizer:
    """Build the requested backend; ``None`` picks rjieba when installed.

    The environment variable TONECHECK_TOKENIZER (jieba|rjieba) overrides the
    automatic choice.
    """
    backend = backend or os.environ.get("TONECHECK_TOKENIZER") or available_backends()[0]
    if backend == "rjieba":
        return RJiebaTokenizer(words)
    if backend == "jieba":
        return JiebaTokenizer(words)
    raise ValueError(f"unknown tokenizer backend {backend!r} (expected jieba or rjieba)")
