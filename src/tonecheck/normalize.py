"""Text normalisation that remembers where every character came from.

Rules match against a canonical form (half-width, lower case, simplified,
evasion separators removed, spoken digits as ASCII, 3+ repeats folded);
findings must point into the caller's string, so each normalised character
keeps the index of the original character it came from (``origin``). The map
is monotonic non-decreasing, which the property tests check.

Speed matters: the per-character fold is one ``str.translate`` and the other
steps are regex scans that touch only the places that need them, so an
ordinary utterance is normalised at C speed.
"""
from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import regex

from . import native

# Characters an evader drops between the characters of a word (傻*逼, 傻 逼, s.b).
_SEPARATORS = " \t\u3000\u00a0*#@_\\-~·^+=|/\\\\`&%$."
# Between two digits only these are dropped (a decimal point or a mask star is kept).
_DIGIT_SEPARATORS = frozenset(" \t\u00a0-_")
_SPOKEN_DIGITS = {
    "零": "0", "〇": "0", "○": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
}
_MIN_SPOKEN_RUN = 3
_RADIO_DIGITS = frozenset("拐勾")  # radio/telephony 7 and 9
_MIN_RADIO_RUN = 6

_WORD = r"[\p{L}\p{N}\p{Han}]"
_SEP_RUN = regex.compile(rf"(?<={_WORD})[{_SEPARATORS}]{{1,3}}(?={_WORD})")
_SEP_CHAR = re.compile(f"[{re.escape(_SEPARATORS)}]")  # the cheap test first: most texts have no separator
_DIGIT_CLASS = "0-9" + "".join(_SPOKEN_DIGITS)
_SPOKEN_CHAR = re.compile("[" + "".join(_SPOKEN_DIGITS) + "]")  # a run needs one to be worth converting
_SPOKEN_RUN = re.compile(rf"[{_DIGIT_CLASS}](?:[杠\-— ]{{0,3}}[{_DIGIT_CLASS}])+")
# The stdlib engine is several times faster than `regex` on back-references.
_REPEAT = re.compile(r"([^\d*\s])\1{2,}")
_ANY_REPEAT = re.compile(r"(.)\1\1")


