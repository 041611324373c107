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
# left in, a model learns them from whichever rows happened to be transcribed speech. A filler
# is a run of one of FILLER_RUNS or one of FILLER_WORDS (tried in this order), with the text's
# start, whitespace or a FILLER_STOPS mark on both sides. (The C path reads these lists too.)
FILLER_RUNS = "嗯啊呃额哦唉"
FILLER_WORDS = ("那个", "这个", "就是说", "就是", "然后", "对吧")
FILLER_STOPS = ",.!?;:，。！？；：、…~"
_STOP_CLASS = "[\\s" + re.escape(FILLER_STOPS) + "]"
_FILLER = re.compile(f"(?:^|(?<={_STOP_CLASS}))(?:"
                     + "|".join([re.escape(c) + "+" for c in FILLER_RUNS] + [re.escape(w) for w in FILLER_WORDS])
                     + f")(?={_STOP_CLASS}|$)")


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


# Negation: a few characters after a negator, in the same clause, an n-gram is in its scope
# (我们不会去您单位: 去您单位 is denied). A copy prefixed N| lets the model learn that a denied
# threat is no threat, which plain n-grams cannot.
# NEGATORS are tried in this order (longer first); a scope ends at a CLAUSE_BREAKS mark.
NEGATORS = ("不会", "不要", "不用", "不必", "不能", "不得", "不是", "不再", "没有", "没人", "并不", "从不", "绝不",
            "无需", "别", "勿", "未", "没", "不", "冇", "唔", "覅")
CLAUSE_BREAKS = "，,。.！!？?；;：:…"
_NEGATOR = re.compile("|".join(map(re.escape, NEGATORS)))
_CLAUSE_BREAK = re.compile("[" + re.escape(CLAUSE_BREAKS) + "]")
NEG_REACH = 6


def negated_starts(t: str) -> list[tuple[int, int]]:
    """[from, to) ranges of positions in ``t`` (the ^text$ string) that lie in a negator's scope."""
    out = []
    for m in _NEGATOR.finditer(t):
        end = min(len(t), m.end() + NEG_REACH)
        b = _CLAUSE_BREAK.search(t, m.end(), end)
        if b:
            end = b.start()
        if end > m.end():
            out.append((m.end(), end))
    return out


# Word classes of the rule lexicons the model sees as cues, and the extra cues of sincere,
# lawful talk. Each present class is a feature (K:name), and so is each pair of present
# classes (K:a&b): praise next to a debt left unpaid is mock praise, praise next to a payment
# made is thanks; a prison word next to a negator is reassurance. N-grams alone cannot say "and".
CUE_CLASSES = ("sar_praise", "sar_sincere", "sar_debt_ctx", "sar_nomoney", "sar_excuse", "sar_misconduct",
               "sar_title_strong", "sar_title_weak", "sar_sneer", "sar_expert", "negator", "non_payment", "debt_word",
               "court", "thr_leg_jail", "police", "ctx_empathy", "ctx_acknowledge", "ins_good_trait", "second_person",
               "self_ref", "thr_harm_verb", "thr_audience", "thr_kin", "pri_cred", "thr_imp_official",
               "con_borrow_src", "ins_name", "ins_sb", "thr_channel", "thr_freq", "school", "note_header")
EXTRA_CUES = {
    "paid": ["准时", "按时", "还清", "结清", "已还", "提前还", "还上了", "到账了", "收到了", "已经还", "按期"],
    "thanks": ["谢谢", "感谢", "辛苦", "恭喜", "佩服", "支持", "配合", "理解您", "多谢", "唔该"],
    "lawful": ["依法", "诉讼", "起诉", "合同约定", "征信", "违约金", "法院判决", "法律程序", "按规定"],
    "refuse": ["不行", "不可以", "不允许", "公司规定", "禁止", "不能", "这个不", "谨防", "诈骗"],
}


