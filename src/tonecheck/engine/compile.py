"""Lexicons → indexed, gated rules: what one Aho-Corasick pass needs to decide what else runs.

Every literal a rule needs (terms, the literals each pattern requires,
sequence elements, exceptions, hand anchors, signal gates) goes into one
automaton. A pattern's anchors are derived from the pattern itself
(:func:`tonecheck.prefilter.required_literals`): it runs only when the pass
saw one literal of each set it requires. Hand ``anchors`` on a rule are an
extra requirement of the whole rule (the lint checks they cover every
pattern). Classes, guards and macros are expanded once, here.
"""
from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Iterable, NamedTuple

import ahocorasick_rs

from .. import native
from ..context import Signal
from ..lexicon import Lexicon, LexiconError
from ..models import Category
from ..prefilter import GateCache
from ..rules import Rule
from .search import LazyRegex
from .segment import Doc

_gates = native.load("_gates")  # the optional C path; RuleDetector's Python loop does the same

Gates = tuple[frozenset[int], ...]  # literal-id sets that must each be seen


@dataclass(slots=True)
class Unit:
    """One construction of a rule, compiled: a pattern with its gates, or terms."""

    name: str
    regex: LazyRegex | None = None  # None for terms
    term_ids: frozenset[int] = frozenset()
    gates: Gates = ()            # most selective first; () when no literal is required
    later_gates: Gates = ()      # gates[1:]
    branches: tuple[Gates, ...] = ()  # per top-level alternative: one of them must pass whole (or ())

    def may_match(self, found: frozenset[int] | set[int]) -> bool:
        """Whether the literals seen leave this pattern any chance (its first gate already passed)."""
        for g in self.later_gates:
            if g.isdisjoint(found):
                return False
        if not self.branches:
            return True
        for b in self.branches:
            for g in b:
                if g.isdisjoint(found):
                    break
            else:
                return True
        return False


@dataclass(slots=True)
class CompiledRule:
    rule: Rule
    patterns: tuple[Unit, ...] = ()   # the pattern constructions, in order
    terms: tuple[Unit, ...] = ()      # the terms constructions, in order
    unless: tuple[LazyRegex, ...] = ()
    requires: tuple[LazyRegex, ...] = ()
    cues: tuple[LazyRegex, ...] = ()  # context_cue: the utterance itself supplies the rule's context
    cue_ids: frozenset[int] | None = None  # literals one of which a cue needs (None: no gate)
    ungated: tuple[int, ...] = ()  # patterns with no literal requirement: they run whenever the rule does
    anchor_ids: frozenset[int] = frozenset()  # hand anchors (empty: none, the patterns' own gates decide)
    seq_ids: tuple[frozenset[int], ...] = ()
    exc_ids: frozenset[int] = frozenset()

    @property
    def term_ids(self) -> frozenset[int]:
        return frozenset().union(*(u.term_ids for u in self.terms)) if self.terms else frozenset()


@dataclass(slots=True)
class CompiledSignal:
    """A dialogue signal's patterns, compiled and gated like a rule's."""

    signal: Signal
    patterns: tuple[LazyRegex, ...]
    gates: tuple[Gates, ...]
    unless: tuple[LazyRegex, ...]

    def hit(self, doc: Doc, role: str, subtypes: set[str]) -> bool:
        sig = self.signal
        if role not in sig.roles:
            return False
        if subtypes.intersection(sig.from_subtypes):
            return True
        found = doc.found
        return (any(all(not g.isdisjoint(found) for g in gates) and rx.search(doc.text, doc.deadline)
                    for rx, gates in zip(self.patterns, self.gates))
                and not any(u.search(doc.text, doc.deadline) for u in self.unless))


@dataclass(frozen=True, slots=True)
class Tables:
    """Trigger and pattern indexes restricted to the rules that apply in one setting."""

    trigger: dict[int, frozenset[int]]             # literal id -> rules it sets off
    pat_index: dict[int, tuple[tuple[int, int], ...]]  # literal id -> (rule, pattern) pairs it gates
    trigger_ids: frozenset[int]
    pat_ids: frozenset[int]
    anchors: dict[int, frozenset[int]]             # literal id -> rules it anchors
    anchor_ids: frozenset[int]
    cued: frozenset[int]                           # rules that apply only if a context_cue matches the text
    free: frozenset[int]                           # pattern rules without hand anchors: gates alone decide
    ok: bytes                                      # per rule, 1 where it applies (for the C gate index)