@lru_cache(maxsize=64)
def _identity(n: int) -> tuple[int, ...]:
    return tuple(range(n))


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    origin: tuple[int, ...]  # origin[i] = index in the original string of text[i]
    breaks: frozenset[int]   # normalised positions where removed whitespace stood (soft clause breaks)
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised [start, end) to the original string."""
        if end <= start:
            o = self.origin[start] if start < len(self.origin) else len(self.original)
            return o, o
        return self.origin[start], self.origin[end - 1] + 1


def _lexicon_path(name: str) -> Path:
    try:
        p = Path(str(resources.files("tonecheck.lexicons") / name))
        if p.exists():
            return p
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "lexicons" / name


@lru_cache(maxsize=1)
def _t2s() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _lexicon_path("t2s.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            t, s = line.split("\t")
            table[t] = s
    return table


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """One-to-one character folds: width (NFKC), case, traditional -> simplified."""
    t2s = _t2s()
    table: dict[int, str] = {}
    # Blocks where width/compatibility/case folds live (Latin, symbols, CJK
    # compatibility, full-width forms, math and enclosed alphanumerics).
    blocks = [(0x20, 0x250), (0x370, 0x530), (0x2000, 0x3400), (0xF900, 0xFB00), (0xFE10, 0xFFF0),
              (0x1D400, 0x1D800), (0x1F100, 0x1F200)]
    for cp in (c for lo, hi in blocks for c in range(lo, hi)):
        ch = chr(cp)
        f = unicodedata.normalize("NFKC", ch)
        if len(f) != 1:
            f = ch
        f = f.lower() if len(f.lower()) == 1 else f
        f = t2s.get(f, f)
        if f != ch:
            table[cp] = f
    for t, s in t2s.items():
        table[ord(t)] = s
    # Lone surrogates (from bad decoding upstream) cannot be encoded for the
    # automaton or the tokenizer; they become U+FFFD, one for one.
    for cp in range(0xD800, 0xE000):
        table[cp] = "\ufffd"
    return table


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FFFF or 0xF900 <= o <= 0xFAFF


def fold_char(ch: str) -> str:
    """Width, case and script folding of one character."""
    return ch.translate(_fold_table())


@lru_cache(maxsize=1)
def _folder():
    """The C fold (tonecheck._fold) set up with this module's tables, or None (not built, or
    switched off: the Python lines in :func:`normalize` do the same)."""
    fold = native.load("_fold")
    if fold is None:
        return None
    return fold.Folder(_fold_table(), _SEPARATORS, "".join(_SPOKEN_DIGITS))


def normalize(text: str) -> Normalized:
    """Canonical form of ``text`` with an offset map back to it."""
    folder = _folder()
    if folder is not None:  # the fold, and which slower steps may apply, in one pass
        folded, may = folder.fold(text)
        seps = bool(may & 1) and _SEP_RUN.search(folded) is not None
        spoken = bool(may & 2) and _has_spoken_run(folded)
        repeats = bool(may & 4)
    else:
        folded = text.translate(_fold_table())
        seps = _SEP_CHAR.search(folded) is not None and _SEP_RUN.search(folded) is not None
        spoken = _has_spoken_run(folded)
        repeats = _ANY_REPEAT.search(folded) is not None
    if not (seps or spoken or repeats):
        # the common case: nothing but the 1:1 fold
        return Normalized(folded, _identity(len(folded)), frozenset(), text)
    origin: list[int] | None = None  # None means identity
    cur, breaks_at = folded, []
    if seps:
        cur, origin, breaks_at = _drop_separators(cur, origin)
    if spoken or (seps and _has_spoken_run(cur)):  # 一_二_三 becomes a run once _ is gone
        cur, origin = _spoken_digits(cur, origin)
    if repeats or seps:  # dropping separators can bring repeats together (傻 傻 傻)
        cur, origin = _collapse_repeats(cur, origin)
    final = tuple(origin) if origin is not None else _identity(len(cur))
    breaks = frozenset(bisect.bisect_left(final, o) for o in breaks_at) if breaks_at else frozenset()
    return Normalized(cur, final, breaks, text)


def _has_spoken_run(text: str) -> bool:
    return _SPOKEN_CHAR.search(text) is not None and any(
        _SPOKEN_CHAR.search(m.group()) for m in _SPOKEN_RUN.finditer(text))


def _apply(text: str, origin: list[int] | None, edits: list[tuple[int, int, str, list[int]]]) -> tuple[str, list[int]]:
    """Replace text[s:e] by rep (whose characters come from positions idx) for each edit."""
    if origin is None:
        origin = list(range(len(text)))
    out: list[str] = []
    out_o: list[int] = []
    pos = 0
    for s, e, rep, idx in edits:
        out.append(text[pos:s])
        out_o.extend(origin[pos:s])
        out.append(rep)
        out_o.extend(origin[i] for i in idx)
        pos = e
    out.append(text[pos:])
    out_o.extend(origin[pos:])
    return "".join(out), out_o


def _drop_separators(text: str, origin: list[int] | None) -> tuple[str, list[int] | None, list[int]]:
    """Remove short separator runs between two word characters (傻 逼, 傻*逼, 138-1234).

    Also returns, as original indices, where removed whitespace stood between
    two Chinese characters: a soft clause break in unpunctuated transcripts.
    """
    edits = []
    breaks: list[int] = []
    for m in _SEP_RUN.finditer(text):
        s, e = m.span()
        prev, nxt = text[s - 1], text[e]
        if prev.isdigit() or nxt.isdigit():
            if not (prev.isdigit() and nxt.isdigit() and all(c in _DIGIT_SEPARATORS for c in m.group())):
                continue
        elif (any(c.isspace() for c in m.group()) and is_cjk(prev) and is_cjk(nxt)
              and not (prev in _SPOKEN_DIGITS and nxt in _SPOKEN_DIGITS)):
            breaks.append(origin[e] if origin is not None else e)
        edits.append((s, e, "", []))
    if not edits:
        return text, origin, []
    new, new_o = _apply(text, origin, edits)
    return new, new_o, breaks


def _spoken_digits(text: str, origin: list[int] | None) -> tuple[str, list[int] | None]:
    """Turn runs of 3+ spoken/Chinese digits (with 杠/space joiners) into ASCII digits."""
    edits = []
    for m in _SPOKEN_RUN.finditer(text):
        run = m.group()
        if not any(c in _SPOKEN_DIGITS for c in run):
            continue
        digits = [(i, _SPOKEN_DIGITS.get(c, c)) for i, c in enumerate(run) if c in _SPOKEN_DIGITS or c.isdigit()]
        if len(digits) < _MIN_SPOKEN_RUN:
            continue
        if len(digits) < _MIN_RADIO_RUN and any(c in _RADIO_DIGITS for c in run):
            continue  # 拐/勾 (radio 7/9) only inside identifier-length runs: 七拐八拐 stays
        s = m.start()
        edits.append((s, m.end(), "".join(d for _, d in digits), [s + i for i, _ in digits]))
    if not edits:
        return text, origin
    return _apply(text, origin, edits)


def _collapse_repeats(text: str, origin: list[int] | None) -> tuple[str, list[int] | None]:
    """Collapse runs of 3+ identical word characters (操操操 -> 操)."""
    edits = [(m.start(), m.end(), m.group(1), [m.start()]) for m in _REPEAT.finditer(text)
             if regex.match(_WORD, m.group(1))]
    if not edits:
        return text, origin
    return _apply(text, origin, edits)

