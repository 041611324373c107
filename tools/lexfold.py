"""Rewrite a lexicon's patterns, terms and anchors in the folded form the engine matches against.

Text is normalised before matching (full-width punctuation to half-width,
traditional to simplified, upper to lower case), so a character normalisation
folds can never occur there: `rules lint` reports it as ``folded-char``. This
tool folds those characters in place (only inside pattern, term, anchor and
guard strings; messages, examples and rewrites are left as written) and drops
the duplicates folding creates inside a bracket class. Matching is unchanged.

usage: python tools/lexfold.py FILE.toml [...]
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import regex

from tonecheck.normalize import fold_char

KEYS = {"patterns", "pattern", "terms", "anchors", "unless", "requires", "context_cue", "exceptions", "sequence"}
# Pieces of regex syntax that must not be folded: escapes, \p{Han}, (?P<name>, inline flags.
from tonecheck.lint import SYNTAX  # noqa: E402


def fold_pattern(p: str) -> str:
    """Fold the text characters of a regex; a folded character that is a metacharacter outside a
    bracket class (？ becomes ?) is escaped so it stays a literal."""
    out, i, in_class = [], 0, False
    while i < len(p):
        m = SYNTAX.match(p, i)
        if m:
            out.append(m.group()); i = m.end(); continue
        c = p[i]
        if in_class and c == "]":
            in_class = False
        elif not in_class and c == "[":
            in_class = True
        f = fold_char(c)
        out.append("\\" + f if f != c and not in_class and f in META else f)
        i += 1
    return _dedupe_classes("".join(out))


META = set(".^$*+?{}[]()|\\")


def _dedupe_classes(p: str) -> str:
    """[，,] folded is [,,]: keep each plain character of a bracket class once."""
    res, i = [], 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            res.append(p[i:i + 2]); i += 2; continue
        if c != "[":
            res.append(c); i += 1; continue
        j = i + 1
        head = ""
        if j < len(p) and p[j] == "^":
            head, j = "^", j + 1
        items, seen = [], set()
        while j < len(p) and (p[j] != "]" or not items and not head and False):
            if p[j] == "\\":
                m = SYNTAX.match(p, j)
                tok = m.group() if m else p[j:j + 2]
                items.append(tok); j += len(tok); continue
            if p[j] == "[":  # nested set syntax: leave the class alone
                items = None; break
            if j + 2 < len(p) and p[j + 1] == "-" and p[j + 2] != "]":
                items.append(p[j:j + 3]); j += 3; continue
            if p[j] not in seen:
                seen.add(p[j]); items.append(p[j])
            j += 1
        if items is None or j >= len(p):
            res.append(c); i += 1; continue
        res.append("[" + head + "".join(items) + "]")
        i = j + 1
    return "".join(res)


def strings(data, key=None):
    """(value) of every pattern-like string in a parsed lexicon file."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k == "guards" and isinstance(v, dict):
                yield from (x for x in v.values() if isinstance(x, str))
            elif k in ("classes",) and isinstance(v, dict):
                for words in v.values():
                    yield from (w for w in words if isinstance(w, str))
            else:
                yield from strings(v, k)
    elif isinstance(data, list):
        for v in data:
            yield from strings(v, key)
    elif isinstance(data, str) and key in KEYS:
        yield data


def fix(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    values = {s for s in strings(tomllib.loads(text)) if fold_pattern(s) != s}
    changed = 0
    def sub(m: regex.Match) -> str:
        nonlocal changed
        body = m.group(2)
        if body in values:
            changed += 1
            return m.group(1) + fold_pattern(body) + m.group(1)
        return m.group()
    # literal '...' strings, and basic "..." strings without escapes
    new = regex.sub(r"(')([^'\n]*)'|(\")([^\"\\\n]*)\"", lambda m: sub(m) if m.group(1) else
                    (sub(_Shift(m)) if m.group(4) is not None else m.group()), text)
    if tomllib.loads(new).keys() != tomllib.loads(text).keys():
        raise SystemExit(f"{path}: structure changed, not written")
    path.write_text(new, encoding="utf-8")
    return changed


class _Shift:
    """A match object view whose groups 1 and 2 are the basic-string's groups 3 and 4."""
    def __init__(self, m): self.m = m
    def group(self, i=0): return self.m.group({0: 0, 1: 3, 2: 4}[i])


if __name__ == "__main__":
    for f in sys.argv[1:]:
        print(f, fix(Path(f)), "strings folded")
