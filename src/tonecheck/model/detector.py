"""Scoring sentences with the shipped linear model (numpy only).

One weight row per known feature and one column per output: for the agent
side the five violation categories and their subtypes, for the customer
side the risk category and its subtypes. A sentence's score for a column is
the sum of its features' weights plus a bias; Platt scaling (fitted on
held-out folds when the model was trained) turns it into a probability. A
category fires at its threshold; the subtypes of that category whose own
probability clears ``subtype_threshold`` are reported, at least the most
likely one. The features with the heaviest weights are the evidence.
"""
from __future__ import annotations

import json
import math
import mmap
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, NamedTuple

import numpy as np

from .. import native

from .features import (_CONJ_N, CLAUSE_BREAKS, FILLER_RUNS, FILLER_STOPS, FILLER_WORDS, MAX_N, NEG_REACH, NEGATORS,
                       CueMatcher, canonical, conjunction_prefixes, negated_starts)

_grams = native.load("_grams")  # the optional C path; the Python path below does the same

WEIGHTS = "weights.npz"
_MEMO_SIZE = 4096  # (sentence, setting) pairs whose scores a detector remembers
# A sentence is judged when it has two characters of content: not punctuation, space, _ or a filler.
_TWO_CONTENT_CHARS = re.compile(r"[^\W_嗯啊哦呃额唉哎呀吧呢嘛哈喂诶欸噢喔哟].*?[^\W_嗯啊哦呃额唉哎呀吧呢嘛哈喂诶欸噢喔哟]", re.S)
AGENT_CATEGORIES = ("threat", "insult", "sarcasm", "privacy", "conduct")
CUSTOMER_CATEGORIES = ("risk",)


class ModelHit(NamedTuple):
    """One subtype the model found in one sentence (offsets in the normalised text)."""

    start: int
    end: int
    category: str
    subtype: str
    probability: float  # calibrated probability of the category
    evidence: tuple[str, ...]  # the n-grams that weighed most
    sure: bool  # the subtype's own probability cleared the subtype threshold


@dataclass(frozen=True)
class _Weights:
    vocab: dict[str, int]
    stored: np.ndarray     # (features, outputs), as stored: float16 in the shipped model
    bias: np.ndarray       # (outputs,)
    a: np.ndarray          # Platt slope per output
    b: np.ndarray          # Platt intercept per output
    columns: tuple[str, ...]
    meta: dict

    @property
    def half(self) -> np.ndarray | None:
        """The stored weights when they are float16 (what the C path reads)."""
        return self.stored if self.stored.dtype == np.float16 else None

    @cached_property
    def W(self) -> np.ndarray:
        """The weights in float32 (an exact copy of float16 ones), made when first needed: the
        C path reads the stored rows, so a checker using it never holds these 24 MB."""
        return self.stored if self.stored.dtype == np.float32 else self.stored.astype(np.float32)


def _read(path: Path) -> _Weights:
    with np.load(path, allow_pickle=False) as z:
        vocab_words = bytes(z["vocab"]).decode("utf-8").split("\n")
        columns = tuple(bytes(z["columns"]).decode("utf-8").split("\n"))
        meta = json.loads(bytes(z["meta"]).decode("utf-8"))
        stored = z["W"]
        bias, a, b = z["bias"].astype(np.float32), z["a"].astype(np.float32), z["b"].astype(np.float32)
    return _Weights(dict(zip(vocab_words, range(len(vocab_words)))), stored, bias, a, b, columns, meta)


