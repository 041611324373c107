"""The text under check, cut into what the rules look at: clauses, sentences, quotes, tokens.

This module is the one definition of "the same clause" and "the same
sentence": the rules' guards, the rewrites and the trained model all use
these boundaries, and the lexicon macros ``{in_sentence}`` / ``{in_clause}``
are built from the same characters. Everything is computed on first need
and remembered for the rest of the check.
"""
from __future__ import annotations

import bisect
import re

import regex

from ..normalize import Normalized, fold_char
from ..tokenizer import Tokenizer
from .search import Deadline

# Longest sentence and clause the engine looks at as one unit (see split_long).
MAX_SENTENCE_CHARS = 200
MAX_CLAUSE_CHARS = 100
# Characters that end a sentence / a clause in the normalised text (full-width
# punctuation is folded to these by normalisation; 。 and 、 stay as they are).
SENTENCE_END = frozenset("。！？!?；;\n\r")
CLAUSE_END = SENTENCE_END | frozenset("，,：:、 \t")
# single characters: the stdlib engine finds them several times faster than `regex`
_CLAUSE_RX = re.compile("[" + re.escape("".join(sorted(CLAUSE_END))) + "]")
_SENTENCE_RX = re.compile("[" + re.escape("".join(sorted(SENTENCE_END))) + "]")


def _within(ends: frozenset[str]) -> str:
    """A regex character class: any character of the normalised text that ends nothing in ``ends``."""
    chars = sorted({fold_char(c) for c in ends})  # ！？；，： never reach a pattern: normalisation folds them
    return "[^" + "".join({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, regex.escape(c)) for c in chars) + "]"


# Lexicon macros: one character that stays inside the same sentence / clause.
# ``{in_sentence}{0,8}`` is "up to eight characters, not leaving the sentence".
MACROS = {"in_sentence": _within(SENTENCE_END), "in_clause": _within(CLAUSE_END)}

_DIGIT_RUN = regex.compile(r"\d{7,}")
# Characters outside both tokenizers' block class (jieba's re_han_default and
# jieba-rs's wider CJK ranges): each is a block boundary and a token of its own.
_NON_BLOCK = regex.compile(r"[^\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0002FA1Fa-zA-Z0-9+#&._%\-]")
# Context a numeric-identifier pattern may look at around the digit run (卡号是…, 的卡).
_ID_WINDOW_BEFORE, _ID_WINDOW_AFTER = 24, 8
_QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "‘": "’", "《": "》"}
_ANY_QUOTE = regex.compile("[" + regex.escape("".join(_QUOTE_PAIRS) + '"') + "]")


