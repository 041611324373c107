"""Features of one sentence: character n-grams plus its setting.

The text is the engine's normalised text (width, case, traditional →
simplified, separators and repeats folded, spoken digits as ASCII); digit
runs become one ``0`` so amounts and numbers share features. N-grams of 1 to
4 characters with sentence-boundary marks. The setting (role, listener,
channel, dialogue flags) adds a few tokens of its own and, where the meaning
of a sentence depends on it, conjunctions: a disclosure is a debt fact *said
to a third party*, brushing off distress is a demand *after* the customer
spoke of self-harm, so those n-grams get a copy prefixed by the setting.
"""
from __future__ import annotations

import re

MAX_N = 4
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_SPACE = re.compile(r"\s+")
# Settings whose conjunctions with the text carry meaning (prefix -> condition).
_CONJ_N = (2, 3)


# Speech-to-text fillers standing on their own (between pauses or punctuation) carry no meaning;
# left in, a model learns them from whichever rows happened to be transcribed speech.
_FILLER = re.compile(r"(?:^|(?<=[\s,.!?;:，。！？；：、…~]))(?:嗯+|啊+|呃+|额+|哦+|唉+|那个|这个|就是说|就是|然后|对吧)(?=[\s,.!?;:，。！？；：、…~]|$)")


def canonical(text: str) -> str:
    """Fillers dropped, digits folded, whitespace squeezed: the string n-grams are taken from."""
    return _SPACE.sub(" ", _DIGITS.sub("0", _FILLER.sub("", text))).strip()


def ngrams(text: str) -> list[str]:
    """Character 1..MAX_N-grams of ``^text$``."""
    t = "^" + text + "$"
    n = len(t)
    out = [t[i] for i in range(1, n - 1)]
    for k in range(2, MAX_N + 1):
        out.extend(t[i:i + k] for i in range(n - k + 1))
    return out


def features(sentence: str, role: str, counterpart: str, channel: str, flags: frozenset[str] = frozenset()) -> list[str]:
    """Feature strings of one sentence (already normalised) in its setting."""
    text = canonical(sentence)
    grams = ngrams(text)
    out = grams + [f"R:{role}", f"C:{counterpart}", f"H:{channel}"] + [f"F:{f}" for f in sorted(flags)]
    prefixes = []
    if counterpart == "third_party":
        prefixes.append("T|")
    if "distress" in flags:
        prefixes.append("D|")
    if "dispute" in flags:
        prefixes.append("X|")
    if prefixes:
        mid = [g for g in grams if len(g) in _CONJ_N]
        for p in prefixes:
            out.extend(p + g for g in mid)
    return out
