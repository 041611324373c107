"""The matching engine: one multi-pattern pass decides what else runs.

Every literal a rule needs (terms, regex anchors, sequence elements,
exceptions) goes into one Aho-Corasick automaton. A check runs that
automaton once over the normalised text; only rules with hits go on, and
only they may ask for jieba tokens (token boundaries keep 热狗 from firing
on 狗) or run their regexes. A clean utterance with no cue costs one pass.
"""
from __future__ import annotations

import bisect
import dataclasses
import re
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple

import ahocorasick_rs
import regex

from . import pii
from .lexicon import Lexicon, expand_regex, expand_terms
from .models import Category, Finding, Severity
from .normalize import Normalized, normalize
from .rewrite import (Intervals, apply_fixes, extract_facts, is_fragment, keep_facts, render, resolve_overlaps,
                      separate_fixes)
from .fusion import model_findings
from .prefilter import GateCache
from .rules import Rule
from .tokenizer import Tokenizer, make_tokenizer

if TYPE_CHECKING:
    from .model.detector import ModelDetector

# One check's total time budget (seconds); past it the check returns what it
# has found, with ``truncated`` set. Configurable per Checker.
DEFAULT_DEADLINE_S = 2.0
# Long texts are searched in chunks of this many characters (each sees this
# much more text beyond its end, for look-aheads), with a deadline check
# between chunks: one search can never run away with the budget.
SEARCH_CHUNK = 2000
SEARCH_OVERLAP = 400
NEGATION_WINDOW = 8
# Longest sentence and clause the engine looks at as one unit (see _split_long).
MAX_SENTENCE_CHARS = 200
MAX_CLAUSE_CHARS = 100
_SENTENCE_END = frozenset("。！？!?；;\n\r")
_CLAUSE_END = _SENTENCE_END | frozenset("，,：:、 \t")
_CLAUSE_RX = regex.compile("[" + regex.escape("".join(_CLAUSE_END)) + "]")
_SENTENCE_RX = regex.compile("[" + regex.escape("".join(_SENTENCE_END)) + "]")
_NUMERIC_VALIDATORS = frozenset({"cn_id", "bank_card", "cn_mobile", "landline"})
_DIGIT_RUN = regex.compile(r"\d{7,}")
# Characters outside both tokenizers' block class (jieba's re_han_default and
# jieba-rs's wider CJK ranges): each is a block boundary and a token of its own.
_NON_BLOCK = regex.compile(r"[^\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0002FA1Fa-zA-Z0-9+#&._%\-]")
# Context a numeric-identifier pattern may look at around the digit run (卡号是…, 的卡).
_ID_WINDOW_BEFORE, _ID_WINDOW_AFTER = 24, 8
_QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "‘": "’", "《": "》"}
_ANY_QUOTE = re.compile("[" + re.escape("".join(_QUOTE_PAIRS) + '"') + "]")
_NEG_BLOCKERS = ("就", "的话", "否则", "不然", "但", "可是", "不过")
_NEG_CHARS = frozenset("不没别勿莫未冇唔")
_RELAY_PREPS = frozenset("跟和对同给替")  # 跟他说 / 对你说 relay or announce; they do not report speech
# A cue denied right after it: 坐牢是不可能的 / 抓人？不会的。
_POST_NEGATION = re.compile(r"[？?，,]?(?:那|这)?(?:是|也是|都是|肯定|绝对)?(?:不可能|不会|不存在|没有)(?:的|的事|的事情|的事儿)?(?:[，。！？!?,；;…]|$)"
                            # 坐牢啊什么的都是假的 / 那是误传: the threat is named to be denied
                            r"|[^，。！？!?；;]{0,8}?(?:都是|是|全是)(?:假的|谣言|误传|骗人的|吓唬人的|瞎说的|乱讲的)")
_QUESTION = regex.compile(r"[吗嘛?？]|误会|是不是.{0,3}$")

# Which category's polite sentence replaces a sentence that held several kinds of violation.
_FALLBACK_ORDER = [Category.sarcasm, Category.insult, Category.conduct, Category.threat, Category.privacy]

# Replacement used when a rule's own rewrite still leaves a violation.
FALLBACK = {
    Category.threat: "请您尽快安排还款；如有困难，我们可以一起商量还款方案。",
    Category.insult: "请您尽快处理欠款，如有困难可以和我们沟通。",
    Category.sarcasm: "请问您这边什么时候方便处理欠款？",
    Category.privacy: "麻烦您转告他尽快联系我们，谢谢。",
    Category.conduct: "请通过官方渠道办理还款；如有困难，可以和我们沟通还款安排。",
}


class DeadlineExceeded(Exception):
    """A check ran out of its time budget (internal: the check returns a partial result)."""


class Deadline:
    """The moment one check must stop by (``time.monotonic`` seconds)."""

    __slots__ = ("at",)

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises DeadlineExceeded when none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded
        return left


