"""Text normalisation that remembers where every character came from.

Rules match against a canonical form (half-width, lower case, simplified,
evasion separators removed, spoken digits as ASCII); findings must point into
the caller's string, so each normalised character keeps the index of the
original character it came from (``origin``). The map is monotonic
non-decreasing, which the property tests check.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

# Characters an evader drops between the characters of a word (傻*逼, 傻 逼, s.b).
_SEPARATORS = frozenset(" \t\u3000\u00a0*#@_-~·^+=|/\\`&%$.")
# Between two digits only these are dropped (a decimal point or a mask star is kept).
_DIGIT_SEPARATORS = frozenset(" \t\u3000\u00a0-_")
# Chinese punctuation is kept: it separates clauses.
_CLAUSE_PUNCT = frozenset("，,。！!？?；;：:…\n\r")
_SPOKEN_DIGITS = {
    "零": "0", "〇": "0", "○": "0", "洞": "0", "幺": "1", "一": "1", "二": "2", "两": "2",
    "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}
# Spoken separators inside a number run (幺三八杠一二三四).
_DIGIT_JOINERS = {"杠", "-", " ", "\u3000", "—"}
_MIN_SPOKEN_RUN = 3


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
        return self.origin[start], self.origin[end - 1] + _char_len(self.original, self.origin[end - 1])


def _char_len(original: str, i: int) -> int:
    return 1 if i < len(original) else 0


@lru_cache(maxsize=1)
def _t2s() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _lexicon_path("t2s.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            t, s = line.split("\t")
            table[t] = s
    return table


def _lexicon_path(name: str) -> Path:
    try:
        p = Path(str(resources.files("tonecheck.lexicons") / name))
        if p.exists():
            return p
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "lexicons" / name


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FFFF or 0xF900 <= o <= 0xFAFF


def _is_word(ch: str) -> bool:
    return ch.isalnum() or is_cjk(ch)


def fold_char(ch: str) -> str:
    """Width, case and script folding of one character (may return 1+ chars)."""
    t = _t2s().get(ch)
    if t is not None:
        return t
    if ch.isascii():
        return ch.lower()
    folded = unicodedata.normalize("NFKC", ch)
    if len(folded) != 1:
        return ch
    folded = folded.lower()
    return _t2s().get(folded, folded)


def normalize(text: str) -> Normalized:
    """Canonical form of ``text`` with an offset map back to it."""
    # pass 1: per-character folding
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        chars.append(fold_char(ch))
        origin.append(i)
    chars, origin, breaks = _drop_separators(chars, origin)
    chars, origin = _spoken_digits(chars, origin)
    chars, origin = _collapse_repeats(chars, origin)
    return Normalized("".join(chars), tuple(origin), breaks, text)


def _spoken_digits(chars: list[str], origin: list[int]) -> tuple[list[str], list[int]]:
    """Turn runs of 3+ spoken/Chinese digits (with 杠/space joiners) into ASCII digits."""
    out_c: list[str] = []
    out_o: list[int] = []
    n = len(chars)
    i = 0
    while i < n:
        if chars[i] in _SPOKEN_DIGITS or chars[i].isdigit():
            j = i
            digits: list[tuple[str, int]] = []
            spoken = 0
            while j < n:
                c = chars[j]
                if c in _SPOKEN_DIGITS:
                    digits.append((_SPOKEN_DIGITS[c], origin[j]))
                    spoken += 1
                elif c.isascii() and c.isdigit():
                    digits.append((c, origin[j]))
                elif c in _DIGIT_JOINERS and digits:
                    k = j
                    while k < n and chars[k] in _DIGIT_JOINERS and k - j < 3:
                        k += 1
                    if k < n and (chars[k] in _SPOKEN_DIGITS or (chars[k].isascii() and chars[k].isdigit())):
                        j = k  # skip the joiners; the digit after them is read next
                        continue
                    break
                else:
                    break
                j += 1
            real = [d for d in digits if d[0].isdigit()]
            if spoken and len(real) >= _MIN_SPOKEN_RUN:
                for c, o in digits:
                    out_c.append(c)
                    out_o.append(o)
                i = j
                continue
            out_c.extend(chars[i:j] if j > i else chars[i:i + 1])
            out_o.extend(origin[i:j] if j > i else origin[i:i + 1])
            i = max(j, i + 1)
            continue
        out_c.append(chars[i])
        out_o.append(origin[i])
        i += 1
    return out_c, out_o


def _drop_separators(chars: list[str], origin: list[int]) -> tuple[list[str], list[int], frozenset[int]]:
    """Remove short separator runs between two word characters (傻 逼, 傻*逼, 138-1234)."""
    out_c: list[str] = []
    out_o: list[int] = []
    breaks: set[int] = set()
    n = len(chars)
    i = 0
    while i < n:
        c = chars[i]
        if c in _SEPARATORS and out_c and _is_word(out_c[-1][-1]):
            j = i
            while j < n and chars[j] in _SEPARATORS and j - i < 3:
                j += 1
            run = chars[i:j]
            nxt = chars[j] if j < n else ""
            prev = out_c[-1][-1]
            if prev.isdigit() or nxt.isdigit():
                droppable = prev.isdigit() and nxt.isdigit() and all(ch in _DIGIT_SEPARATORS for ch in run)
            else:
                droppable = True
            if nxt and _is_word(nxt) and droppable:
                if any(ch.isspace() for ch in run) and is_cjk(prev) and is_cjk(nxt):
                    breaks.add(len(out_c))
                i = j
                continue
        out_c.append(c)
        out_o.append(origin[i])
        i += 1
    return out_c, out_o, frozenset(breaks)


def _collapse_repeats(chars: list[str], origin: list[int]) -> tuple[list[str], list[int]]:
    """Collapse runs of 3+ identical non-digit characters (操操操 -> 操)."""
    out_c: list[str] = []
    out_o: list[int] = []
    n = len(chars)
    i = 0
    while i < n:
        j = i
        while j < n and chars[j] == chars[i]:
            j += 1
        if j - i >= 3 and not chars[i].isdigit() and chars[i] != "*" and _is_word(chars[i][0]):
            out_c.append(chars[i])
            out_o.append(origin[i])
        else:
            out_c.extend(chars[i:j])
            out_o.extend(origin[i:j])
        i = j
    # multi-char folds (rare) expand to several chars sharing one origin
    flat_c: list[str] = []
    flat_o: list[int] = []
    for c, o in zip(out_c, out_o):
        for ch in c:
            flat_c.append(ch)
            flat_o.append(o)
    return flat_c, flat_o


def is_clause_punct(ch: str) -> bool:
    return ch in _CLAUSE_PUNCT
