"""Compliant rewrites: fill a rule's template with the facts it replaces.

Facts (amounts, dates, card tails) found in the text a fix removes are offered
to the template as {amount}, {date}, {tail4}, {masked}; a [bracketed] part of
a template is kept only when every placeholder in it has a value. Fixes are
applied once, in one pass, and never overlap.
"""
from __future__ import annotations

import bisect
import re
from typing import Iterable

from . import pii

# A number starts where its run starts: trying every digit of an 18-digit ID
# as a start made this search quadratic (the leftmost match is the same).
_NUM = r"(?:(?<![\d,])\d[\d,]*(?:\.\d+)?|(?<![零一二两三四五六七八九十百千万几])[零一二两三四五六七八九十百千万几]+)"
AMOUNT_RE = re.compile(rf"{_NUM}多?(?:万多?|千多?)?(?:元|块钱|块)|{_NUM}(?:万|千)多?(?=[，。,\s]|$|了|的|没|未|逾)")
DATE_RE = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}[日号]|\d{1,2}月\d{1,2}[日号]|\d{1,2}[日号](?:前|之前)?"
    r"|(?:今天|明天|后天|(?:本周|下周|这周)(?:一(?![定直般样共起])|[二三四五六日天])?|月底|月初|周(?:一(?![定直般样共起])|[二三四五六日]))"
    r"(?:上午|下午|晚上|中午)?(?:\d{1,2}点|[一二三四五六七八九十]{1,3}点)?(?:前|之前)?"
)
TAIL_RE = re.compile(r"尾号\s*\d{4}")
# Every amount has a unit and every date one of these characters: a quick
# look for them spares the full scans on most texts.
_AMOUNT_HINT = re.compile(r"[元块万千]")
_DATE_HINT = re.compile(r"[月日号天周]")
_PLACEHOLDER = re.compile(r"\{(amount|date|tail4|masked)\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def amounts_in(text: str) -> list[str]:
    return [m.group(0) for m in AMOUNT_RE.finditer(text)] if _AMOUNT_HINT.search(text) else []


# Words that make an amount the debt's (欠的三千 / 三千块都拖半年 / 这三千什么时候还), looked for
# shortly before or after it. An amount without one (一个月才挣三千块 / 借我五百) is some other
# number, and a rewrite that called it the debt would state a fact the speaker never said.
_DEBT_CUE = re.compile(r"欠|逾期|拖|处理|缴|支付|付清|交(?:钱|上|齐|清)|账单|本金|利息|罚息|违约金|余额|结清|分期|透支|贷|债|应缴|未缴|待缴|最低"
                       # 还 as repaying, not as "still / also" (还好意思 / 还有)
                       r"|借|[没未要得归偿快先去时么]还|还(?:款|钱|清|上|完|掉|了|得|这|那|给|不(?![错好如行]))|还(?=[?？。，,!！]|$)")
_CUE_BEFORE, _CUE_AFTER = 10, 8


def debt_amounts_in(text: str) -> list[str]:
    """The amounts of ``text`` said of the debt (a debt word within a few characters of them)."""
    return [m.group(0) for m in AMOUNT_RE.finditer(text)
            if _DEBT_CUE.search(text, max(0, m.start() - _CUE_BEFORE), min(len(text), m.end() + _CUE_AFTER))
            ] if _AMOUNT_HINT.search(text) else []


def dates_in(text: str) -> list[str]:
    return [m.group(0) for m in DATE_RE.finditer(text)] if _DATE_HINT.search(text) else []


def extract_facts(text: str, identifier: str | None = None) -> dict[str, str]:
    facts: dict[str, str] = {}
    if amounts := debt_amounts_in(text):
        facts["amount"] = amounts[0]
    if dates := dates_in(text):
        facts["date"] = dates[0]
    if m := TAIL_RE.search(text):
        facts["tail4"] = m.group(0)[-4:]
    if identifier:
        facts["tail4"] = pii.tail4(identifier)
        facts["masked"] = pii.mask_identifier(identifier)
    return facts


SIGNATURE = re.compile(r"^\s*([【\[][^】\]]{1,24}[】\]])")


def keep_facts(replaced: str, suggestion: str, lenders: Iterable[str] = (), hit_start: int | None = None,
               debt_facts: bool = True) -> str:
    """Make sure the amounts, dates and lender in the replaced text survive the fix, and nothing more.

    A template that already carries them ({amount}, {date}) is left alone;
    otherwise a short factual lead-in is put before the suggestion. It states
    only what the replaced text stated: a date is mentioned as a reference
    (关于月底的还款安排), never as an agreement (约定的时间是…: a date in a threat is
    a deadline the speaker set, not one the debtor agreed to), a deferral or
    any other commitment. With ``debt_facts=False`` (the listener is a third
    party) no amount or date of the debt is kept at all. An SMS signature (【某某银行】) at the start of
    the replaced text stays in front, unless the violation starts inside it
    (a fake court's letterhead is the violation, not a fact). ``lenders`` are
    the lender names the caller found in the replaced text outside the
    violating span.
    """
    sig = SIGNATURE.match(replaced)
    if sig and hit_start is not None and hit_start < sig.end():
        sig = None
    signature = sig.group(1) if sig and sig.group(1) not in suggestion else ""
    body = replaced[sig.end():] if sig else replaced
    amounts = [a for a in debt_amounts_in(body) if a not in suggestion] if debt_facts else []
    dates = [d for d in dates_in(body) if d not in suggestion] if debt_facts else []
    names = [n for n in dict.fromkeys(lenders) if n not in suggestion and n not in signature]
    if not amounts and not dates and not names:
        return signature + suggestion
    where = f"在{'、'.join(names)}的" if names else "的"
    lead = f"您{where}欠款金额为{'、'.join(dict.fromkeys(amounts))}，" if amounts else (
        f"关于您{where}账户，" if names else "")
    if dates:  # the date the turn mentioned, as a reference: not an agreement, deadline or promise
        lead += f"关于{'、'.join(dict.fromkeys(dates))}的还款安排，"
    return signature + (lead + suggestion if suggestion else lead.rstrip("，"))


# A sentence a deletion left behind that cannot stand: it starts with a particle or a
# function word that needed what was deleted (的到底还不还 / 了吗 / 把钱…), or says nothing.
_FRAGMENT_START = re.compile(r"^[的地得了着过吗呢吧啊呀么嘛]|^(?:是|把|被|给|和|跟|就|都|也|还是|而且|并且|所以|但是)(?=[^，,。！？!?]{0,2}[，,。！？!?]|$)")
_CONTENT = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")
# …or it ends on a preposition or a word whose object was deleted (…，跟 / 你这脑子像).
# A one-character preposition counts only as a clause of its own (核对 / 方向 end in 对 / 向).
_FRAGMENT_END = re.compile(r"(?:^|[，,、；;\s])(?:跟|和|与|像|比|给|把|被|对|向|往|从|连|让|叫)$|(?:就是|是个|真是|简直)$")


def is_fragment(sentence: str) -> bool:
    """Whether what a deletion left of a sentence cannot stand as a sentence of its own."""
    t = sentence.strip(" \t，,。.！!？?；;、…~")
    if not t:
        return False  # nothing left at all: the sentence was deleted whole, which is fine
    return len(_CONTENT.findall(t)) < 2 or bool(_FRAGMENT_START.match(t)) or bool(_FRAGMENT_END.search(t))


def render(template: str, facts: dict[str, str]) -> str:
    def optional(m: re.Match) -> str:
        inner = m.group(1)
        names = _PLACEHOLDER.findall(inner)
        if names and all(n in facts for n in names):
            return inner
        return "" if names else inner

    if "[" not in template and "{" not in template:
        return template
    out = _OPTIONAL.sub(optional, template)
    return _PLACEHOLDER.sub(lambda m: facts.get(m.group(1), ""), out)


def apply_fixes(text: str, fixes: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping (start, end, replacement) fixes to ``text``."""
    out: list[str] = []
    pos = 0
    for s, e, rep in sorted(fixes):
        if s < pos:
            continue  # overlapping fix: the caller resolved these; skip defensively
        before = text[pos:s]
        if not rep and (e >= len(text) or text[e] in _CLAUSE_MARKS):
            # a deleted name leaves its frame behind (真是个□。 / 你这个□，): drop the frame too
            before = _ORPHAN_FRAME.sub("", before)
        out.append(before)
        out.append(rep)
        pos = e
    out.append(text[pos:])
    return tidy("".join(out))


_CLAUSE_MARKS = frozenset("，,。！？!?；;、…~ \n")
_ORPHAN_FRAME = re.compile(r"(?:(?:你|您|他|她)(?:真|就|可|简直|还真|真的)?是?|真是|就是|简直是|还真是|简直就是)?(?:个|一个|这个|那个|这种|这样的|这号)$")
_PUNCT_RUN = re.compile(r"([，,；;、])\s*[，,；;、]+")
_LEADING = re.compile(r"^[\s，,；;、。！？!?…~]+")
_BEFORE_END = re.compile(r"[，,；;、]+(?=[。！？!?]|$)")
_DOUBLE_END = re.compile(r"([。！？!?])[，,；;、。！？!?]+")
# Two fixes that produce the same polite sentence side by side: keep one.
_REPEATED_SENTENCE = re.compile(r"([^。！？!?]{4,}[。！？!?])\1+")


_SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?])")


def _has_repeated_sentence(text: str) -> bool:
    """Cheap test for what _REPEATED_SENTENCE removes (its scan is quadratic).

    A repeat needs a sentence of 4+ characters plus its end mark that the
    preceding text ends with.
    """
    parts = _SENTENCE_SPLIT.split(text)
    return any(len(b) >= 5 and a.endswith(b) for a, b in zip(parts, parts[1:]))


def tidy(text: str) -> str:
    """Clean up punctuation left behind by deletions and replacements."""
    t = _PUNCT_RUN.sub(r"\1", text)
    t = _DOUBLE_END.sub(r"\1", t)
    if _has_repeated_sentence(t):
        t = _REPEATED_SENTENCE.sub(r"\1", t)
    t = _BEFORE_END.sub("", t)
    t = _LEADING.sub("", t)
    return t.strip()


class Intervals:
    """A set of pairwise disjoint, non-empty half-open ranges, kept sorted: ``add`` is O(log n).

    Choosing non-overlapping spans greedily asked every chosen span before;
    on a long turn with thousands of hits that was quadratic.
    """

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def overlaps(self, s: int, e: int) -> bool:
        return self.find(s, e) is not None

    def find(self, s: int, e: int) -> tuple[int, int] | None:
        """A range already in that overlaps [s, e), or None."""
        j = bisect.bisect_left(self.starts, e)  # ranges before j start before e
        if j and self.ends[j - 1] > s:  # disjoint and sorted: the last of them ends latest
            return self.starts[j - 1], self.ends[j - 1]
        return None

    def add(self, s: int, e: int) -> bool:
        """Add [s, e) unless it overlaps a range already in; say whether it went in."""
        if self.overlaps(s, e):
            return False
        j = bisect.bisect_left(self.starts, e)
        self.starts.insert(j, s)
        self.ends.insert(j, e)
        return True


def separate_fixes(fixes: list[tuple[int, int, int]]) -> list[int | None]:
    """Make the fixes of one result disjoint: for each (start, end, priority), None when it stays,
    else the position where it becomes an empty fix (the start of the wider fix that covers it).

    ``你个傻逼`` is both abuse (fix [0, 4)) and profanity (fix [2, 4)); applying
    both would cut the text twice. The wider (then higher-priority) fix is
    kept, as :func:`resolve_overlaps` keeps it for the rewrite.
    """
    out: list[int | None] = [None] * len(fixes)
    taken = Intervals()
    order = sorted(range(len(fixes)), key=lambda i: (-(fixes[i][1] - fixes[i][0]), -fixes[i][2], fixes[i][0]))
    for i in order:
        s, e, _ = fixes[i]
        if e <= s:
            continue
        hit = taken.find(s, e)
        if hit is None:
            taken.add(s, e)
        else:
            out[i] = hit[0]
    return out


def resolve_overlaps(fixes: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str]]:
    """Keep non-overlapping fixes, preferring wider ones (a clause fix covers a span fix).

    ``fixes`` items are (start, end, replacement, priority).
    """
    chosen: list[tuple[int, int, str, int]] = []
    taken = Intervals()
    for f in sorted(fixes, key=lambda f: (-(f[1] - f[0]), -f[3], f[0])):
        if taken.add(f[0], f[1]):
            chosen.append(f)
    return [(s, e, r) for s, e, r, _ in sorted(chosen)]
