"""Loading lexicon files: word classes, guards, rules and conversation signals.

A lexicon directory holds TOML files. Each file may define

* ``[classes]``: reusable word classes (``family = ["爸爸", "妈妈", ...]``);
  a class may include another as ``"{other}"``;
* ``[guards]``: named regexes many rules share (``unless = ["{lawful_notice}"]``);
* ``[[rule]]``: rules (see :class:`tonecheck.rules.Rule`);
* ``[[signal]]``: dialogue cues that change the conversation context
  (see :class:`tonecheck.context.Signal`).

``{name}`` inside a term expands to every word of the class; inside a regex
it becomes a non-capturing alternation of the class's words, a guard's regex,
or one of the engine's macros (``{in_sentence}``, ``{in_clause}``: a character
that stays inside the same sentence / clause). Classes, guards and macros
share one namespace. The engine's language knowledge (negators, reported
speech, relay prepositions…) lives in ``language.toml`` as classes and guards,
loaded with every lexicon set. Errors name the file and rule id.
"""
from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable

import regex
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .context import Signal
from .engine.segment import MACROS
from .normalize import fold_char
from .regex_safety import catastrophic
from .models import Severity
from .rules import KNOWN_SUBTYPES, Rule

CLASS_REF = regex.compile(r"\{([a-z_][a-z0-9_]*)\}")
MAX_EXPANSION = 20000
# The engine's own language knowledge: loaded with every lexicon set, bundled or not.
LANGUAGE_FILE = "language.toml"


class LexiconError(ValueError):
    """A lexicon file is malformed; the message names the file and the rule."""


class _ClassError(LexiconError):
    def __init__(self, name: str, msg: str) -> None:
        super().__init__(msg)
        self.name = name


