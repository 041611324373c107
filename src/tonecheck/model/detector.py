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
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, NamedTuple

import numpy as np

from .features import features

WEIGHTS = "weights.npz"
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

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.thresholds)

    def _index(self, feats: list[str]) -> np.ndarray:
        vocab = self._w.vocab
        return np.fromiter((vocab[f] for f in feats if f in vocab), dtype=np.int64)

    def scores(self, sentence: str, role: str, counterpart: str, channel: str,
               flags: frozenset[str] = frozenset()) -> dict[str, float]:
        """Calibrated probability of every output for one normalised sentence."""
        w = self._w
        idx = self._index(features(sentence, role, counterpart, channel, flags))
        raw = w.W[idx].sum(axis=0) + w.bias if len(idx) else w.bias.copy()
        p = 1.0 / (1.0 + np.exp(-(w.a * raw + w.b)))
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
        w = self._w
        out: list[ModelHit] = []
        for s, e in sentences:
            sent = text[s:e]
            if not sent.strip():
                continue
            feats = features(sent, role, counterpart, channel, flags)
            idx = self._index(feats)
            if not len(idx):
                continue
            rows = w.W[idx]
            raw = rows.sum(axis=0) + w.bias
            p = 1.0 / (1.0 + np.exp(-(w.a * raw + w.b)))
            for cat in cats:
                ci = self._col[f"{side}:{cat}"]
                if p[ci] < self.thresholds.get(cat, 1.1):
                    continue
                subs = self._subs[cat]
                sp = [(p[self._col[f"{side}:{st}"]], st) for st in subs]
                sp.sort(reverse=True)
                sure = [st for q, st in sp if q >= self.subtype_threshold]
                for st in sure or [sp[0][1]]:
                    ev = _evidence(feats, idx, rows[:, self._col[f"{side}:{st}"]], self._w.vocab)
                    out.append(ModelHit(s, e, cat, st, float(p[ci]), ev, bool(sure)))
        return out


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
