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
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, NamedTuple

import numpy as np

from .features import _CONJ_N, CueMatcher, canonical, conjunction_prefixes, features, negated_starts

WEIGHTS = "weights.npz"
_MEMO_SIZE = 4096  # (sentence, setting) pairs whose scores a detector remembers
# What is not content when deciding whether a sentence says anything: punctuation, spaces, fillers.
_CONTENT_NOISE = re.compile(r"[\s\W_]|[嗯啊哦呃额唉哎呀吧呢嘛哈喂诶欸噢喔哟]")
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
    W: np.ndarray          # (features, outputs) float32
    bias: np.ndarray       # (outputs,)
    a: np.ndarray          # Platt slope per output
    b: np.ndarray          # Platt intercept per output
    columns: tuple[str, ...]
    meta: dict


def _read(path: Path) -> _Weights:
    with np.load(path, allow_pickle=False) as z:
        vocab_words = bytes(z["vocab"]).decode("utf-8").split("\n")
        columns = tuple(bytes(z["columns"]).decode("utf-8").split("\n"))
        meta = json.loads(bytes(z["meta"]).decode("utf-8"))
        W = z["W"].astype(np.float32)
        bias, a, b = z["bias"].astype(np.float32), z["a"].astype(np.float32), z["b"].astype(np.float32)
    return _Weights(dict(zip(vocab_words, range(len(vocab_words)))), W, bias, a, b, columns, meta)


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
        self._fast = _FastFeatures(w.vocab, self.cues)
        self._memo: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.thresholds)

    def _index(self, feats: list[str]) -> np.ndarray:
        vocab = self._w.vocab
        return np.fromiter((vocab[f] for f in feats if f in vocab), dtype=np.int64)

    def scores(self, sentence: str, role: str, counterpart: str, channel: str,
               flags: frozenset[str] = frozenset()) -> dict[str, float]:
        """Calibrated probability of every output for one normalised sentence (the plain reference path)."""
        w = self._w
        idx = self._index(features(sentence, role, counterpart, channel, flags, self.cues))
        raw = w.W[idx].sum(axis=0) + w.bias if len(idx) else w.bias.copy()
        p = _sigmoid(w.a * raw + w.b)
        return {c: float(p[i]) for i, c in enumerate(w.columns)}

    def detect(self, text: str, sentences: list[tuple[int, int]], role: str, counterpart: str, channel: str,
               flags: frozenset[str] = frozenset(), only: frozenset[str] | None = None) -> list[ModelHit]:
        """Subtypes found in each sentence ``text[s:e]`` of the normalised text.

        ``only`` limits the categories looked at (rule selection, thresholds).
        """
        side = "agent" if role == "agent" else "customer"
        cats = [c for c in self._cats[side] if only is None or c in only]
        if not cats:
            return []
        spans = [(s, e) for s, e in sentences if len(_CONTENT_NOISE.sub("", text[s:e])) >= 2]
        if not spans:
            return []  # punctuation and fillers only (，嗯，嗯): nothing to judge
        w = self._w
        cat_cols = [self._col[f"{side}:{c}"] for c in cats]
        th = [self.thresholds.get(c, 1.1) for c in cats]
        setting = (role, counterpart, channel, flags)
        out: list[ModelHit] = []
        for s, e in spans:
            p, fids = self._score(text[s:e], setting)
            for cat, ci, t in zip(cats, cat_cols, th):
                if p[ci] < t:
                    continue
                sub_cols = self._sub_cols[cat]
                sp = sorted(zip(p[sub_cols].tolist(), self._subs[cat]), reverse=True)
                sure = [st for q, st in sp if q >= self.subtype_threshold]
                for st in sure or [sp[0][1]]:
                    ev = self._fast.evidence(fids, w.W[fids, self._col[f"{side}:{st}"]])
                    if not ev:
                        continue  # no stretch of text carries it: the setting and the prior alone do not report
                    out.append(ModelHit(s, e, cat, st, float(p[ci]), ev, bool(sure)))
        return out

    def _score(self, sentence: str, setting: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities of one normalised sentence in its setting, and its feature ids.

        Remembered for the last few thousand (sentence, setting) pairs: scripts repeat the same
        sentences all day, and a rewrite's re-check meets the sentences it kept and our own
        polite replacements again.
        """
        key = (sentence, setting)
        got = self._memo.get(key)
        if got is None:
            w = self._w
            fids = self._fast.sentence(sentence, *setting)
            raw = w.W[fids].sum(axis=0) + w.bias if len(fids) else w.bias
            got = (_sigmoid(w.a * raw + w.b), fids)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = got
        return got


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50.0, 50.0)))


class _FastFeatures:
    """The same features as :func:`features`, restricted to the known ones, found with one
    Aho-Corasick pass over the sentence instead of a Python loop per n-gram.

    Setting tokens are looked up directly; a conjunction (``T|ab``) or a
    negated n-gram (``N|ab``) is the prefixed twin of a plain 2- or 3-gram,
    found through a table.
    """

    def __init__(self, vocab: dict[str, int], cues: "CueMatcher | None" = None) -> None:
        import ahocorasick_rs

        self.cues = cues
        # (a text's own "^" or "$" as a one-character feature is left out: the markers would match it)
        plain = [g for g in vocab if "|" not in g and not (len(g) > 1 and g[1] == ":" and g[0] in "RCHFK")
                 and g not in ("^", "$")]
        self.words = plain
        self.fid = np.array([vocab[g] for g in plain], dtype=np.int64)
        self.vocab = vocab
        self.names = {i: g for g, i in vocab.items()}
        self.conj = {}
        for prefix in ("T|", "D|", "X|", "N|"):
            arr = np.array([vocab.get(prefix + g, -1) if len(g) in _CONJ_N else -1 for g in plain], dtype=np.int64)
            if (arr >= 0).any():
                self.conj[prefix] = arr
        self.ac = ahocorasick_rs.AhoCorasick(plain, matchkind=ahocorasick_rs.MatchKind.Standard) if plain else None
        self.fid_list = self.fid.tolist()
        self.conj_list = {pre: arr.tolist() for pre, arr in self.conj.items()}

    def sentence(self, sentence: str, role: str, counterpart: str, channel: str, flags: frozenset[str]) -> np.ndarray:
        """Feature ids of one sentence (the hot path: plain Python sets, no array building)."""
        t = "^" + canonical(sentence) + "$"
        hits = self.ac.find_matches_as_indexes(t, overlapping=True) if self.ac else ()
        pids = {h[0] for h in hits}
        fid = self.fid_list
        ids = {fid[i] for i in pids}
        neg = self.conj_list.get("N|")
        if neg is not None:
            scopes = negated_starts(t)
            if scopes:
                ids.update(c for pid, st, _ in hits if (c := neg[pid]) >= 0 and any(a <= st < b for a, b in scopes))
        for pre in conjunction_prefixes(counterpart, flags):
            table = self.conj_list.get(pre)
            if table is not None:
                ids.update(c for c in (table[i] for i in pids) if c >= 0)
        ids.update(self._setting_ids(role, counterpart, channel, flags))
        if self.cues is not None:
            vocab = self.vocab
            ids.update(vocab[k] for k in self.cues.tokens(t[1:-1]) if k in vocab)
        return np.fromiter(ids, dtype=np.int64, count=len(ids))

    def _setting_ids(self, role: str, counterpart: str, channel: str, flags: frozenset[str]) -> list[int]:
        vocab = self.vocab
        return [vocab[t] for t in (f"R:{role}", f"C:{counterpart}", f"H:{channel}", *(f"F:{f}" for f in sorted(flags)))
                if t in vocab]

    def evidence(self, fids: np.ndarray, contrib: np.ndarray, k: int = 3) -> tuple[str, ...]:
        names = self.names
        order = np.argsort(-contrib)
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


def _evidence(feats: list[str], idx: np.ndarray, contrib: np.ndarray, vocab: dict[str, int], k: int = 3) -> tuple[str, ...]:
    """The k text n-grams that pushed this output up most (no n-gram inside one already chosen)."""
    known = [f for f in feats if f in vocab]
    order = np.argsort(-contrib)
    chosen: list[str] = []
    for j in order:
        if contrib[j] <= 0 or len(chosen) >= k:
            break
        g = known[j].split("|", 1)[-1]
        if g[1:2] == ":":  # a setting token (R:agent), not text
            continue
        g = g.strip("^$")
        if len(g) < 2 or any(g in c or c in g for c in chosen):
            continue  # single characters explain nothing to a reviewer
        chosen.append(g)
    return tuple(chosen)


@lru_cache(maxsize=1)
def load_default() -> ModelDetector | None:
    """The shipped model, or None when the package carries no weights (a source checkout before training)."""
    p = weights_path()
    return ModelDetector(p) if p.is_file() else None