class SubtypeInfo(BaseModel):
    """What the library says about a policy subtype: its Chinese name, default severity, and
    the message and regulation of a finding that no rule of its own describes (the model's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    severity: Severity
    message: str = Field(min_length=1)
    source: str = ""


@dataclass(frozen=True)
class Lexicon:
    rules: tuple[Rule, ...]
    classes: dict[str, tuple[str, ...]]
    signals: tuple[Signal, ...]
    sources: dict[str, str] = field(default_factory=dict)  # rule id -> file
    subtypes: dict[str, SubtypeInfo] = field(default_factory=dict)  # [subtype."x.y"] tables
    guards: dict[str, str] = field(default_factory=dict)  # guard name -> regex as written
    origins: dict[str, str] = field(default_factory=dict)  # class or guard name -> file
    raw_classes: dict[str, list[str]] = field(default_factory=dict)  # as written ({other} not expanded)
    for_teams: frozenset[str] = frozenset()  # classes [meta] for_teams keeps for team lexicons

    def expand(self, pattern: str) -> str:
        """A pattern with every class, guard and macro it names written out (what the engine compiles)."""
        return expand_regex(pattern, self.classes, self.guards)

    def expand_terms(self, terms: Iterable[str]) -> list[str]:
        return expand_terms(terms, self.classes)


def bundled_dir() -> Path:
    try:
        p = Path(str(resources.files("tonecheck.lexicons")))
        if any(p.glob("*.toml")):
            return p
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "lexicons"


def fold(term: str) -> str:
    return "".join(fold_char(c) for c in term)


def load_lexicons(dirs: Iterable[Path | str] = (), *, include_bundled: bool = True) -> Lexicon:
    bundled = bundled_dir()
    language = bundled / LANGUAGE_FILE
    paths: list[Path] = [language] if language.is_file() else []
    all_dirs = ([bundled] if include_bundled else []) + [Path(d) for d in dirs]
    for d in all_dirs:
        if d.is_file():
            paths.append(d)
        elif d.is_dir():
            paths.extend(sorted(d.glob("*.toml")))
        else:
            raise LexiconError(f"{d}: lexicon directory not found")
    paths = list(dict.fromkeys(paths))  # the language file once, even when its directory is listed
    raw_classes: dict[str, list[str]] = {}
    class_src: dict[str, Path] = {}
    guards: dict[str, str] = {}
    raw_rules: list[tuple[Path, dict]] = []
    subtypes: dict[str, SubtypeInfo] = {}
    raw_signals: list[tuple[Path, dict]] = []
    for_teams: set[str] = set()
    for p in paths:
        data = read_toml(p, LexiconError)
        meta = data.get("meta", {})
        if isinstance(meta, dict) and isinstance(meta.get("for_teams", []), list):
            for_teams.update(n for n in meta.get("for_teams", []) if isinstance(n, str))
        unknown = set(data) - {"classes", "guards", "rule", "signal", "meta", "subtype"}
        if unknown:
            raise LexiconError(f"{p}: unknown top-level key(s): {', '.join(sorted(unknown))}")
        if not isinstance(data.get("classes", {}), dict):
            raise LexiconError(f"{p}: 'classes' must be a table ([classes] with name = [words]), not a list")
        for key in ("rule", "signal"):
            if not isinstance(data.get(key, []), list) or not all(isinstance(x, dict) for x in data.get(key, [])):
                raise LexiconError(f"{p}: '{key}' must be an array of tables ([[{key}]])")
        for name, words in data.get("classes", {}).items():
            _check_name(p, "class", name)
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise LexiconError(f"{p}: class {name!r} must be a list of strings")
            if name in raw_classes:
                raise LexiconError(f"{p}: class {name!r} already defined in {class_src[name]}")
            raw_classes[name] = words
            class_src[name] = p
        if not isinstance(data.get("guards", {}), dict):
            raise LexiconError(f"{p}: 'guards' must be a table ([guards] with name = 'regex')")
        for name, rx in data.get("guards", {}).items():
            _check_name(p, "guard", name)
            if not isinstance(rx, str) or not rx:
                raise LexiconError(f"{p}: guard {name!r} must be a non-empty regex string")
            if name in class_src:
                raise LexiconError(f"{p}: guard {name!r}: a class of that name is defined in {class_src[name]}")
            guards[name] = rx
            class_src[name] = p
        if not isinstance(data.get("subtype", {}), dict):
            raise LexiconError(f"{p}: 'subtype' must be a table ([subtype.\"threat.violence\"])")
        for name, info in data.get("subtype", {}).items():
            if name not in KNOWN_SUBTYPES:
                raise LexiconError(f"{p}: subtype {name!r} is not a policy subtype")
            try:
                subtypes[name] = SubtypeInfo.model_validate(info)
            except ValidationError as exc:
                raise LexiconError(f"{p}: subtype {name}: {_first_error(exc)}") from None
        raw_rules.extend((p, r) for r in data.get("rule", []))
        raw_signals.extend((p, s) for s in data.get("signal", []))

    clash = next((n for n in raw_classes if n in guards), None)
    if clash is not None:
        raise LexiconError(f"{class_src[clash]}: {clash!r} is both a class and a guard")
    try:
        classes = _resolve_classes(raw_classes)
    except _ClassError as exc:
        raise LexiconError(f"{class_src[exc.name]}: {exc}") from None
    for name, rx in guards.items():
        try:
            check_patterns([rx], classes, syntax=class_src[name].parent != bundled, guards=guards)
        except LexiconError as exc:
            raise LexiconError(f"{class_src[name]}: guard {name}: {exc}") from None
    rules: list[Rule] = []
    sources: dict[str, str] = {}
    for p, r in raw_rules:
        rid = r.get("id", "?") if isinstance(r, dict) else "?"
        try:
            rule = Rule.model_validate(r)
        except ValidationError as exc:
            raise LexiconError(f"{p}: rule {rid}: {_first_error(exc)}") from None
        if rule.id in sources:
            raise LexiconError(f"{p}: rule {rule.id}: duplicate id (also in {sources[rule.id]})")
        try:
            # The bundled lexicons' patterns are compiled in full by the test suite;
            # re-checking their syntax here would cost a third of start-up.
            _check_refs(rule, classes, guards, syntax=p.parent != bundled)
        except LexiconError as exc:
            raise LexiconError(f"{p}: rule {rule.id}: {exc}") from None
        rules.append(rule)
        sources[rule.id] = str(p)
    signals: list[Signal] = []
    for p, s in raw_signals:
        try:
            sig = Signal.model_validate(s)
            check_patterns(sig.patterns + sig.unless, classes, syntax=p.parent != bundled, guards=guards)
        except ValidationError as exc:
            raise LexiconError(f"{p}: signal {s.get('id', '?')}: {_first_error(exc)}") from None
        except LexiconError as exc:
            raise LexiconError(f"{p}: signal {sig.id}: {exc}") from None
        signals.append(sig)
    origins = {n: str(f) for n, f in class_src.items()}
    return Lexicon(tuple(rules), classes, tuple(signals), sources, subtypes, guards, origins, raw_classes,
                   frozenset(for_teams))


def _check_name(path: Path, kind: str, name: str) -> None:
    """Class and guard names share one namespace with the engine's macros."""
    if not CLASS_REF.fullmatch("{" + name + "}"):
        raise LexiconError(f"{path}: {kind} name {name!r} must be lower_snake_case")
    if name in MACROS:
        raise LexiconError(f"{path}: {kind} {name!r}: the name is the engine's macro {{{name}}}")


def _first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    loc = ".".join(str(x) for x in e["loc"])
    return f"{loc}: {e['msg']}" if loc else e["msg"]


