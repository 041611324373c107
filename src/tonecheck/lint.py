"""``tonecheck rules lint``: what a reviewer of a lexicon would catch, checked by machine.

Each problem is one line naming the file, the rule and the construction. The
checks are static (they read the lexicon and run each pattern over its own
examples' normalised text, not the whole engine; ``rules test`` runs the
engine):

``uncovered``    a pattern can match text that contains none of the rule's hand
                 ``anchors``, so those matches never run (the engine needs an
                 anchor before it runs the rule). Add the missing words to the
                 anchors, or drop the anchors (the pattern's own literals gate it),
                 or, when they are meant as a requirement, say so with
                 ``anchors_required = true``.
``ungated``      a pattern no literal is required for and no hand anchor gates.
``unused-class`` a class or guard no rule, signal, class or guard refers to (classes a
                 file lists in ``[meta] for_teams`` are kept for team lexicons).
``no-examples``  a named construction without a fire example.
``dead-pattern`` a pattern that matches none of its own fire examples (a named
                 construction's own; a short-form rule's patterns, the rule's).
``folded-char``  a pattern, term or anchor written with a character
                 normalisation folds (full-width punctuation, traditional or
                 upper-case letters): text never contains it at match time.
``long-pattern`` a pattern longer than :data:`MAX_EXPANDED` characters once its
                 classes are written out (split it into constructions).
``load``         the lexicon does not load (unknown subtype, bad regex…).

Warnings (``long-pattern``) do not fail the lint unless ``strict``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import regex

from .lexicon import CLASS_REF, LANGUAGE_FILE, Lexicon, LexiconError, bundled_dir, load_lexicons
from .model.features import CUE_CLASSES
from .engine.segment import MACROS
from .normalize import fold_char, normalize
from .prefilter import required_literals
from .rules import Rule

MAX_EXPANDED = 300
_MACRO_REF = regex.compile("|".join(regex.escape("{" + m + "}") for m in MACROS))
WARNINGS = frozenset({"long-pattern"})
# Classes the code reads by name are used even when no rule names them (besides language.toml
# and the model's cue classes): the payment-account check's lenders.
CODE_CLASSES = frozenset({"lender"})
# Pieces of regex syntax that are not text: escapes, \p{Han}, (?P<name>, inline flags, {class}.
SYNTAX = regex.compile(r"\\[pPN]\{[^}]*\}|\(\?P[<=][^>)]*[>)]|\(\?[a-zA-Z]+[:)]|\\.|\{[a-z_][a-z0-9_]*\}")


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    where: str   # file: rule / construction
    detail: str

    @property
    def warning(self) -> bool:
        return self.code in WARNINGS

    def __str__(self) -> str:
        return f"{self.where}: {self.code}: {self.detail}"


def lint(dirs: Iterable[Path | str] = (), *, include_bundled: bool = True,
         only_dirs: bool = True) -> list[Problem]:
    """Problems in the lexicons of ``dirs`` (the bundled ones when ``dirs`` is empty).

    Team lexicons are loaded on top of the bundled ones (their rules use our
    classes), but only what the team's files define is reported.
    """
    dirs = [Path(d) for d in dirs]
    try:
        lex = load_lexicons(dirs, include_bundled=include_bundled)
    except LexiconError as exc:
        return [Problem("load", str(dirs[0] if dirs else bundled_dir()), str(exc))]
    roots = [d.resolve() for d in dirs] if dirs and only_dirs else [bundled_dir().resolve()]

    def mine(path: str) -> bool:
        p = Path(path).resolve()
        return any(p == r or r in p.parents for r in roots)

    problems: list[Problem] = []
    for rule in lex.rules:
        src = lex.sources.get(rule.id, "?")
        if mine(src):
            problems.extend(_rule_problems(lex, rule, f"{Path(src).name}: {rule.id}"))
    problems.extend(_unused(lex, mine))
    return problems


def _folded(text: str) -> str:
    """The characters of a pattern or term that normalisation folds away (escapes skipped)."""
    bare = SYNTAX.sub("", text)
    return "".join(dict.fromkeys(c for c in bare if fold_char(c) != c))


def _covered(gates: list[frozenset[str]] | None, anchors: list[str]) -> bool:
    """Some required set of the pattern whose every literal contains an anchor."""
    return bool(gates) and any(all(any(a in lit for a in anchors) for lit in g) for g in gates)


def _rule_problems(lex: Lexicon, rule: Rule, where: str) -> list[Problem]:
    out: list[Problem] = []
    anchors = [fold_char_s(a) for a in lex.expand_terms(rule.anchors)]
    short = all(c.name == "terms" or regex.fullmatch(r"pattern_\d+", c.name) for c in rule.constructions)
    rule_fire = [normalize(e.text).text for e in rule.own_examples.fire]
    for con in rule.constructions:
        at = f"{where} / {con.name}"
        written = [con.pattern] if con.pattern else con.terms
        for w in written:
            bad = _folded(w)
            if bad:
                out.append(Problem("folded-char", at, f"{bad!r} never occurs in normalised text; write the folded "
                                   f"form ({''.join(fold_char(c) for c in bad)!r})"))
        if not short and not con.fire:
            out.append(Problem("no-examples", at, "a named construction needs at least one fire example"))
        if not con.pattern:
            continue
        expanded = lex.expand(con.pattern)
        # Classes and guards count as written out; a macro ({in_sentence}) reads as one character class.
        size = len(lex.expand(_MACRO_REF.sub("[.]", con.pattern)))
        if size > MAX_EXPANDED:
            out.append(Problem("long-pattern", at, f"{size} characters once its classes are written out "
                               f"(limit {MAX_EXPANDED}); split it into constructions"))
        gates = required_literals(expanded)
        if anchors and not rule.anchors_required and not _covered(gates, anchors):
            out.append(Problem("uncovered", at, "the pattern can match text containing none of the rule's anchors "
                               "(those matches never run); add the missing words to 'anchors' or drop them"))
        elif not anchors and not gates:
            out.append(Problem("ungated", at, "no literal is required by the pattern and the rule has no anchors"))
        texts = [normalize(e.text).text for e in con.fire] if con.fire else rule_fire
        try:
            rx = regex.compile(expanded)
        except regex.error as exc:
            out.append(Problem("load", at, f"bad regex: {exc}"))
            continue
        if texts and not any(rx.search(t, timeout=1.0) for t in texts):
            whose = "its own" if con.fire else "the rule's"
            out.append(Problem("dead-pattern", at, f"matches none of {whose} fire examples"))
    for a in rule.anchors:
        bad = _folded(a)
        if bad:
            out.append(Problem("folded-char", f"{where} / anchors", f"{bad!r} in anchor {a!r} never occurs in normalised text"))
    return out


def fold_char_s(s: str) -> str:
    return "".join(fold_char(c) for c in s)


def _unused(lex: Lexicon, mine) -> list[Problem]:
    """Classes and guards nothing refers to (the engine's language file is read by name, so exempt)."""
    texts: list[str] = []
    for r in lex.rules:
        texts += [c.pattern for c in r.constructions if c.pattern]
        texts += [t for c in r.constructions for t in c.terms]
        texts += r.unless + r.requires + r.context_cue + r.anchors + r.exceptions
        texts += [t for el in r.sequence for t in el]
        texts += [r.rewrite.text] if getattr(r.rewrite, "text", "") else []
    for s in lex.signals:
        texts += s.patterns + s.unless
    texts += list(lex.guards.values())
    for words in lex.raw_classes.values():  # a class may include another ("{family}")
        texts += words
    used = ({m.group(1) for t in texts for m in CLASS_REF.finditer(t)} | set(CUE_CLASSES) | CODE_CLASSES
            | lex.for_teams)
    out = []
    for name, path in lex.origins.items():
        if Path(path).name == LANGUAGE_FILE and Path(path).parent == bundled_dir():
            continue
        if name not in used and mine(path):
            kind = "guard" if name in lex.guards else "class"
            out.append(Problem("unused-class", f"{Path(path).name}: {name}", f"{kind} {name!r} is never used"))
    return out
