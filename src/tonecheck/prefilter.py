"""Required literals of a regex, so the automaton can gate each pattern.

A rule's anchors decide whether the rule runs at all; within a rule each
pattern usually needs a more specific word (a harm verb, an institution).
We parse the pattern (Python's ``re`` parser understands the syntax our
lexicons use), collect the literal alternatives that every match must
contain, and pick the most selective set. A pattern then runs only when the
Aho-Corasick pass saw one of them. Anything the parser cannot read, or a
pattern with no multi-character requirement, simply runs ungated.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import regex

try:  # Python 3.11+
    import re._constants as C
    import re._parser as P
except ImportError:  # pragma: no cover
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

MAX_ALTERNATIVES = 400
MIN_LEN = 1


def required_literals(pattern: str) -> list[frozenset[str]] | None:
    """Literal sets every match must meet (one literal of each set), or None.

    All of them are required, so a pattern can be skipped as soon as one set
    has no literal in the text.
    """
    try:
        parsed = P.parse(_sanitize(pattern))
    except Exception:  # noqa: BLE001 - syntax the re parser does not know: no gate
        return None
    sets = _seq(list(parsed))
    good = [s for s in sets if s and len(s) <= MAX_ALTERNATIVES and min(map(len, s)) >= MIN_LEN]
    if not good:
        return None
    # most selective first: the engine indexes patterns by the first set
    return sorted(dict.fromkeys(good), key=_expected_hits)


def branch_literals(pattern: str) -> list[list[frozenset[str]]] | None:
    """Required literal sets of each top-level alternative, or None.

    ``手机…停机|强制停机|停你手机`` requires {手机…} and {停机…} only on its first
    branch; the sets of the whole pattern (one set covering every branch) let
    it run on any text with 手机. A match takes one branch whole, so "some
    branch has all its sets" is a necessary condition too, and a sharper one.
    Only patterns whose alternation is the top level (possibly inside groups
    and between fixed parts) have branches; every branch must have a set.
    """
    try:
        items = list(P.parse(_sanitize(pattern)))
    except Exception:  # noqa: BLE001 - syntax the re parser does not know
        return None
    while len(items) == 1 and items[0][0] is C.SUBPATTERN:
        items = list(items[0][1][-1])
    at = None
    for i, (op, av) in enumerate(items):
        inner = [(op, av)]
        while len(inner) == 1 and inner[0][0] is C.SUBPATTERN:
            inner = list(inner[0][1][-1])
        if len(inner) == 1 and inner[0][0] is C.BRANCH:
            if at is not None:
                return None  # two alternations in sequence: their product is not worth it
            at, alts = i, inner[0][1][1]
    if at is None:
        return None
    common = [s for s in _seq(items[:at]) + _seq(items[at + 1:]) if _good(s)]
    out = []
    for alt in alts:
        sets = [s for s in _seq(list(alt)) if _good(s)] + common
        if not sets:
            return None
        out.append(sorted(dict.fromkeys(sets), key=_expected_hits))
    return out if len(out) > 1 else None


def _good(s: frozenset[str]) -> bool:
    return bool(s) and len(s) <= MAX_ALTERNATIVES and min(map(len, s)) >= MIN_LEN


# Characters frequent enough in collection talk that a gate on them alone
# lets almost every text through.
_COMMON = frozenset("我你您他她它的了是在不有这那就还要也都和个们吗吧呢啊说会能到去来让给把被钱款卡天今明")


def _expected_hits(lits: frozenset[str]) -> tuple[float, int]:
    """A rough cost of a gate: how often some literal of it shows up in ordinary text."""
    cost = 0.0
    for w in lits:
        if len(w) == 1:
            cost += 1000 if w in _COMMON else 50
        elif len(w) == 2:
            cost += 5
        else:
            cost += 1
    return cost, len(lits)


_PROP = regex.compile(r"\\[pP]\{[^}]*\}")


def _sanitize(pattern: str) -> str:
    """Make a `regex`-module pattern readable by the `re` parser, keeping its requirements.

    Unicode properties become \\w; lookaround groups (which consume nothing)
    are dropped, which can only weaken, never strengthen, what is required.
    """
    pattern = _PROP.sub(r"\\w", pattern)
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i:j + 1])
            i = j + 1
            continue
        if pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            depth, j = 0, i
            while j < n:
                c = pattern[j]
                if c == "\\":
                    j += 2
                    continue
                if c == "[":
                    j += 1
                    while j < n and pattern[j] != "]":
                        j += 2 if pattern[j] == "\\" else 1
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            i = j + 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


MAX_PRODUCT = 64  # literal strings a run may fan out to before it is cut


def _seq(items: list) -> list[frozenset[str]]:
    """Required literal sets of a sequence of parsed items.

    Literals and small literal alternations next to each other multiply out
    (信 + (?:吗|嘛) gives {信吗, 信嘛}), which makes far more selective gates
    than the single characters on their own.
    """
    out: list[frozenset[str]] = []
    run: set[str] = {""}

    def flush() -> None:
        nonlocal run
        if "" not in run:  # a run that may be empty (only optional parts) requires nothing
            # 甲丙 adds nothing to 丙: keep only strings that contain no other one
            out.append(frozenset(x for x in run if not any(y != x and y in x for y in run)))
        run = {""}

    skip = False
    for i, (op, av) in enumerate(items):
        if skip:
            skip = False
            continue
        if op is C.LITERAL:
            run = {r + chr(av) for r in run}
            continue
        alts = _alternatives(op, av)
        if (alts is not None and op is C.SUBPATTERN and i + 1 < len(items)
                and items[i + 1][0] is C.GROUPREF and items[i + 1][1] == av[0]):
            alts, skip = {a + a for a in alts}, True  # (?P<w>不错|可以)(?P=w): 不错不错 / 可以可以
        if alts is not None and len(run) * len(alts) <= MAX_PRODUCT:
            run = {r + a for r in run for a in alts}
            continue
        flush()
        if op is C.SUBPATTERN:
            out.extend(_seq(list(av[-1])))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            lo, _hi, sub = av
            if lo >= 1:
                out.extend(_seq(list(sub)))
        elif op is getattr(C, "ATOMIC_GROUP", None):
            out.extend(_seq(list(av)))
        elif op is C.BRANCH:
            alt = _branch(av[1])
            if alt is not None:
                out.append(alt)
        # IN, ANY, AT, ASSERT, GROUPREF, …: nothing required from here
    flush()
    return out


def _alternatives(op, av) -> set[str] | None:
    """The literal strings one mandatory item can match, when it is that simple."""
    if op is C.BRANCH:
        outs = set()
        for alt in av[1]:
            lit = _literal_string(list(alt))
            if lit is None or not lit:
                return None
            outs.add(lit)
        return outs
    if op is C.IN:
        chars = set()
        for iop, iav in av:
            if iop is not C.LITERAL:
                return None
            chars.add(chr(iav))
        return chars or None
    if op is C.SUBPATTERN:
        inner = list(av[-1])
        lit = _literal_string(inner)
        if lit:
            return {lit}
        if len(inner) == 1:
            return _alternatives(*inner[0])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] == 0 and av[1] == 1:
        # an optional part (给)? joins the run both ways: 转我 / 转给我
        sub = list(av[2])
        inner = _literal_string(sub)
        alts = {inner} if inner else (_alternatives(*sub[0]) if len(sub) == 1 else None)
        if alts:
            return alts | {""}
    return None


def _branch(alternatives: list) -> frozenset[str] | None:
    """One literal set covering every alternative, or None when one has none."""
    acc: set[str] = set()
    for alt in alternatives:
        whole = _literal_string(list(alt))
        if whole is not None:
            if not whole:
                return None
            acc.add(whole)
            continue
        sets = [s for s in _seq(list(alt)) if s and min(map(len, s)) >= 1]
        if not sets:
            return None
        acc |= min(sets, key=_expected_hits)
        if len(acc) > MAX_ALTERNATIVES:
            return None
    return frozenset(acc)


def _literal_string(items: list) -> str | None:
    chars = []
    for op, av in items:
        if op is not C.LITERAL:
            return None
        chars.append(chr(av))
    return "".join(chars)


class GateCache:
    """``required_literals`` of many patterns, remembered on disk between processes.

    Analysing the 750 bundled patterns costs most of a checker's start-up;
    their results only change when a pattern does. The cache is a JSON file
    per set of patterns (named by their hash) in ``$TONECHECK_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/tonecheck``, else ``~/.cache/tonecheck``. A cache
    that cannot be read or written is simply not used.
    """

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = patterns
        digest = hashlib.sha256("\x00".join(patterns).encode("utf-8", "surrogatepass")).hexdigest()[:24]
        self.path = _cache_dir() / f"gates-{CACHE_VERSION}-{digest}.json"
        self._loaded: dict[str, list[list[str]] | None] | None = None

    def _load(self) -> dict[str, list[list[str]] | None]:
        if self._loaded is None:
            try:
                self._loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._loaded = {}
        return self._loaded

    def branches(self, pattern: str) -> list[list[frozenset[str]]] | None:
        """:func:`branch_literals`, cached like :meth:`get`."""
        got = self._load()
        key = "\x00branches\x00" + pattern
        if key in got:
            v = got[key]
            return None if v is None else [[frozenset(x) for x in b] for b in v]
        req = branch_literals(pattern)
        got[key] = None if req is None else [[sorted(x) for x in b] for b in req]
        self._dirty = True
        return req

    def get(self, pattern: str) -> list[frozenset[str]] | None:
        got = self._load()
        if pattern in got:
            v = got[pattern]
            return None if v is None else [frozenset(x) for x in v]
        req = required_literals(pattern)
        got[pattern] = None if req is None else [sorted(x) for x in req]
        self._dirty = True
        return req

    def save(self) -> None:
        if not getattr(self, "_dirty", False):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            keep = {k: v for p in self.patterns for k in (p, "\x00branches\x00" + p) if k in self._loaded
                    for v in [self._loaded[k]]}
            tmp.write_text(json.dumps(keep, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass


CACHE_VERSION = 3  # bump when required_literals changes what it returns


def _cache_dir() -> Path:
    env = os.environ.get("TONECHECK_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tonecheck"