class Doc:
    """One text under check, with what rules compute about it, each on first need."""

    __slots__ = ("norm", "text", "tokenizer", "deadline", "_cuts", "_windows", "_sentence_of", "guard_ok",
                 "_clauses", "_sentences", "_quotes", "_digits", "found", "matches", "_spans")

    def __init__(self, norm: Normalized, tokenizer: Tokenizer | None, deadline: Deadline | None) -> None:
        self.norm = norm
        self.text = norm.text
        self.tokenizer = tokenizer
        self.deadline = deadline
        self._cuts: list[int] | None = None  # positions of characters that end a tokenizer block
        self._windows: dict[tuple[int, int], tuple[list[tuple[int, int]], list[int]]] = {}
        self._sentence_of: dict[tuple[int, int], tuple[int, int]] = {}
        self.guard_ok: dict[tuple[int, tuple[int, int]], bool] = {}  # (rule, sentence) -> unless/requires verdict
        self._clauses: list[int] | None = None
        self._sentences: list[int] | None = None
        self._quotes: list[tuple[int, int]] | None = None
        self._digits: list[tuple[int, int]] | None = None
        self._spans: list[tuple[int, int]] | None = None
        # The literal pass (compile.Literals.scan): every (literal id, start, end) and the ids seen.
        self.matches: list[tuple[int, int, int]] = []
        self.found: frozenset[int] = frozenset()

    # -- identifiers and tokens -----------------------------------------------------------

    def digit_windows(self) -> list[tuple[int, int]]:
        """Merged windows around runs of 7+ digits: where numeric identifiers can be."""
        if self._digits is None:
            wins: list[tuple[int, int]] = []
            for m in _DIGIT_RUN.finditer(self.text):
                s, e = max(0, m.start() - _ID_WINDOW_BEFORE), min(len(self.text), m.end() + _ID_WINDOW_AFTER)
                if wins and s <= wins[-1][1]:
                    wins[-1] = (wins[-1][0], max(e, wins[-1][1]))
                else:
                    wins.append((s, e))
            self._digits = wins
        return self._digits

    def window(self, s: int, e: int) -> tuple[int, int]:
        """The smallest run of whole tokenizer blocks that covers [s, e).

        jieba (and jieba-rs) cut the text into blocks at every character
        outside their word class and segment each block on its own, so
        tokenizing such a run gives exactly the tokens the whole text would,
        at a fraction of the cost on long turns.
        """
        cuts = self._cuts
        if cuts is None:
            cuts = self._cuts = [m.start() for m in _NON_BLOCK.finditer(self.text)]
        i = bisect.bisect_left(cuts, s)
        lo = cuts[i - 1] + 1 if i > 0 else 0
        j = bisect.bisect_left(cuts, e)
        hi = cuts[j] if j < len(cuts) else len(self.text)
        return lo, max(hi, e)

    def tokens_in(self, lo: int, hi: int) -> tuple[list[tuple[int, int]], list[int]]:
        """Tokens (and their starts) of the window [lo, hi), in text offsets."""
        got = self._windows.get((lo, hi))
        if got is None:
            assert self.tokenizer is not None
            toks = [(lo + a, lo + b) for a, b in self.tokenizer.tokenize(self.text[lo:hi])]
            got = self._windows[(lo, hi)] = (toks, [a for a, _ in toks])
        return got

    def aligned(self, s: int, e: int, own_words: frozenset[str] = frozenset()) -> bool:
        """True unless the span cuts through a word that is not one of ours.

        A cut inside a token that is itself a lexicon term (our terms are
        added to the tokenizer, so 你个傻逼 may come out as one token) is fine;
        a cut inside a dictionary word (热狗, 杀毒软件) is not.
        """
        toks, starts = self.tokens_in(*self.window(s, e))
        i = bisect.bisect_right(starts, s) - 1
        ts, te = toks[i]
        if ts != s and self.text[ts:te] not in own_words:
            return False
        j = bisect.bisect_right(starts, e - 1) - 1
        ts, te = toks[j]
        if te != e and self.text[ts:te] not in own_words:
            return False
        return True

    def tokens_between(self, a: int, b: int) -> int:
        """How many tokens lie wholly between the token holding a-1 and the one holding b."""
        toks, starts = self.tokens_in(*self.window(a - 1, b + 1))
        return bisect.bisect_right(starts, b) - bisect.bisect_right(starts, a - 1) - 1

    # -- clauses and sentences ------------------------------------------------------------

    def bounds(self, ends: frozenset[str], with_breaks: bool) -> list[int]:
        """Every cut position (segment starts and ends) for the given end characters."""
        cuts = {0, len(self.text)}
        rx = _CLAUSE_RX if ends is CLAUSE_END else _SENTENCE_RX
        for m in rx.finditer(self.text):
            cuts.add(m.start())
            cuts.add(m.end())
        if with_breaks:
            cuts.update(self.norm.breaks)
        out = sorted(cuts)
        limit = MAX_CLAUSE_CHARS if ends is CLAUSE_END else MAX_SENTENCE_CHARS
        if len(self.text) > limit and any(b - a > limit for a, b in zip(out, out[1:])):
            soft = None if ends is CLAUSE_END else sorted(set(self.bounds(CLAUSE_END, True)))
            out = split_long(out, limit, soft)
        return out

    def sentence_spans(self) -> list[tuple[int, int]]:
        """:func:`sentence_spans` of this text, worked out once."""
        if self._spans is None:
            if self._sentences is None:  # the cuts sentence() uses too: worked out once per text
                self._sentences = self.bounds(SENTENCE_END, False)
            cuts = self._sentences
            out = []
            for a, b in zip(cuts, cuts[1:]):
                while a < b and self.text[a] in SENTENCE_END:
                    a += 1
                if a < b and self.text[a:b].strip():
                    out.append((a, b))
            self._spans = out
        return self._spans

    def clause(self, s: int, e: int) -> tuple[int, int]:
        """The clause holding [s, e) (extended to e when the span runs past it)."""
        if self._clauses is None:
            self._clauses = self.bounds(CLAUSE_END, True)
        return self._enclose(self._clauses, s, e, CLAUSE_END)

    def sentence(self, s: int, e: int) -> tuple[int, int]:
        """The sentence holding [s, e) (extended to e when the span runs past it)."""
        got = self._sentence_of.get((s, e))
        if got is None:
            if self._sentences is None:
                self._sentences = self.bounds(SENTENCE_END, False)
            got = self._sentence_of[(s, e)] = self._enclose(self._sentences, s, e, SENTENCE_END)
        return got

    def _enclose(self, cuts: list[int], s: int, e: int, ends: frozenset[str]) -> tuple[int, int]:
        lo = cuts[max(0, bisect.bisect_right(cuts, s) - 1)]
        hi = cuts[min(len(cuts) - 1, bisect.bisect_left(cuts, max(e, s + 1)))]
        # skip leading delimiters
        while lo < hi and self.text[lo] in ends:
            lo += 1
        return lo, max(hi, e)

    def in_quotes(self, s: int, e: int) -> bool:
        """Whether [s, e) lies inside a pair of quotation marks."""
        if self._quotes is None:
            self._quotes = []
            t = self.text
            if not _ANY_QUOTE.search(t):
                return False
            stack: list[tuple[str, int]] = []
            straight = -1
            for i, ch in enumerate(t):
                if ch in _QUOTE_PAIRS:
                    stack.append((_QUOTE_PAIRS[ch], i))
                elif stack and ch == stack[-1][0]:
                    _, o = stack.pop()
                    self._quotes.append((o, i))
                elif ch == '"':
                    if straight < 0:
                        straight = i
                    else:
                        self._quotes.append((straight, i))
                        straight = -1
        return any(o < s and e <= c for o, c in self._quotes)


def sentence_spans(norm: Normalized) -> list[tuple[int, int]]:
    """The engine's sentences of a normalised text (non-empty, leading delimiters skipped).

    The one definition of "sentence" that the rules' guards, the rewrites and
    the trained model all use.
    """
    return Doc(norm, None, None).sentence_spans()  # segmentation needs neither a tokenizer nor a deadline


def split_long(cuts: list[int], limit: int, soft: list[int] | None) -> list[int]:
    """Cut every segment longer than ``limit`` into pieces of at most ``limit``.

    Whole-call speech-to-text often has no sentence end at all; a "sentence"
    of 20,000 characters would make every per-sentence look (guards, reported
    speech, facts for a rewrite) scan the whole turn once per hit. A long
    segment is cut at the last soft boundary (a clause end) that keeps the
    piece within the limit, else at the limit itself.
    """
    out = [cuts[0]]
    for b in cuts[1:]:
        a = out[-1]
        while b - a > limit:
            cut = a + limit
            if soft:
                i = bisect.bisect_right(soft, cut) - 1
                if i >= 0 and soft[i] > a + limit // 2:
                    cut = soft[i]
            out.append(cut)
            a = cut
        out.append(b)
    return out