class CueMatcher:
    """Which cue classes a text contains (one automaton over every class word)."""

    def __init__(self, classes: dict[str, list[str]]) -> None:
        import ahocorasick_rs

        self.classes = {k: list(v) for k, v in classes.items()}
        words, owner = [], []
        for name, ws in sorted(self.classes.items()):
            for w in ws:
                if w:
                    words.append(w)
                    owner.append(name)
        self.owner = owner
        self.ac = ahocorasick_rs.AhoCorasick(words, matchkind=ahocorasick_rs.MatchKind.Standard) if words else None

    def bind(self, vocab: dict[str, int]) -> None:
        """Learn the feature ids of the cue tokens a model knows (for :meth:`token_ids`)."""
        self._single = {c: vocab[f"K:{c}"] for c in self.classes if f"K:{c}" in vocab}
        self._pair = {(a, b): vocab[f"K:{a}&{b}"] for a in self.classes for b in self.classes
                      if a < b and f"K:{a}&{b}" in vocab}

    def table_args(self, longest: int) -> tuple | None:
        """What the C table needs to find the cue tokens itself (``Table.set_cues``), or None when
        a cue word is longer than ``longest`` or holds a sentence mark (^ or $: the C table
        searches the marked sentence)."""
        if any(len(w) > longest or "^" in w or "$" in w for ws in self.classes.values() for w in ws):
            return None
        names = sorted(self.classes)
        index = {c: i for i, c in enumerate(names)}
        words, classes = [], []
        for c in names:
            for w in self.classes[c]:
                if w:
                    words.append(w)
                    classes.append(index[c])
        single = [self._single.get(c, -1) for c in names]
        pair = [self._pair.get((a, b), -1) if a < b else -1 for a in names for b in names]
        return words, classes, len(names), single, pair

    def token_ids(self, text: str) -> list[int]:
        """The known feature ids of :meth:`tokens` of ``text``."""
        if self.ac is None:
            return []
        present = sorted({self.owner[i] for i, _, _ in self.ac.find_matches_as_indexes(text, overlapping=True)})
        single, pair = self._single, self._pair
        out = [single[c] for c in present if c in single]
        out += [f for j, a in enumerate(present) for b in present[j + 1:] if (f := pair.get((a, b))) is not None]
        return out

    def tokens(self, text: str) -> list[str]:
        if self.ac is None:
            return []
        present = sorted({self.owner[i] for i, _, _ in self.ac.find_matches_as_indexes(text, overlapping=True)})
        out = [f"K:{c}" for c in present]
        out += [f"K:{a}&{b}" for i, a in enumerate(present) for b in present[i + 1:]]
        return out


def cue_classes(lexicon_classes: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """The cue word lists a model is trained with (stored in its weights, so inference matches)."""
    out = {c: list(lexicon_classes.get(c, ())) for c in CUE_CLASSES}
    out.update({f"x_{k}": v for k, v in EXTRA_CUES.items()})
    return out


def conjunction_prefixes(counterpart: str, flags: frozenset[str]) -> list[str]:
    """The setting conjunctions an n-gram is also counted under: to a third party (T|), after a
    distress remark (D|), in a dispute (X|). One definition for both feature paths."""
    out = []
    if counterpart == "third_party":
        out.append("T|")
    if "distress" in flags:
        out.append("D|")
    if "dispute" in flags:
        out.append("X|")
    return out


def features(sentence: str, role: str, counterpart: str, channel: str, flags: frozenset[str] = frozenset(),
             cues: CueMatcher | None = None) -> list[str]:
    """Feature strings of one sentence (already normalised) in its setting."""
    text = canonical(sentence)
    grams = ngrams(text)
    out = grams + [f"R:{role}", f"C:{counterpart}", f"H:{channel}"] + [f"F:{f}" for f in sorted(flags)]
    if cues is not None:
        out += cues.tokens(text)
    scopes = negated_starts("^" + text + "$")
    if scopes:
        t = "^" + text + "$"
        out.extend("N|" + t[i:i + k] for a, b in scopes for i in range(a, b) for k in _CONJ_N if i + k <= len(t))
    prefixes = conjunction_prefixes(counterpart, flags)
    if prefixes:
        mid = [g for g in grams if len(g) in _CONJ_N]
        for p in prefixes:
            out.extend(p + g for g in mid)
    return out