class Setting(NamedTuple):
    """Who speaks, who listens, on which channel, with which dialogue flags active.

    A named tuple: every check looks its rule tables up by it, and a tuple hashes and compares
    in C (a frozen dataclass did both in Python)."""

    role: str
    counterpart: str
    channel: str
    flags: frozenset[str] = frozenset()


class Literals:
    """The literal table and its automaton: one pass over a text says which literals occur where."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.automaton: ahocorasick_rs.AhoCorasick | None = None

    def __call__(self, strings: Iterable[str]) -> frozenset[int]:
        out = []
        for x in strings:
            if x not in self.ids:
                self.ids[x] = len(self.ids)
            out.append(self.ids[x])
        return frozenset(out)

    @property
    def words(self) -> list[str]:
        return list(self.ids)

    def build(self) -> None:
        self.automaton = (ahocorasick_rs.AhoCorasick(list(self.ids), matchkind=ahocorasick_rs.MatchKind.Standard)
                          if self.ids else None)

    def scan(self, doc: Doc) -> None:
        """Record on ``doc`` every literal occurrence (overlapping) and the set of literals seen."""
        if self.automaton is None or not doc.text:
            return
        doc.matches = self.automaton.find_matches_as_indexes(doc.text, overlapping=True)
        doc.found = frozenset(map(itemgetter(0), doc.matches))


class RuleSet:
    """Compiled rules, their literals and indexes, and the dialogue signals compiled the same way."""

    def __init__(self, lexicon: Lexicon, rules: Iterable[Rule], signals: Iterable[Signal] = ()) -> None:
        self.lexicon = lexicon
        self.rules: list[Rule] = list(rules)
        lits = self.literals = Literals()
        expanded_of: dict[str, str] = {}  # many rules share guards: expand each pattern once

        def expand(p: str) -> str:
            got = expanded_of.get(p)
            if got is None:
                got = expanded_of[p] = lexicon.expand(p)
            return got

        signals = list(signals)
        # The required-literal analysis of every pattern, from the on-disk cache when it has it.
        gate_cache = GateCache(sorted({expand(p) for rule in self.rules for p in (
            *(c.pattern for c in rule.constructions if c.pattern), *rule.context_cue)}
            | {expand(p) for s in signals for p in s.patterns}))

        def gates_of(p: str) -> Gates:
            req = gate_cache.get(p)
            return tuple(lits(x) for x in req) if req else ()

        self.compiled: list[CompiledRule] = []
        for rule in self.rules:
            c = CompiledRule(rule)
            terms, pats = [], []
            for con in rule.constructions:
                if con.pattern:
                    g = gates_of(expand(con.pattern))
                    br = gate_cache.branches(expand(con.pattern)) if g else None
                    pats.append(Unit(con.name, regex=LazyRegex(expand(con.pattern)), gates=g, later_gates=g[1:],
                                     branches=tuple(tuple(lits(x) for x in b) for b in br) if br else ()))
                else:
                    terms.append(Unit(con.name, term_ids=lits(lexicon.expand_terms(con.terms))))
            c.terms, c.patterns = tuple(terms), tuple(pats)
            c.anchor_ids = lits(lexicon.expand_terms(rule.anchors))
            c.seq_ids = tuple(lits(lexicon.expand_terms(el)) for el in rule.sequence)
            c.exc_ids = lits(lexicon.expand_terms(rule.exceptions))
            c.unless = tuple(LazyRegex(expand(p)) for p in rule.unless)
            c.requires = tuple(LazyRegex(expand(p)) for p in rule.requires)
            cue_expanded = [expand(p) for p in rule.context_cue]
            c.cues = tuple(LazyRegex(p) for p in cue_expanded)
            # literals a cue needs: without one of them in the text no cue can match
            cue_sets = [gate_cache.get(p) for p in cue_expanded]
            if cue_sets and all(cue_sets):
                c.cue_ids = frozenset().union(*(lits(req[0]) for req in cue_sets))
            c.ungated = tuple(k for k, u in enumerate(c.patterns) if not u.gates)
            if c.ungated and not c.anchor_ids:
                name = c.patterns[c.ungated[0]].name
                raise LexiconError(f"{lexicon.sources.get(rule.id, '?')}: rule {rule.id}: construction {name}: "
                                   "its pattern has no literal every match contains, so nothing can say when to "
                                   "run it; give the rule hand 'anchors' (or put a fixed word in the pattern)")
            self.compiled.append(c)
        self.signals = [CompiledSignal(s, tuple(LazyRegex(expand(p)) for p in s.patterns),
                                       tuple(gates_of(expand(p)) for p in s.patterns),
                                       tuple(LazyRegex(expand(p)) for p in s.unless)) for s in signals]
        gate_cache.save()
        # Which rules a literal can set off: terms, hand anchors of ungated patterns, a sequence's first element.
        n = len(lits.ids)
        trigger: list[list[int]] = [[] for _ in range(n)]
        positional: set[int] = set()  # literals whose positions matter (terms, sequences, exceptions)
        for ri, c in enumerate(self.compiled):
            first = c.seq_ids[0] if c.seq_ids else frozenset()
            # A rule's gated patterns are found through the pattern index below;
            # its anchors set it off only for ungated patterns.
            for pid in c.term_ids | (c.anchor_ids if c.ungated else frozenset()) | first:
                trigger[pid].append(ri)
            positional |= c.term_ids | c.exc_ids
            for el in c.seq_ids:
                positional |= el
        self._trigger = [tuple(t) for t in trigger]
        # Pattern index: a literal of a pattern's most selective required set
        # names the (rule, pattern) pairs that may match at all.
        pat_index: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for ri, c in enumerate(self.compiled):
            for k, u in enumerate(c.patterns):
                if u.gates:
                    for pid in u.gates[0]:
                        pat_index[pid].append((ri, k))
        self._pat_index = [tuple(x) for x in pat_index]
        self.positional = frozenset(positional)
        lits.build()
        self._by_setting: dict[Setting, Tables] = {}
        self.gate_index = self.build_gate_index() if _gates is not None else None

    def build_gate_index(self) -> "_gates.GateIndex":
        """The pattern index and every pattern's gates in C (RuleDetector.candidates' loop)."""
        slots = [(ri, k, u.gates[0], u.later_gates, u.branches)
                 for ri, c in enumerate(self.compiled) for k, u in enumerate(c.patterns) if u.gates]
        return _gates.GateIndex(len(self.literals.ids), slots, [c.anchor_ids for c in self.compiled])

    def token_words(self) -> list[str]:
        """Literals that need token boundaries (terms, sequences, exceptions): they become tokenizer words,
        so they segment whole; anchors and regex gates do not need boundaries."""
        return sorted(w for w, i in self.literals.ids.items()
                      if i in self.positional and len(w) > 1 and not any(ch.isspace() for ch in w))

    def all_regexes(self) -> Iterable[LazyRegex]:
        for c in self.compiled:
            yield from (*(u.regex for u in c.patterns if u.regex is not None), *c.unless, *c.requires, *c.cues)
        for s in self.signals:
            yield from (*s.patterns, *s.unless)

    def tables(self, setting: Setting) -> Tables:
        """Trigger and pattern indexes restricted to the rules that apply in this setting."""
        tables = self._by_setting.get(setting)
        if tables is None:
            ok = [applies(c.rule, setting) for c in self.compiled]
            # Rules whose flags are missing but whose utterance may state them (context_cue).
            cued = frozenset(ri for ri, c in enumerate(self.compiled)
                             if not ok[ri] and c.cues
                             and applies(c.rule, Setting(setting.role, setting.counterpart, setting.channel,
                                                         setting.flags | frozenset(c.rule.context))))
            ok = [o or ri in cued for ri, o in enumerate(ok)]
            trigger = {}
            for pid, rs in enumerate(self._trigger):
                kept = frozenset(ri for ri in rs if ok[ri])
                if kept:
                    trigger[pid] = kept
            pat_index = {}
            for pid, pairs in enumerate(self._pat_index):
                kept_pairs = tuple((ri, k) for ri, k in pairs if ok[ri])
                if kept_pairs:
                    pat_index[pid] = kept_pairs
            anchors: dict[int, set[int]] = {}
            for ri, c in enumerate(self.compiled):
                if ok[ri] and c.patterns:
                    for pid in c.anchor_ids:
                        anchors.setdefault(pid, set()).add(ri)
            anchor_map = {pid: frozenset(rs) for pid, rs in anchors.items()}
            free = frozenset(ri for ri, c in enumerate(self.compiled) if ok[ri] and c.patterns and not c.anchor_ids)
            tables = Tables(trigger, pat_index, frozenset(trigger), frozenset(pat_index),
                            anchor_map, frozenset(anchor_map), cued, free, bytes(ok))
            if len(self._by_setting) < 256:
                self._by_setting[setting] = tables
        return tables


def applies(r: Rule, s: Setting) -> bool:
    """Whether a rule looks at a turn in this setting at all."""
    return (s.role in r.roles
            and (not r.counterparts or s.counterpart in r.counterparts)
            and (not r.channels or s.channel in r.channels)
            and all(f in s.flags for f in r.context)
            and (s.role == "agent" or r.category is Category.risk))