def _resolve_classes(raw: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    done: dict[str, tuple[str, ...]] = {}

    def resolve(name: str, stack: tuple[str, ...]) -> tuple[str, ...]:
        if name in done:
            return done[name]
        if name in stack:
            raise _ClassError(stack[0], f"class {name!r} includes itself ({' -> '.join(stack + (name,))})")
        if name not in raw:
            raise _ClassError(stack[-1], f"class {stack[-1]!r}: unknown class {{{name}}}")
        out: list[str] = []
        for w in raw[name]:
            out.extend(_expand(w, lambda n: resolve(n, stack + (name,))))
        done[name] = tuple(dict.fromkeys(fold(w) for w in out if w))
        return done[name]

    for n in raw:
        resolve(n, ())
    return done


def _expand(term: str, lookup) -> list[str]:
    parts = CLASS_REF.split(term)
    # parts alternate literal, class name, literal, ...
    options: list[tuple[str, ...]] = []
    for i, part in enumerate(parts):
        options.append(lookup(part) if i % 2 else (part,))
    total = 1
    for o in options:
        total *= max(1, len(o))
    if total > MAX_EXPANSION:
        raise LexiconError(f"term {term!r} expands to {total} strings (limit {MAX_EXPANSION})")
    return ["".join(p) for p in itertools.product(*options)]


def expand_terms(terms: Iterable[str], classes: dict[str, tuple[str, ...]]) -> list[str]:
    out: list[str] = []
    for t in terms:
        out.extend(fold(x) for x in _expand(t, lambda n: _lookup(n, classes)))
    return list(dict.fromkeys(x for x in out if x))


def expand_regex(pattern: str, classes: dict[str, tuple[str, ...]], guards: dict[str, str] | None = None) -> str:
    """``{name}`` references written out: a class as an alternation of its words (longest first),
    a guard as its own regex (itself expanded), a macro as its character class."""
    guards = guards or {}

    def expand(p: str, stack: tuple[str, ...]) -> str:
        def sub(m: regex.Match) -> str:
            name = m.group(1)
            if name in MACROS:
                return MACROS[name]
            if name in guards:
                if name in stack:
                    raise LexiconError(f"guard {{{name}}} includes itself ({' -> '.join(stack + (name,))})")
                return "(?:" + expand(guards[name], stack + (name,)) + ")"
            words = sorted(_lookup(name, classes), key=len, reverse=True)
            return "(?:" + "|".join(regex.escape(w) for w in words) + ")"

        return CLASS_REF.sub(sub, p)

    return expand(pattern, ())


def _lookup(name: str, classes: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if name not in classes:
        raise LexiconError(f"unknown class {{{name}}}")
    return classes[name]


def _check_refs(rule: Rule, classes: dict[str, tuple[str, ...]], guards: dict[str, str], syntax: bool = True) -> None:
    for t in rule.anchors + rule.exceptions + [x for el in rule.sequence for x in el]:
        expand_terms([t], classes)
    for c in rule.constructions:
        try:
            expand_terms(c.terms, classes)
            check_patterns([c.pattern] if c.pattern else [], classes, syntax, guards)
        except LexiconError as exc:
            raise LexiconError(f"construction {c.name}: {exc}") from None
    check_patterns(rule.unless + rule.requires + rule.context_cue, classes, syntax, guards)


def check_patterns(patterns: Iterable[str], classes: dict[str, tuple[str, ...]], syntax: bool = True,
                   guards: dict[str, str] | None = None) -> None:
    """Every name a pattern uses exists; with ``syntax``, it compiles and cannot backtrack catastrophically.

    The bundled lexicons skip the syntax part at start-up (the test suite
    compiles and checks every bundled pattern); team lexicons always get it.
    """
    guards = guards or {}
    for p in patterns:
        for name in CLASS_REF.findall(p):
            if name not in MACROS and name not in guards:
                _lookup(name, classes)
        if not syntax:
            continue
        try:
            # Syntax check with each class as a one-word stand-in: compiling the
            # full alternations here would double start-up time; the engine
            # compiles the real pattern when it first needs it.
            regex.compile(expand_regex(p, {n: ("x",) for n in classes}, guards))
        except (regex.error, RecursionError, OverflowError) as exc:
            raise LexiconError(f"bad regex {p!r}: {exc}") from None
        why = catastrophic(expand_regex(p, classes, guards))
        if why:
            raise LexiconError(f"regex {p!r} can backtrack catastrophically: {why}")


def read_toml(path: Path, error: type[Exception]) -> dict:
    """Parse one TOML file; every failure is ``error`` with one line naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{path}: invalid TOML: nested too deeply") from None