class _LazyRegex:
    """A pattern compiled on first use: most patterns never run in a process's life.

    Patterns written in the syntax Python's own ``re`` understands also get an
    ``re`` twin: on the big word-class alternations our lexicons use it runs
    three to five times faster than ``regex``. The ``regex`` form stays for
    what only it can do: \\p{Han} and variable-width look-behind; it runs with
    the check's remaining time as its timeout.
    """

    __slots__ = ("pattern", "_rx", "_fast")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._rx: regex.Pattern | None = None
        self._fast: re.Pattern | regex.Pattern | None = None

    def get(self) -> regex.Pattern:
        if self._rx is None:
            self._rx = regex.compile(self.pattern)
        return self._rx

    def fast(self) -> "re.Pattern | regex.Pattern":
        """The quickest compiled form (the stdlib twin when there is one)."""
        if self._fast is None:
            self._fast = _stdlib_compile(self.pattern) or self.get()
        return self._fast

    def finditer(self, text: str, lo: int, hi: int, deadline: Deadline):
        """Matches in text[lo:hi], as ``finditer`` finds them, under the deadline.

        Beyond one chunk the text is searched chunk by chunk (each allowed to
        look SEARCH_OVERLAP characters past its end) with a deadline check in
        between; a match found in a chunk's overlap is left to the next chunk,
        which starts where the last match ended, as a plain scan would.
        """
        rx = self.fast()
        timed = isinstance(rx, regex.Pattern)  # only `regex` takes a timeout; `re` twins are bounded by chunks

        def scan(a: int, b: int):
            left = deadline.remaining()
            return rx.finditer(text, a, b, timeout=left) if timed else rx.finditer(text, a, b)

        if hi - lo <= SEARCH_CHUNK + SEARCH_OVERLAP:
            yield from scan(lo, hi)
            return
        pos = lo
        while pos < hi:
            stop = min(hi, pos + SEARCH_CHUNK)
            nxt = stop
            for m in scan(pos, min(hi, stop + SEARCH_OVERLAP)):
                if m.start() >= stop:
                    break
                yield m
                nxt = max(nxt, m.end())
            pos = nxt

    def search(self, text: str, deadline: Deadline, lo: int = 0, hi: int | None = None):
        """The first match in text[lo:hi] or None, under the deadline."""
        return next(self.finditer(text, lo, len(text) if hi is None else hi, deadline), None)


def _stdlib_compile(pattern: str) -> "re.Pattern | None":
    """``re`` form of a pattern, or None when its syntax needs the ``regex`` module."""
    if "\\p{" in pattern or "\\P{" in pattern:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. a nested-set FutureWarning: meaning differs
            return re.compile(pattern)
    except (re.error, Warning, RecursionError, OverflowError):
        return None


@dataclass(slots=True)
class _Compiled:
    rule: Rule
    regexes: tuple["_LazyRegex", ...] = ()
    unless: tuple["_LazyRegex", ...] = ()
    requires: tuple["_LazyRegex", ...] = ()
    cues: tuple["_LazyRegex", ...] = ()  # context_cue: the utterance itself supplies the rule's context
    cue_ids: frozenset[int] | None = None  # literals one of which a cue needs (None: no gate)
    ungated: tuple[int, ...] = ()  # patterns with no literal requirement: they run whenever the rule does
    term_ids: frozenset[int] = frozenset()
    anchor_ids: frozenset[int] = frozenset()
    seq_ids: tuple[frozenset[int], ...] = ()
    exc_ids: frozenset[int] = frozenset()
    gates: tuple[tuple[frozenset[int], ...], ...] = ()  # per pattern: literal sets that must each be seen
    later_gates: tuple[tuple[frozenset[int], ...], ...] = ()  # per pattern: gates[1:]


@dataclass(frozen=True, slots=True)
class _Tables:
    trigger: dict[int, frozenset[int]]             # literal id -> rules it sets off
    pat_index: dict[int, tuple[tuple[int, int], ...]]  # literal id -> (rule, pattern) pairs it gates
    trigger_ids: frozenset[int]
    pat_ids: frozenset[int]
    anchors: dict[int, frozenset[int]]             # literal id -> regex rules it anchors
    anchor_ids: frozenset[int]
    cued: frozenset[int]                           # rules that apply only if a context_cue matches the text


class Run(NamedTuple):
    """What one engine run gives back."""

    findings: list[Finding]
    rewrite: str
    truncated: bool
    norm: Normalized


@dataclass(slots=True)
class Candidate:
    rule: Rule
    start: int  # normalised
    end: int
    cue: str
    identifier: str | None = None
    valid: bool | None = None
    confidence: float = 0.0