def _line_rows(half: np.ndarray) -> np.ndarray:
    """The float16 weights with each row padded to a multiple of 32 columns, 64-byte aligned.

    A sentence sums about 200 rows scattered over the matrix: at 28 float32 columns a row
    spans two or three cache lines, at 32 float16 columns exactly one. Where Linux offers it,
    the matrix lives in its own mapping advised to use huge pages, so that the rows' pages
    do not miss the TLB as well.
    """
    rows, cols = half.shape
    stride = -(-cols // 32) * 32
    size = rows * stride
    out = None
    if size * 2 >= 1 << 21 and hasattr(mmap, "MADV_HUGEPAGE") and hasattr(mmap, "MAP_ANONYMOUS"):
        try:
            buf = mmap.mmap(-1, size * 2, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            buf.madvise(mmap.MADV_HUGEPAGE)
            out = np.frombuffer(buf, dtype=np.float16, count=size).reshape(rows, stride)
        except (OSError, ValueError):
            out = None
    if out is None:
        raw = np.zeros(size + 32, dtype=np.float16)
        skip = (-raw.ctypes.data % 64) // 2
        out = raw[skip:skip + size].reshape(rows, stride)
    out[:, :cols] = half
    return out


def weights_path() -> Path:
    return Path(str(resources.files("tonecheck.model") / WEIGHTS))


class ModelDetector:
    """The trained detector with its thresholds (per category, calibrated probabilities)."""

    def __init__(self, path: str | Path | None = None, thresholds: Mapping[str, float] | None = None) -> None:
        self.path = Path(path) if path is not None else weights_path()
        w = _read(self.path)
        self._w = w
        self.version: str = w.meta.get("version", "")
        self.thresholds: dict[str, float] = dict(w.meta.get("thresholds", {}))
        for cat, t in (thresholds or {}).items():
            if cat not in self.thresholds:
                raise ValueError(f"model threshold for unknown category {cat!r} "
                                 f"(known: {', '.join(sorted(self.thresholds))})")
            if not 0.0 < float(t) <= 1.0:
                raise ValueError(f"model threshold for {cat!r} must be in (0, 1], not {t!r}")
            self.thresholds[cat] = float(t)
        self.subtype_threshold: float = float(w.meta.get("subtype_threshold", 0.5))
        self._col = {c: i for i, c in enumerate(w.columns)}
        self._cats = {side: [c for c in cats if f"{side}:{c}" in self._col]
                      for side, cats in (("agent", AGENT_CATEGORIES), ("customer", CUSTOMER_CATEGORIES))}
        self._subs = {cat: [c.split(":", 1)[1] for c in w.columns if c.split(":", 1)[1].startswith(cat + ".")]
                      for cats in self._cats.values() for cat in cats}
        self._sub_cols = {cat: np.array([self._col[f"{side}:{st}"] for st in self._subs[cat]], dtype=np.int64)
                          for side, cats in self._cats.items() for cat in cats}
        self.cues = CueMatcher(w.meta["cue_classes"]) if w.meta.get("cue_classes") else None
        # Each category column's threshold as float32 (what detect compares its probability with):
        # the C path reports which columns reach theirs, so most sentences need no look at all.
        gates = np.full(len(w.columns), np.inf, dtype=np.float32)
        for side, cats in self._cats.items():
            for c in cats:
                gates[self._col[f"{side}:{c}"]] = self._threshold32(c)
        self._fast = _FastFeatures(w.vocab, self.cues, weights=w, gates=gates)
        self._memo = _Memo(_MEMO_SIZE)
        self._plans: dict[tuple, tuple[int, list]] = {}

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.thresholds)

    def scores(self, sentence: str, role: str, counterpart: str, channel: str,
               flags: frozenset[str] = frozenset()) -> dict[str, float]:
        """Calibrated probability of every output for one normalised sentence, as :meth:`detect`
        computes it (each feature counted once, as in training)."""
        p = self._fast.probabilities(self._w, self._fast.sentence(sentence, role, counterpart, channel, flags))
        return dict(zip(self._w.columns, p))

    def detect(self, text: str, sentences: list[tuple[int, int]], role: str, counterpart: str, channel: str,
               flags: frozenset[str] = frozenset(), only: frozenset[str] | None = None,
               evidence: bool = True) -> list[ModelHit]:
        """Subtypes found in each sentence ``text[s:e]`` of the normalised text.

        ``only`` limits the categories looked at (rule selection, thresholds). With
        ``evidence=False`` the hits carry no evidence n-grams (:meth:`evidence` gives them
        later): a caller that only confirms rule findings or re-checks a rewrite needs none.
        """
        side = "agent" if role == "agent" else "customer"
        planned = self._plans.get((side, only))
        if planned is None:
            plan = self._plan(side, only)
            planned = self._plans[(side, only)] = (sum(1 << ci for _, ci, *_ in plan), plan)
        looked, plan = planned
        if not plan:
            return []
        out: list[ModelHit] = []
        setting = (role, counterpart, channel, flags)
        memo = self._memo.table(setting)
        for s, e in sentences:
            sentence = text[s:e]
            scored = memo.get(sentence, _UNSEEN)
            if scored is _UNSEEN:
                # Punctuation and fillers only (，嗯，嗯): nothing to judge, remembered as such.
                scored = self._fast.scored(self._w, sentence, *setting) if _TWO_CONTENT_CHARS.search(sentence) else None
                self._memo.put(memo, sentence, scored)
            if scored is None:
                continue
            if scored.fired is not None and not scored.fired & looked:
                continue  # no category looked at reaches its threshold (the C path says so at once)
            p = scored.p
            fids = None
            for cat, ci, t, sub_cols, subs in plan:
                if p[ci] < t:
                    continue
                sp = sorted(zip([p[j] for j in sub_cols], subs), reverse=True)
                sure = [st for q, st in sp if q >= self.subtype_threshold]
                for st in sure or [sp[0][1]]:
                    col = self._col[f"{side}:{st}"]
                    if evidence:
                        if fids is None:
                            fids = self._fast.sentence(text[s:e], *setting)
                        ev: tuple[str, ...] | None = self._fast.evidence(fids, self._column(fids, col)) or None
                    else:
                        ev = () if scored.carried(col, self._w, self._fast) else None
                    if ev is None:
                        continue  # no stretch of text carries it: the setting and the prior alone do not report
                    out.append(ModelHit(s, e, cat, st, p[ci], ev, bool(sure)))
        return out

    def _plan(self, side: str, only: frozenset[str] | None) -> list[tuple[str, int, float, list[int], list[str]]]:
        """Per category looked at: its column, its threshold (as float32, the precision of the
        probabilities it is compared with), its subtypes' columns and names."""
        return [(c, self._col[f"{side}:{c}"], float(self._threshold32(c)),
                 self._sub_cols[c].tolist(), list(self._subs[c]))
                for c in self._cats[side] if only is None or c in only]

    def _threshold32(self, category: str) -> np.float32:
        """A category's threshold at the precision of the probabilities compared with it (a
        category without one never fires)."""
        return np.float32(self.thresholds.get(category, 1.1))

    def evidence(self, sentence: str, subtype: str, role: str, counterpart: str, channel: str,
                 flags: frozenset[str] = frozenset()) -> tuple[str, ...]:
        """The n-grams that weighed most for ``subtype`` in one normalised sentence."""
        side = "agent" if role == "agent" else "customer"
        fids = self._fast.sentence(sentence, role, counterpart, channel, flags)
        return self._fast.evidence(fids, self._column(fids, self._col[f"{side}:{subtype}"]))

    def _column(self, fids: np.ndarray, col: int) -> np.ndarray:
        """The weights of features ``fids`` for output ``col`` (from the C path's float16 rows
        where they are loaded: the same values as the float32 copy, which then need not be made)."""
        half = self._fast.half
        return half[fids, col] if half is not None else self._w.W[fids, col]

    def forget(self) -> None:
        """Drop the remembered sentences (benchmarks measure first contact with this)."""
        self._memo.clear()


class _Memo:
    """Scores of the last few thousand (sentence, setting) pairs: scripts repeat the same
    sentences all day, and a rewrite's re-check meets the sentences it kept and our own polite
    replacements again. One table per setting, so that a lookup hashes the sentence alone; when
    full, the oldest entry of the setting being added to goes (of another setting when it has
    none)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.count = 0
        self.by_setting: dict[tuple, OrderedDict[str, "_Scored | None"]] = {}

    def table(self, setting: tuple) -> "OrderedDict[str, _Scored | None]":
        got = self.by_setting.get(setting)
        if got is None:
            got = self.by_setting[setting] = OrderedDict()
        return got

    def put(self, table: "OrderedDict[str, _Scored | None]", sentence: str, scored: "_Scored | None") -> None:
        if self.count >= self.size:
            victim = table if table else next(t for t in self.by_setting.values() if t)
            victim.popitem(last=False)
            self.count -= 1
        table[sentence] = scored
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def clear(self) -> None:
        self.by_setting.clear()
        self.count = 0


_UNSEEN = object()


class _Scored:
    """One sentence's probabilities (floats, column by column) and which outputs some text n-gram
    pushes up. The C path gives both at once, with the columns that reach their thresholds
    (``fired``): the probabilities as float32 bytes (read through a memoryview when a column
    fired), the outputs as bit masks; a remembered sentence then keeps about 150 bytes instead of
    its feature ids and a list of float objects. The Python path keeps the probabilities as a
    list and the feature ids, and works the outputs out when first asked (``fired`` is None)."""

    __slots__ = ("_p", "_raw", "_mask", "_fids", "_carried", "fired")

    def __init__(self, p: "list[float] | bytes", mask: int | None = None, fids: np.ndarray | None = None,
                 fired: int | None = None) -> None:
        self._p = None if isinstance(p, bytes) else p
        self._raw = p if isinstance(p, bytes) else None
        self._mask = mask
        self._fids = fids
        self._carried: dict[int, bool] | None = None
        self.fired = fired

    @property
    def p(self) -> "list[float] | memoryview":
        if self._p is None:
            self._p = memoryview(self._raw).cast("f")
        return self._p

    def carried(self, col: int, w: "_Weights", fast: "_FastFeatures") -> bool:
        """Whether a text n-gram of two characters or more weighs for output ``col`` (what
        :meth:`_FastFeatures.evidence` would show something for)."""
        if self._mask is not None:
            return bool(self._mask >> col & 1)
        if self._carried is None:
            self._carried = {}
        got = self._carried.get(col)
        if got is None:
            fids = self._fids
            got = self._carried[col] = any(map(fast.shows_text, fids[w.W[fids, col] > 0].tolist()))
        return got


# The order of the conjunction twins in the C table after N| (bits 1, 2, 4 of its prefix mask).
_TWIN_ORDER = ("T|", "D|", "X|")


def _calibrated(w: "_Weights", fids: np.ndarray) -> list[float]:
    """Probability of every output: the logit in float32 (weight rows summed in order, bias,
    Platt slope and intercept), clipped to [-50, 50], its sigmoid in double precision rounded
    once to float32. The C path computes the same bits."""
    raw = w.W[fids].sum(axis=0) + w.bias if len(fids) else w.bias
    x = np.clip(w.a * raw + w.b, -50.0, 50.0).tolist()
    return np.array([1.0 / (1.0 + math.exp(-v)) for v in x], dtype=np.float32).tolist()


class _FastFeatures:
    """The same features as :func:`features`, restricted to the known ones.

    Where ``tonecheck._grams`` was built, its table finds them (and, holding the weights,
    scores a whole sentence in one call: :meth:`scored`). Otherwise every n-gram of the
    sentence is sliced once and looked up once in plain dictionaries. Setting tokens are
    looked up directly; a conjunction (``T|ab``) or a negated n-gram (``N|ab``) is the prefixed
    twin of a plain 2- or 3-gram, found through its own dictionary.
    """

    def __init__(self, vocab: dict[str, int], cues: "CueMatcher | None" = None, accelerated: bool = True,
                 weights: "_Weights | None" = None, gates: np.ndarray | None = None) -> None:
        self.cues = cues
        # (a text's own "^" or "$" as a one-character feature is left out: the markers would match it)
        plain = [g for g in vocab if "|" not in g and not (g[1:2] == ":" and g[0] in "RCHFK") and g not in ("^", "$")]
        if any(not 1 <= len(g) <= MAX_N for g in plain):
            raise ValueError(f"model vocabulary has text features longer than {MAX_N} characters")
        self.vocab = vocab
        # The prefixed twins of plain 2- and 3-grams, found from the (fewer) prefixed features.
        self.twins: dict[str, dict[str, int]] = {}
        for g, i in vocab.items():
            if g[1:2] == "|" and g[:2] in ("T|", "D|", "X|", "N|") and len(g) - 2 in _CONJ_N:
                self.twins.setdefault(g[:2], {})[g[2:]] = i
        self._settings: dict[tuple, tuple[list[int], int]] = {}
        self._shows: dict[int, bool] = {}  # shows_text, remembered per feature
        if cues is not None:
            cues.bind(vocab)
        self.table = None
        self._c_cues = False
        self.half: np.ndarray | None = None  # the C path's copy of the weights (_line_rows)
        self._in_c = False  # whether the C table scores whole sentences (score())
        self._negation = "N|" in self.twins
        self.plain: dict[str, int] = {}  # the Python path's table (empty when the C table serves)
        if _grams is not None and accelerated:
            self._build_table(plain, cues, weights, gates)
        if self.table is None:
            self.plain = {g: vocab[g] for g in plain}

    def _build_table(self, plain: list[str], cues: "CueMatcher | None", weights: "_Weights | None",
                     gates: np.ndarray | None) -> None:
        """The C table of the known n-grams (with the cue words and the weights where it can take
        them). A vocabulary it cannot hold (more distinct characters than its codes) stays with
        the Python path."""
        vocab = self.vocab
        # n-grams with a twin but no plain feature of their own still need an entry
        known = set(plain)
        words = plain + sorted({g for twins in self.twins.values() for g in twins if g not in known})
        cols = [[vocab[g] for g in plain] + [-1] * (len(words) - len(plain))]
        at = {g: i for i, g in enumerate(words)}
        for pre in ("N|", *_TWIN_ORDER):  # filled from the (few) twins, not looked up for every word
            col = [-1] * len(words)
            for g, i in self.twins.get(pre, {}).items():
                col[at[g]] = i
            cols.append(col)
        try:
            table = _grams.Table(words, *cols)
        except ValueError:
            return
        table.set_language(FILLER_RUNS, FILLER_WORDS, FILLER_STOPS, NEGATORS, CLAUSE_BREAKS, NEG_REACH)
        cue_args = cues.table_args(_grams.MAX_CUE) if cues is not None else None
        if cue_args is not None:
            table.set_cues(*cue_args)
        self.table = table
        self._c_cues = cue_args is not None
        if weights is not None and weights.half is not None and (cues is None or self._c_cues):
            self.half = _line_rows(weights.half)
            table.set_weights(self.half, len(weights.bias), weights.bias, weights.a, weights.b, gates)
            self._in_c = True

    @cached_property
    def names(self) -> dict[int, str]:
        """Feature id -> feature (built when first explained: most checks never need it)."""
        return dict(zip(self.vocab.values(), self.vocab))

    def shows_text(self, fid: int) -> bool:
        """Whether feature ``fid`` is a text n-gram of two characters or more (not a setting or
        cue token): what :meth:`evidence` could show a reviewer."""
        got = self._shows.get(fid)
        if got is None:
            t = self.names[fid].split("|", 1)[-1]
            got = self._shows[fid] = t[1:2] != ":" and len(t.strip("^$")) >= 2
        return got

    def sentence(self, sentence: str, role: str, counterpart: str, channel: str, flags: frozenset[str]) -> np.ndarray:
        """Feature ids of one sentence, ascending (one summation order for every path)."""
        if self.table is not None:
            t = "^" + self.table.canonical(sentence) + "$"
            extra, mask = self._setting(role, counterpart, channel, flags)
            if self.cues is not None and not self._c_cues:
                extra = extra + self.cues.token_ids(t[1:-1])
            return np.frombuffer(self.table.grams(t, self._negation, mask, extra, self._c_cues), dtype=np.int64)
        t = "^" + canonical(sentence) + "$"
        n = len(t)
        two = [t[i:i + 2] for i in range(n - 1)]
        three = [t[i:i + 3] for i in range(n - 2)]
        get = self.plain.get
        ids = set(map(get, t))  # the markers are no feature
        ids.update(map(get, two))
        ids.update(map(get, three))
        ids.update(map(get, [t[i:i + 4] for i in range(n - 3)]))
        neg = self.twins.get("N|")
        if neg is not None:
            for a, b in negated_starts(t):
                ids.update(neg.get(t[i:i + k]) for i in range(a, b) for k in _CONJ_N)
        for pre in conjunction_prefixes(counterpart, flags):
            twins = self.twins.get(pre)
            if twins is not None:
                ids.update(map(twins.get, two))
                ids.update(map(twins.get, three))
        ids.discard(None)
        ids.update(self._setting(role, counterpart, channel, flags)[0])
        if self.cues is not None:
            ids.update(self.cues.token_ids(t[1:-1]))
        out = np.fromiter(ids, dtype=np.int64, count=len(ids))
        out.sort()
        return out

    def scored(self, w: "_Weights", sentence: str, role: str, counterpart: str, channel: str,
               flags: frozenset[str]) -> _Scored:
        """One normalised sentence scored: one C call where the C table holds the weights, else
        :meth:`sentence` and :meth:`probabilities`."""
        if self._in_c:
            extra, mask = self._setting(role, counterpart, channel, flags)
            p, carried, fired = self.table.score(sentence, self._negation, mask, extra, self._c_cues)
            return _Scored(p, mask=carried, fired=fired)
        fids = self.sentence(sentence, role, counterpart, channel, flags)
        return _Scored(self.probabilities(w, fids), fids=fids)

    def probabilities(self, w: "_Weights", fids: np.ndarray) -> list[float]:
        """Calibrated probability of every output for a sentence with these features.

        The C path sums the weight rows and applies bias, slope, intercept, the clip and the
        sigmoid exactly as :func:`_calibrated` does, so both paths give the same bits (the
        tests check it).
        """
        if self.table is None:
            return _calibrated(w, fids)
        if self.half is not None:
            return _grams.weight_sum(self.half, fids, w.bias, w.a, w.b, cols=len(w.bias))
        return _grams.weight_sum(w.W, fids, w.bias, w.a, w.b)

    def _setting(self, role: str, counterpart: str, channel: str, flags: frozenset[str]) -> tuple[list[int], int]:
        """The setting's own feature ids, and the C table's bit mask of its conjunction twins."""
        key = (role, counterpart, channel, flags)
        got = self._settings.get(key)
        if got is None:
            vocab = self.vocab
            ids = [vocab[t] for t in (f"R:{role}", f"C:{counterpart}", f"H:{channel}",
                                      *(f"F:{f}" for f in sorted(flags))) if t in vocab]
            mask = sum(1 << _TWIN_ORDER.index(p) for p in conjunction_prefixes(counterpart, flags))
            got = self._settings[key] = (ids, mask)
        return got

    def evidence(self, fids: np.ndarray, contrib: np.ndarray, k: int = 3) -> tuple[str, ...]:
        names = self.names
        order = np.argsort(-contrib, kind="stable")  # equal weights (features that always co-occur): by id
        chosen: list[str] = []
        for j in order:
            if contrib[j] <= 0 or len(chosen) >= k:
                break
            g = names[int(fids[j])].split("|", 1)[-1]
            if g[1:2] == ":":
                continue
            g = g.strip("^$")
            if len(g) < 2 or any(g in c or c in g for c in chosen):
                continue
            chosen.append(g)
        return tuple(chosen)


@lru_cache(maxsize=1)
def load_default() -> ModelDetector | None:
    """The shipped model, or None when the package carries no weights (a source checkout before training)."""
    p = weights_path()
    return ModelDetector(p) if p.is_file() else None
