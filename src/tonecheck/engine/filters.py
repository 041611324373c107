"""Context filters: a raw hit that is negated, quoted, reported or guarded against is no finding.

The Chinese these filters read (negators, what blocks a negation's reach,
relay prepositions, reported-speech markers, pronouns, denials after a cue,
mention markers) is lexicon data: classes and guards of ``language.toml``
that a linguist edits without touching Python. :class:`Language` gathers
them once per checker.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ..lexicon import Lexicon
from ..models import Category
from .compile import CompiledRule
from .match import Candidate
from .search import literal_alternation
from .segment import Doc

# How far before a hit (characters, within its clause) a negator may stand.
NEGATION_WINDOW = 8


@dataclass(frozen=True)
class Language:
    """The language knowledge the filters use, read from lexicon classes and guards."""

    negators: tuple[str, ...]                 # 不会 / 没有 / 严禁 …, longest first
    negator_first: re.Pattern                 # any character a negator starts with (a cheap first look)
    negation_chars: frozenset[str]            # a hit starting with one is itself a negative form (不得安宁)
    a_not_a: frozenset[str]                   # 不 / 没 of an A-not-A question (是不是 / 有没有)
    blockers: tuple[str, ...]                 # words that end a negation's reach (就 / 但 / 否则 …)
    clause_negator: re.Pattern | None         # denied subjects whose scope is the whole clause (没人会)
    frame_openers: tuple[str, ...]            # a clause negator ending so (不会因为) opens a frame …
    frame_closers: tuple[str, ...]            # … whose closer (就) then blocks nothing
    post_negation: re.Pattern | None          # a cue denied right after it (坐牢是不可能的)
    mention: re.Pattern | None                # a word followed by these is mentioned, not used
    reported: tuple[str, ...]                 # 您说 / 有人说 …: what follows may be someone else's words
    reported_first: re.Pattern
    relay_preps: frozenset[str]               # 跟他说 / 对你说: an instruction or announcement, not a report
    nominalisers: tuple[str, ...]             # 你说的: "what you said" is talked about, not reported
    addressee: tuple[str, ...]                # 你 / 您 in the reported words: the agent's own address
    speaker_in: tuple[str, ...]               # 我们 / 咱们 anywhere in the reported words: about us
    speaker_first: tuple[str, ...]            # reported words starting with 我: about us
    question: re.Pattern | None               # the sentence is a question (吗 / 误会 / 是不是…)

    @classmethod
    def from_lexicon(cls, lexicon: Lexicon) -> "Language":
        classes, guards = lexicon.classes, lexicon.guards

        def words(name: str) -> tuple[str, ...]:
            return tuple(classes.get(name, ()))

        def guard(name: str) -> re.Pattern | None:
            return re.compile(lexicon.expand(guards[name])) if name in guards else None

        negators = tuple(sorted(words("negator"), key=len, reverse=True))
        reported = words("reported_speech")
        return cls(
            negators=negators,
            negator_first=re.compile("[" + re.escape("".join({n[0] for n in negators})) + "]" if negators else "(?!)"),
            negation_chars=frozenset(words("negation_char")),
            a_not_a=frozenset(words("a_not_a_char")),
            blockers=words("negation_blocker"),
            clause_negator=literal_alternation(words("negator_clause")),
            frame_openers=words("negation_frame_opener"),
            frame_closers=words("negation_frame_closer"),
            post_negation=guard("post_negation"),
            mention=literal_alternation(words("mention_after")),
            reported=reported,
            reported_first=re.compile("|".join(map(re.escape, reported)) if reported else "(?!)"),
            relay_preps=frozenset(words("relay_preposition")),
            nominalisers=words("reported_nominaliser"),
            addressee=words("addressee_pronoun"),
            speaker_in=words("speaker_pronoun"),
            speaker_first=words("speaker_pronoun_first"),
            question=guard("question"),
        )


def keep(c: CompiledRule, cand: Candidate, doc: Doc, exc: Iterable[tuple[int, int]], lang: Language) -> bool:
    """Whether a raw hit survives: no exception over it, its guards allow it, it is not negated,
    mentioned, quoted or reported."""
    rule = c.rule
    s, e = cand.start, cand.end
    for xs, xe in exc:
        if xs < e and s < xe:
            return False
    if c.unless or c.requires:
        sentence = doc.sentence(s, e)
        key = (id(c), sentence)
        ok = doc.guard_ok.get(key)
        if ok is None:
            sent = doc.text[sentence[0]:sentence[1]]
            ok = doc.guard_ok[key] = (
                not any(rx.search(sent, doc.deadline) for rx in c.unless)
                and all(rx.search(sent, doc.deadline) for rx in c.requires))
        if not ok:
            return False
    if rule.negation and (negated(doc, s, lang) or (lang.post_negation is not None and lang.post_negation.match(doc.text, e))
                          or clause_negated(doc, s, lang)):
        return False
    if rule.quotes and lang.mention is not None and lang.mention.match(doc.text, e):
        return False  # the word is talked about, not said to anyone (老赖这个词我们不会用)
    if rule.quotes and rule.category is not Category.risk:
        if doc.in_quotes(s, e) or reported(doc, s, e, lang):
            return False
    return True


def clause_negated(doc: Doc, s: int, lang: Language) -> bool:
    """A denied subject earlier in the clause (冇人会…捉你 / 没有人会…): the act is denied."""
    rx = lang.clause_negator
    if rx is None:
        return False
    cs, _ = doc.clause(s, s + 1)
    m = None
    for m in rx.finditer(doc.text, cs, s):
        pass
    if m is None:
        return False
    between = doc.text[m.end():s]
    # in 不会因为…就… the 就 belongs to the denied frame; elsewhere it ends the negation's reach
    framed = m.group().endswith(lang.frame_openers) if lang.frame_openers else False
    blockers = [b for b in lang.blockers if not (framed and b in lang.frame_closers)]
    return not any(b in between for b in blockers)


def negated(doc: Doc, s: int, lang: Language) -> bool:
    """A negator shortly before the hit, in its clause, with nothing between that ends its reach."""
    if not lang.negators:
        return False
    lo = max(0, s - NEGATION_WINDOW)
    if not lang.negator_first.search(doc.text, lo, s):
        return False  # no character a negator starts with: the common case
    cs, _ = doc.clause(s, s + 1)
    lo = max(cs, lo)
    # A negator may run into the hit (不找 before 找您单位): look a few characters past its
    # start, but only at negators that begin before it.
    # A hit that is itself a negative form (不得安宁 / 不活了) keeps its own 不.
    window = doc.text[lo:s] if doc.text[s:s + 1] in lang.negation_chars else doc.text[lo:s + 3]
    for neg in lang.negators:
        i = window.rfind(neg, 0, s - lo + len(neg) - 1)
        if 0 <= i < s - lo:
            p = lo + i
            if len(neg) >= 2 and neg[0] in lang.a_not_a and p > 0 and doc.text[p - 1] == neg[1]:
                continue  # A-not-A question (是不是 / 会不会 / 有没有), not a negation
            between = doc.text[p + len(neg):s]
            if not any(b in between for b in lang.blockers):
                return True
    return False


def reported(doc: Doc, s: int, e: int, lang: Language) -> bool:
    """The hit is someone else's words the agent reports (您刚才说我们是骗子？), not the agent's own."""
    if not lang.reported:
        return False
    ss, se = doc.sentence(s, e)
    if not lang.reported_first.search(doc.text, ss, s):
        return False
    before = doc.text[ss:s]
    for marker in lang.reported:
        i = before.rfind(marker)
        if i < 0:
            continue
        if i > 0 and before[i - 1] in lang.relay_preps:
            continue  # 跟他说 / 对你说: an instruction or announcement, not reported speech
        between = before[i + len(marker):]
        if lang.nominalisers and between.startswith(lang.nominalisers):
            continue  # 你说的 / 您讲的: "what you said" is talked about, not reported
        about_us = any(w in between for w in lang.speaker_in) or (
            bool(lang.speaker_first) and between.startswith(lang.speaker_first))
        sent_rest = doc.text[ss:min(len(doc.text), se + 12)]
        if not any(w in between for w in lang.addressee) and (
                about_us or (lang.question is not None and lang.question.search(sent_rest))):
            return True
    return False