class _Doc:
    """One text under check, with what rules compute about it, each on first need."""

    __slots__ = ("norm", "text", "tokenizer", "deadline", "_cuts", "_windows", "_sentence_of", "context_ok",
                 "_clauses", "_sentences", "_quotes", "_digits")

    def __init__(self, norm: Normalized, tokenizer: Tokenizer, deadline: Deadline) -> None:
        self.norm = norm
        self.text = norm.text
        self.tokenizer = tokenizer
        self.deadline = deadline
        self._cuts: list[int] | None = None  # positions of characters that end a tokenizer block
        self._windows: dict[tuple[int, int], tuple[list[tuple[int, int]], list[int]]] = {}
        self._sentence_of: dict[tuple[int, int], tuple[int, int]] = {}
        self.context_ok: dict[tuple[int, tuple[int, int]], bool] = {}  # (rule, sentence) -> unless/requires verdict
        self._clauses: list[int] | None = None
        self._sentences: list[int] | None = None
        self._quotes: list[tuple[int, int]] | None = None
        self._digits: list[tuple[int, int]] | None = None

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

    def _bounds(self, ends: frozenset[str], with_breaks: bool) -> list[int]:
        cuts = {0, len(self.text)}
        rx = _CLAUSE_RX if ends is _CLAUSE_END else _SENTENCE_RX
        for m in rx.finditer(self.text):
            cuts.add(m.start())
            cuts.add(m.end())
        if with_breaks:
            cuts.update(self.norm.breaks)
        out = sorted(cuts)
        limit = MAX_CLAUSE_CHARS if ends is _CLAUSE_END else MAX_SENTENCE_CHARS
        if len(self.text) > limit and any(b - a > limit for a, b in zip(out, out[1:])):
            soft = None if ends is _CLAUSE_END else sorted(set(self._bounds(_CLAUSE_END, True)))
            out = _split_long(out, limit, soft)
        return out

    def clause(self, s: int, e: int) -> tuple[int, int]:
        if self._clauses is None:
            self._clauses = self._bounds(_CLAUSE_END, True)
        return self._enclose(self._clauses, s, e, _CLAUSE_END)

    def sentence(self, s: int, e: int) -> tuple[int, int]:
        got = self._sentence_of.get((s, e))
        if got is None:
            if self._sentences is None:
                self._sentences = self._bounds(_SENTENCE_END, False)
            got = self._sentence_of[(s, e)] = self._enclose(self._sentences, s, e, _SENTENCE_END)
        return got

    def _enclose(self, cuts: list[int], s: int, e: int, ends: frozenset[str]) -> tuple[int, int]:
        lo = cuts[max(0, bisect.bisect_right(cuts, s) - 1)]
        hi = cuts[min(len(cuts) - 1, bisect.bisect_left(cuts, max(e, s + 1)))]
        # skip leading delimiters
        while lo < hi and self.text[lo] in ends:
            lo += 1
        return lo, max(hi, e)

    def in_quotes(self, s: int, e: int) -> bool:
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


def _blank(norm: Normalized, rx: "re.Pattern") -> Normalized:
    """The normalised text with every match of ``rx`` replaced by spaces (same offsets)."""
    if not rx.search(norm.text):
        return norm
    return dataclasses.replace(norm, text=rx.sub(lambda m: " " * len(m.group()), norm.text))


def _enclosing(spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The (original-offset) sentence holding a finding that starts at ``start``."""
    i = bisect.bisect_right([a for a, _ in spans], start) - 1
    if i >= 0 and spans[i][0] <= start < max(spans[i][1], start + 1):
        return spans[i][0], max(spans[i][1], end)
    return None


def sentence_spans(norm: Normalized) -> list[tuple[int, int]]:
    """The engine's sentences of a normalised text (non-empty, leading delimiters skipped).

    The one definition of "sentence" that the rules' guards, the rewrites and
    the trained model all use.
    """
    doc = _Doc(norm, None, None)  # type: ignore[arg-type]  # segmentation needs neither
    cuts = doc._bounds(_SENTENCE_END, False)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        while a < b and doc.text[a] in _SENTENCE_END:
            a += 1
        if a < b and doc.text[a:b].strip():
            out.append((a, b))
    return out


def _split_long(cuts: list[int], limit: int, soft: list[int] | None) -> list[int]:
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


def _merge_per_sentence(findings: list[Finding], sentences: list[tuple[int, int]], original: str) -> list[Finding]:
    """One finding per violation: hits of one subtype in one sentence become one finding.

    A disclosure sentence that three rules (or one rule three times) flagged
    is one violation for the reviewer and for the score. The merged finding
    spans the hits, carries the most severe rule (its id, message, source),
    names every rule that agreed, and has one fix: the members' own fixes
    applied together over their sentence, so no text between two hits is
    lost (and a deletion can take its frame along: 你个□ 听不懂…).
    """
    if len(findings) < 2:
        return findings
    groups: dict[tuple[str, tuple[int, int]], list[int]] = {}
    for i, (f, sent) in enumerate(zip(findings, sentences)):
        groups.setdefault((f.subtype, sent), []).append(i)
    if len(groups) == len(findings):
        return findings
    out: list[Finding] = []
    for (_, sentence), idx in groups.items():
        if len(idx) == 1:
            out.append(findings[idx[0]])
            continue
        members = [findings[i] for i in idx]
        lead = max(members, key=lambda f: (f.severity.rank, f.confidence, -f.start))
        start, end = min(f.start for f in members), max(f.end for f in members)
        fs, fe = min(sentence[0], *(f.fix_start for f in members)), max(sentence[1], *(f.fix_end for f in members))
        fixes = resolve_overlaps([(f.fix_start - fs, f.fix_end - fs, f.suggestion, f.severity.rank) for f in members])
        rules = list(dict.fromkeys(f.rule_id for f in members))
        hits = "、".join(f"「{pii.mask_text(f.text)}」" for f in members)
        agreed = f"同一句中同类问题 {len(members)} 处合并为一条（规则 {'、'.join(rules)}，命中 {hits}）"
        out.append(lead.model_copy(update={
            "start": start, "end": end, "text": original[start:end], "fix_start": fs, "fix_end": fe,
            "suggestion": apply_fixes(original[fs:fe], fixes),
            "auto_apply": all(f.auto_apply for f in members),
            "confidence": max(f.confidence for f in members),
            "explanation": lead.explanation + "；" + agreed,
        }))
    out.sort(key=lambda f: (f.start, f.end, f.rule_id))
    return out


def _disjoint_fixes(findings: list[Finding]) -> list[Finding]:
    """Findings whose fix lies inside a wider one get an empty fix there (fixes never overlap)."""
    if len(findings) < 2:
        return findings
    moved = separate_fixes([(f.fix_start, f.fix_end, f.severity.rank) for f in findings])
    return [f if at is None else f.model_copy(update={
        "fix_start": at, "fix_end": at, "suggestion": "", "auto_apply": False,
        "explanation": f.explanation + "；改写并入同一处更大范围的修改"}) for f, at in zip(findings, moved)]


class Engine:
    """Compiled rules plus the automaton and tokenizer they share."""

    def __init__(self, lexicon: Lexicon, rules: Iterable[Rule] | None = None, *,
                 tokenizer: str | None = None, deadline_s: float = DEFAULT_DEADLINE_S,
                 shared_tokenizer: Tokenizer | None = None, model: "ModelDetector | None" = None,
                 model_subtypes: frozenset[str] = frozenset(),
                 severity_of: "Callable[[str], Severity] | None" = None, allow: Iterable[str] = ()) -> None:
        self.lexicon = lexicon
        self.rules: list[Rule] = list(rules if rules is not None else lexicon.rules)
        self.deadline_s = deadline_s
        # The trained detector beside the rules, the subtypes it may report, and their severities.
        self.model = model if model_subtypes else None
        self.model_subtypes = model_subtypes
        # Allow-listed terms win over the model too: it reads the text with them blanked out.
        allowed = sorted({t for t in expand_terms(list(allow), lexicon.classes) if t}, key=len, reverse=True)
        self._allow_rx = re.compile("|".join(map(re.escape, allowed))) if allowed else None
        self.severity_of = severity_of or (lambda st: lexicon.subtypes[st].severity if st in lexicon.subtypes
                                           else Severity.medium)
        classes = lexicon.classes
        self.negators = tuple(sorted(classes.get("negator", ()), key=len, reverse=True))
        clause_negs = sorted(classes.get("negator_clause", ()), key=len, reverse=True)
        self._clause_neg_rx = re.compile("|".join(map(re.escape, clause_negs))) if clause_negs else None
        mentions = sorted(classes.get("mention_after", ()), key=len, reverse=True)
        self._mention_rx = re.compile("|".join(map(re.escape, mentions))) if mentions else None
        self.reported = tuple(classes.get("reported_speech", ()))
        lenders = sorted(classes.get("lender", ()), key=len, reverse=True)
        self._lender_rx = re.compile("|".join(map(re.escape, lenders))) if lenders else None
        # Cheap first looks before the per-word scans in _negated / _reported.
        self._neg_first = re.compile("[" + re.escape("".join({n[0] for n in self.negators})) + "]" if self.negators else "(?!)")
        self._reported_rx = re.compile("|".join(map(re.escape, self.reported)) if self.reported else "(?!)")
        literal_ids: dict[str, int] = {}

        def pids(strings: Iterable[str]) -> frozenset[int]:
            out = []
            for x in strings:
                if x not in literal_ids:
                    literal_ids[x] = len(literal_ids)
                out.append(literal_ids[x])
            return frozenset(out)

        self.compiled: list[_Compiled] = []
        # The required-literal analysis of every pattern, from the on-disk cache when it has it.
        expanded_of: dict[str, str] = {}  # many rules share guards: expand each pattern once

        def expand(p: str) -> str:
            got = expanded_of.get(p)
            if got is None:
                got = expanded_of[p] = expand_regex(p, classes)
            return got

        gate_cache = GateCache(sorted({expand(p) for rule in self.rules for p in (*rule.patterns, *rule.context_cue)}))
        for rule in self.rules:
            c = _Compiled(rule)
            c.term_ids = pids(expand_terms(rule.terms, classes))
            c.anchor_ids = pids(expand_terms(rule.anchors, classes))
            c.seq_ids = tuple(pids(expand_terms(el, classes)) for el in rule.sequence)
            c.exc_ids = pids(expand_terms(rule.exceptions, classes))
            expanded = [expand(p) for p in rule.patterns]
            c.regexes = tuple(_LazyRegex(p) for p in expanded)
            c.gates = tuple(tuple(pids(x) for x in req) if (req := gate_cache.get(p)) else ()
                            for p in expanded)
            c.unless = tuple(_LazyRegex(expand(p)) for p in rule.unless)
            c.requires = tuple(_LazyRegex(expand(p)) for p in rule.requires)
            cue_expanded = [expand(p) for p in rule.context_cue]
            c.cues = tuple(_LazyRegex(p) for p in cue_expanded)
            # literals a cue needs: without one of them in the text no cue can match
            cue_sets = [gate_cache.get(p) for p in cue_expanded]
            if cue_sets and all(cue_sets):
                c.cue_ids = frozenset().union(*(pids(req[0]) for req in cue_sets))
            c.ungated = tuple(k for k, g in enumerate(c.gates) if not g)
            c.later_gates = tuple(g[1:] for g in c.gates)
            self.compiled.append(c)
        gate_cache.save()
        self._literals = list(literal_ids)
        # Which rules a literal can set off: terms, regex anchors, a sequence's first element.
        trigger: list[list[int]] = [[] for _ in self._literals]
        positional: set[int] = set()  # literals whose positions matter (terms, sequences, exceptions)
        for ri, c in enumerate(self.compiled):
            first = c.seq_ids[0] if c.seq_ids else frozenset()
            # A regex rule's gated patterns are found through the pattern
            # index below; its anchors set it off only for ungated patterns.
            for pid in c.term_ids | (c.anchor_ids if c.ungated else frozenset()) | first:
                trigger[pid].append(ri)
            positional |= c.term_ids | c.exc_ids
            for el in c.seq_ids:
                positional |= el
        self._trigger = [tuple(t) for t in trigger]
        # Pattern index: a literal of a pattern's most selective required set
        # names the (rule, pattern) pairs that may match at all.
        pat_index: list[list[tuple[int, int]]] = [[] for _ in self._literals]
        for ri, c in enumerate(self.compiled):
            for k, gates in enumerate(c.gates):
                if gates:
                    for pid in gates[0]:
                        pat_index[pid].append((ri, k))
        self._pat_index = [tuple(x) for x in pat_index]
        self._positional = frozenset(positional)
        self._ac = (ahocorasick_rs.AhoCorasick(self._literals, matchkind=ahocorasick_rs.MatchKind.Standard)
                    if self._literals else None)
        # Terms that need token boundaries become tokenizer words, so they
        # segment whole; anchors and regex gates do not need boundaries.
        words = sorted(w for i, w in enumerate(self._literals)
                       if i in positional and len(w) > 1 and not any(ch.isspace() for ch in w))
        self.tokenizer = shared_tokenizer or make_tokenizer(tokenizer, words)
        self._own_words = self.tokenizer.words
        self._by_setting: dict[tuple, _Tables] = {}

    # -- public ---------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Compile every pattern now (a service does this at start-up, not on the first request)."""
        for c in self.compiled:
            for rx in (*c.regexes, *c.unless, *c.requires, *c.cues):
                rx.get()
                rx.fast()

    def run(self, text: str, role: str, counterpart: str, channel: str,
            context: frozenset[str] = frozenset(), deadline: Deadline | None = None, with_model: bool = True) -> "Run":
        """Findings, the rewrite and whether the deadline cut the check short.

        ``with_model=False`` runs the rules alone (a rule's own examples test the rule).
        """
        deadline = deadline or Deadline(self.deadline_s)
        norm = normalize(text)
        findings, truncated = self._findings(norm, role, counterpart, channel, context, deadline, with_model)
        rewrite, cut = self._rewrite(text, findings, role, counterpart, channel, context, deadline, truncated)
        return Run(findings, rewrite, truncated or cut, norm)

    def compile_pattern(self, pattern: str) -> "_LazyRegex":
        """A lexicon pattern (word classes expanded) searched like the rules' own, under a deadline."""
        return _LazyRegex(expand_regex(pattern, self.lexicon.classes))

    # -- matching -------------------------------------------------------------------------

    def _tables(self, role: str, counterpart: str, channel: str, context: frozenset[str]) -> "_Tables":
        """Trigger and pattern indexes restricted to the rules that apply in this setting."""
        key = (role, counterpart, channel, context)
        tables = self._by_setting.get(key)
        if tables is None:
            ok = [self._applies(c.rule, role, counterpart, channel, context) for c in self.compiled]
            # Rules whose flags are missing but whose utterance may state them (context_cue).
            cued = frozenset(ri for ri, c in enumerate(self.compiled)
                             if not ok[ri] and c.cues and self._applies(c.rule, role, counterpart, channel,
                                                                        context | frozenset(c.rule.context)))
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
                if ok[ri] and c.rule.kind == "regex":
                    for pid in c.anchor_ids:
                        anchors.setdefault(pid, set()).add(ri)
            anchor_map = {pid: frozenset(rs) for pid, rs in anchors.items()}
            tables = _Tables(trigger, pat_index, frozenset(trigger), frozenset(pat_index),
                             anchor_map, frozenset(anchor_map), cued)
            if len(self._by_setting) < 256:
                self._by_setting[key] = tables
        return tables

    @staticmethod
    def _applies(r: Rule, role: str, counterpart: str, channel: str, context: frozenset[str]) -> bool:
        return (role in r.roles
                and (not r.counterparts or counterpart in r.counterparts)
                and (not r.channels or channel in r.channels)
                and all(f in context for f in r.context)
                and (role == "agent" or r.category is Category.risk))

    def _findings(self, norm: Normalized, role: str, counterpart: str, channel: str,
                  context: frozenset[str], deadline: Deadline, with_model: bool = True) -> tuple[list[Finding], bool]:
        kept, doc, truncated = self._candidates(norm, role, counterpart, channel, context, deadline)
        findings = self._to_findings(kept, doc, counterpart, context) if kept else []
        sentences = [doc.norm.span(*doc.sentence(c.start, c.end)) for c in kept]  # in the caller's offsets
        if self.model is not None and with_model and not truncated:
            sents = sentence_spans(norm)
            seen = norm if self._allow_rx is None else _blank(norm, self._allow_rx)
            fused = model_findings(self.model, seen, sents, role, counterpart, channel, context, findings,
                                   self.model_subtypes, self.lexicon.subtypes, self.severity_of, self._fallback)
            if len(fused) != len(findings) or fused != findings:
                by_rule = {id(f): sent for f, sent in zip(findings, sentences)}
                starts = [norm.span(a, b) for a, b in sents]
                sentences = [by_rule.get(id(f)) or _enclosing(starts, f.start, f.end) for f in fused]
                # rule findings keep their sentence (the model only raised their confidence)
                sentences = [sent if sent is not None else (f.start, f.end) for f, sent in zip(fused, sentences)]
                findings = fused
        if not findings:
            return [], truncated
        return _disjoint_fixes(_merge_per_sentence(findings, sentences, norm.original)), truncated

    def _candidates(self, norm: Normalized, role: str, counterpart: str, channel: str,
                    context: frozenset[str], deadline: Deadline) -> tuple[list[Candidate], "_Doc | None", bool]:
        """Matches that survive every context filter, one per subtype and place.

        Past the deadline the rules not yet run are skipped and the third
        value (truncated) is True.
        """
        text = norm.text
        if not text or self._ac is None:
            return [], None, False
        matches = self._ac.find_matches_as_indexes(text, overlapping=True)
        if not matches:
            return [], None, False
        tables = self._tables(role, counterpart, channel, context)
        found = {m[0] for m in matches}
        trigger = tables.trigger
        rules: set[int] = set()
        for pid in found & tables.trigger_ids:
            rules |= trigger[pid]
        pats: dict[int, set[int]] = {}
        pat_index = tables.pat_index
        anchored: set[int] = set()  # regex rules whose anchors are present
        for pid in found & tables.anchor_ids:
            anchored |= tables.anchors[pid]
        if anchored:
            for pid in found & tables.pat_ids:
                for ri, k in pat_index[pid]:
                    if ri in anchored:
                        ks = pats.get(ri)
                        if ks is None:
                            pats[ri] = {k}
                        else:
                            ks.add(k)
        if not rules and not pats:
            return [], None, False
        rules.update(pats)
        pos: dict[int, list[tuple[int, int]]] = {pid: [] for pid in found & self._positional}
        if pos:
            for pid, s, e in matches:
                lst = pos.get(pid)
                if lst is not None:
                    lst.append((s, e))
        doc = _Doc(norm, self.tokenizer, deadline)
        truncated = False
        cands: list[Candidate] = []
        cued = tables.cued
        for ri in sorted(rules):
            c = self.compiled[ri]
            try:
                if ri in cued and ((c.cue_ids is not None and c.cue_ids.isdisjoint(found))
                                   or not any(rx.search(text, deadline) for rx in c.cues)):
                    continue
                raw = self._match_rule(c, found, pos, doc, pats.get(ri, ()))
                if not raw:
                    continue
                exc = [x for pid in (c.exc_ids & found) for x in pos[pid]]
                cands.extend(cand for cand in raw if self._keep(c, cand, doc, exc))
            except (DeadlineExceeded, TimeoutError):  # TimeoutError: a `regex` search ran out of time
                truncated = True
                break
        if len(cands) > 1:
            cands.sort(key=lambda c: (-c.rule.severity.rank, -c.confidence, -(c.end - c.start), c.start, c.rule.id))
            kept: list[Candidate] = []
            taken: dict[str, Intervals] = {}
            for cand in cands:
                spans = taken.get(cand.rule.subtype)
                if spans is None:
                    spans = taken[cand.rule.subtype] = Intervals()
                if spans.add(cand.start, cand.end):
                    kept.append(cand)
            kept.sort(key=lambda c: (c.start, c.end, c.rule.id))
            cands = kept
        return cands, doc, truncated

    def _match_rule(self, c: _Compiled, found: set[int], pos: dict[int, list[tuple[int, int]]],
                    doc: _Doc, pats: Iterable[int] = ()) -> list[Candidate]:
        rule = c.rule
        text = doc.text
        out: list[Candidate] = []
        if rule.kind == "terms":
            for s, e in sorted(x for pid in (c.term_ids & found) for x in pos[pid]):
                if rule.boundary == "token" and not doc.aligned(s, e, self._own_words):
                    continue
                out.append(Candidate(rule, s, e, text[s:e], confidence=rule.confidence))
            return out
        if rule.kind != "regex":
            return list(self._match_sequence(c, found, pos, doc))
        if c.anchor_ids.isdisjoint(found):
            return out
        windows = None
        if rule.validator in _NUMERIC_VALIDATORS:
            windows = doc.digit_windows()  # a numeric identifier needs a run of digits
            if not windows:
                return out
        todo = sorted((*c.ungated, *pats)) if c.ungated else sorted(pats)
        later = c.later_gates
        for k in todo:
            for g in later[k]:  # rarest first: the likeliest to be missing
                if g.isdisjoint(found):
                    break
            else:
                out.extend(self._run_pattern(c, k, text, windows, doc))
        return out

    def _run_pattern(self, c: _Compiled, k: int, text: str, windows: list[tuple[int, int]] | None,
                     doc: _Doc) -> list[Candidate]:
        rule = c.rule
        out: list[Candidate] = []
        lazy = c.regexes[k]
        ms = (m for ws, we in (windows or [(0, len(text))]) for m in lazy.finditer(text, ws, we, doc.deadline))
        groups = lazy.fast().groupindex
        for m in ms:
            if "hit" in groups and m.group("hit") is not None:
                s, e = m.span("hit")
            else:
                s, e = m.span()
            if e <= s:
                continue
            if rule.boundary == "token" and not doc.aligned(s, e, self._own_words):
                continue
            ident = m.group("num") if "num" in groups else None
            cand = Candidate(rule, s, e, text[s:e], identifier=ident, confidence=rule.confidence)
            if rule.validator:
                has_ctx = "ctx" in groups and m.group("ctx") is not None
                cand.valid = pii.validate(rule.validator, ident or text[s:e])
                if cand.valid is False and not has_ctx:
                    continue
                if cand.valid:
                    cand.confidence = min(1.0, rule.confidence + 0.1)
                elif cand.valid is False:
                    cand.confidence = max(0.3, rule.confidence - 0.2)
            out.append(cand)
        return out

    def _match_sequence(self, c: _Compiled, found: frozenset[int], pos: dict[int, list[tuple[int, int]]],
                        doc: _Doc) -> Iterable[Candidate]:
        rule = c.rule
        lists = []
        for ids in c.seq_ids:
            h = [x for pid in (ids & found) for x in pos[pid]]
            if not h:
                return
            if rule.boundary == "token":
                h = [x for x in h if doc.aligned(x[0], x[1], self._own_words)]
                if not h:
                    return
            lists.append(sorted(h))
        for first in lists[0]:
            chain = [first]
            for lst in lists[1:]:
                prev_end = chain[-1][1]
                nxt = None
                for s, e in lst:
                    if s < prev_end:
                        continue
                    gap = doc.tokens_between(prev_end, s) if s > prev_end else 0
                    if gap <= rule.max_gap:
                        nxt = (s, e)
                    break
                if nxt is None:
                    break
                chain.append(nxt)
            if len(chain) == len(lists):
                s, e = chain[0][0], chain[-1][1]
                yield Candidate(rule, s, e, doc.text[s:e], confidence=rule.confidence)

    # -- context filters ------------------------------------------------------------------

    def _keep(self, c: _Compiled, cand: Candidate, doc: _Doc, exc: Iterable[tuple[int, int]]) -> bool:
        rule = c.rule
        s, e = cand.start, cand.end
        for xs, xe in exc:
            if xs < e and s < xe:
                return False
        if c.unless or c.requires:
            sentence = doc.sentence(s, e)
            key = (id(c), sentence)
            ok = doc.context_ok.get(key)
            if ok is None:
                sent = doc.text[sentence[0]:sentence[1]]
                ok = doc.context_ok[key] = (
                    not any(rx.search(sent, doc.deadline) for rx in c.unless)
                    and all(rx.search(sent, doc.deadline) for rx in c.requires))
            if not ok:
                return False
        if rule.negation and (self._negated(doc, s) or _POST_NEGATION.match(doc.text, e)
                              or self._clause_negated(doc, s)):
            return False
        if rule.quotes and self._mention_rx is not None and self._mention_rx.match(doc.text, e):
            return False  # the word is talked about, not said to anyone (老赖这个词我们不会用)
        if rule.quotes and rule.category is not Category.risk:
            if doc.in_quotes(s, e) or self._reported(doc, s, e):
                return False
        return True

    def _clause_negated(self, doc: _Doc, s: int) -> bool:
        """A denied subject earlier in the clause (冇人会…捉你 / 没有人会…): the act is denied."""
        rx = self._clause_neg_rx
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
        blockers = [b for b in _NEG_BLOCKERS if not (b == "就" and m.group().endswith("因为"))]
        return not any(b in between for b in blockers)

    def _negated(self, doc: _Doc, s: int) -> bool:
        if not self.negators:
            return False
        lo = max(0, s - NEGATION_WINDOW)
        if not self._neg_first.search(doc.text, lo, s):
            return False  # no character a negator starts with: the common case
        cs, _ = doc.clause(s, s + 1)
        lo = max(cs, lo)
        # A negator may run into the hit (不找 before 找您单位): look a few characters past its
        # start, but only at negators that begin before it.
        # A hit that is itself a negative form (不得安宁 / 不活了) keeps its own 不.
        window = doc.text[lo:s] if doc.text[s:s + 1] in _NEG_CHARS else doc.text[lo:s + 3]
        for neg in self.negators:
            i = window.rfind(neg, 0, s - lo + len(neg) - 1)
            if 0 <= i < s - lo:
                p = lo + i
                if len(neg) >= 2 and neg[0] in "不没" and p > 0 and doc.text[p - 1] == neg[1]:
                    continue  # A-not-A question (是不是 / 会不会 / 有没有), not a negation
                between = doc.text[p + len(neg):s]
                if not any(b in between for b in _NEG_BLOCKERS):
                    return True
        return False

    def _reported(self, doc: _Doc, s: int, e: int) -> bool:
        if not self.reported:
            return False
        ss, se = doc.sentence(s, e)
        if not self._reported_rx.search(doc.text, ss, s):
            return False
        before = doc.text[ss:s]
        for marker in self.reported:
            i = before.rfind(marker)
            if i < 0:
                continue
            if i > 0 and before[i - 1] in _RELAY_PREPS:
                continue  # 跟他说 / 对你说: an instruction or announcement, not reported speech
            between = before[i + len(marker):]
            if between.startswith("的"):
                continue  # 你说的 / 您讲的: "what you said" is talked about, not reported
            about_us = "我们" in between or between.startswith("我") or "咱们" in between
            sent_rest = doc.text[ss:min(len(doc.text), se + 12)]
            if ("你" not in between and "您" not in between) and (about_us or _QUESTION.search(sent_rest)):
                return True
        return False

    # -- findings -------------------------------------------------------------------------

    def _to_findings(self, kept: list[Candidate], doc: _Doc, counterpart: str, context: frozenset[str]) -> list[Finding]:
        norm = doc.norm
        out: list[Finding] = []
        for cand in kept:
            rule = cand.rule
            os_, oe = norm.span(cand.start, cand.end)
            scope = rule.rewrite.scope
            if scope == "span":
                fs, fe = cand.start, cand.end
            elif scope == "clause":
                fs, fe = doc.clause(cand.start, cand.end)
            else:
                fs, fe = doc.sentence(cand.start, cand.end)
            ofs, ofe = norm.span(fs, fe)
            template = rule.rewrite.text
            facts = extract_facts(norm.original[ofs:ofe], cand.identifier) if "{" in template else {}
            if counterpart == "third_party":
                facts.pop("amount", None)  # a debt fact the listener may not hear, even kept from the original
            suggestion = render(template, facts)
            if rule.subtype not in ("privacy.third_party_disclosure", "privacy.pii_exposure"):  # identifiers carry no facts to keep
                replaced = norm.original[ofs:ofe]
                # a lender named inside the violation (去借呗借一笔还我们) is its content, not a fact
                lenders = [m.group() for m in self._lender_rx.finditer(replaced)
                           if m.end() <= os_ - ofs or m.start() >= oe - ofs] if self._lender_rx else ()
                suggestion = keep_facts(replaced, suggestion, lenders, hit_start=os_ - ofs,
                                        debt_facts=counterpart != "third_party")
            ctx = []
            if rule.counterparts:
                ctx.append(f"听话人：{counterpart}")
            if rule.context:
                active = sorted(set(rule.context) & context)
                ctx.append("对话上下文：" + "、".join(active) if active else "本句自己提到了对方的处境或异议")
            if cand.valid is True:
                ctx.append("号码校验通过")
            elif cand.valid is False:
                ctx.append("号码未通过校验，但上下文表明是证件/卡号")
            expl = f"规则 {rule.id}{'（' + rule.name + '）' if rule.name else ''} 命中「{pii.mask_text(norm.original[os_:oe])}」"
            if ctx:
                expl += "；" + "；".join(ctx)
            out.append(Finding(  # validating is faster than pydantic's model_construct here
                rule_id=rule.id, category=rule.category, subtype=rule.subtype, severity=rule.severity,
                confidence=round(cand.confidence, 3), start=os_, end=oe, text=norm.original[os_:oe],
                message=rule.message, suggestion=suggestion, fix_start=ofs, fix_end=ofe,
                auto_apply=rule.rewrite.auto_apply, explanation=expl, source=rule.source,
            ))
        return out

    # -- rewrites -------------------------------------------------------------------------

    def _rewrite(self, text: str, findings: list[Finding], role: str, counterpart: str, channel: str,
                 context: frozenset[str], deadline: Deadline, truncated: bool) -> tuple[str, bool]:
        """The text with every violation fixed, re-checked once, with one fallback.

        A check already cut short by its deadline is not re-checked (its
        rewrite covers the findings it has); a re-check the deadline cuts
        short reports truncated too.
        """
        viol = [f for f in findings if f.is_violation]
        if not viol:
            return text, False
        fixes = resolve_overlaps([(f.fix_start, f.fix_end, f.suggestion, f.severity.rank) for f in viol
                                  if f.fix_end > f.fix_start])
        fixes = self._whole_sentences_for_fragments(text, fixes, viol, counterpart)
        out = apply_fixes(text, fixes)
        if truncated:
            return out, True
        n2 = normalize(out)
        left, cut = self._still_violating(n2, role, counterpart, channel, context, deadline)
        if left:
            fb = [(*n2.span(ss, se), self._fallback(cat, counterpart), 3) for ss, se, cat in left]
            out = apply_fixes(out, resolve_overlaps(fb))
            # Still not clean (the fallbacks met each other or their context): one safe sentence.
            again, cut2 = self._still_violating(normalize(out), role, counterpart, channel, context, deadline)
            cut = cut or cut2
            if again:
                out = self._fallback(Category.threat, counterpart)
        return out or self._fallback(Category.threat, counterpart), cut

    def _whole_sentences_for_fragments(self, text: str, fixes: list[tuple[int, int, str]], viol: list[Finding],
                                       counterpart: str) -> list[tuple[int, int, str]]:
        """Fixes whose sentence would be left a fragment (你他妈的到底… → 的到底…) become one
        polite sentence replacing the whole sentence."""
        if not any(len(rep) <= 2 for _, _, rep in fixes):
            return fixes  # only deletions and tiny replacements can leave a fragment
        norm = normalize(text)
        sents = [norm.span(a, b) for a, b in sentence_spans(norm)]
        out, whole = [], []
        for ss, se in sents:
            inside = [f for f in fixes if ss <= f[0] and f[1] <= se]
            if not inside:
                continue
            after = apply_fixes(text[ss:se], [(a - ss, b - ss, r) for a, b, r in inside])
            if is_fragment(after):
                cats = [f.category for f in viol if f.start < se and ss < f.end]
                worst = max(cats, key=lambda c: _FALLBACK_ORDER.index(c)) if cats else Category.insult
                whole.append((ss, se, self._fallback(worst, counterpart), 9))
        if not whole:
            return fixes
        return resolve_overlaps([(a, b, r, 1) for a, b, r in fixes] + whole)

    def _still_violating(self, norm: Normalized, role: str, counterpart: str, channel: str, context: frozenset[str],
                         deadline: Deadline) -> tuple[list[tuple[int, int, Category]], bool]:
        """Sentences (normalised offsets) of a rewrite that rules or the model still flag, and truncation."""
        again, doc, cut = self._candidates(norm, role, counterpart, channel, context, deadline)
        left = [(*doc.sentence(c.start, c.end), c.rule.category) for c in again if c.rule.category is not Category.risk]
        if self.model is not None and role == "agent":
            cats = frozenset(st.split(".")[0] for st in self.model_subtypes)
            for h in self.model.detect(norm.text, sentence_spans(norm), role, counterpart, channel, context, only=cats):
                if h.subtype in self.model_subtypes:
                    left.append((h.start, h.end, Category(h.category)))
        return left, cut

    @staticmethod
    def _fallback(category: Category, counterpart: str) -> str:
        # To a third party any mention of repayment discloses the debt: only ask for a call back.
        if counterpart == "third_party":
            return FALLBACK[Category.privacy]
        return FALLBACK[category]

