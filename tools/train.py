#!/usr/bin/env python3
"""Train the detector that ships beside the rules (deterministic; needs the [train] extra).

Usage:
    python tools/train.py                     # train on corpus/corpus.jsonl, write src/tonecheck/model/weights.npz
    python tools/train.py --cv                # + author-grouped 5-fold cross-validation report
    python tools/train.py --loao --no-write   # leave-one-author-out cross-validation only
    python tools/train.py --raw ...           # use the authors' own labels in corpus/raw/ (before adjudication)

Every row of the corpus becomes one training example per sentence (the
engine's own sentences of the normalised text). A sentence carries a label
when the row's evidence for that label lies in it; a multi-sentence row with
a label that has no evidence trains once, as a whole, with all its labels (its
sentences would otherwise train as clean for that label). Rows with context
get the dialogue flags the library itself derives from those turns.

One logistic regression per output (agent side: the five violation
categories and their subtypes; customer side: risk and its subtypes), over
binary character n-gram features (see tonecheck.model.features). Scores are
calibrated with Platt scaling fitted on out-of-fold predictions (folds
grouped by author, so no author is scored by a model that saw their rows),
and each category's threshold is chosen on those predictions: the lowest
at which what the model adds to the rules keeps precision at or above
--precision (default 0.8) and adds at most --max-fpr (default 0.3 %) false
alarms on clean rows. Seeds and orders are fixed: the
same corpus gives the same weights.
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import hashlib
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

AGENT_SUBTYPES = ("threat.violence", "threat.exposure", "threat.harassment", "threat.family", "threat.legal_false",
                  "threat.impersonation", "insult.abuse", "insult.profanity", "insult.demeaning",
                  "sarcasm.mock_praise", "sarcasm.mock_respect", "sarcasm.ridicule", "privacy.pii_exposure",
                  "privacy.third_party_disclosure", "privacy.credential_request", "conduct.improper_payment",
                  "conduct.private_channel", "conduct.dismiss_distress", "conduct.ignore_dispute")
RISK_SUBTYPES = ("risk.complaint", "risk.self_harm", "risk.hardship")
AGENT_CATS = ("threat", "insult", "sarcasm", "privacy", "conduct")


def columns() -> list[str]:
    return ([f"agent:{c}" for c in AGENT_CATS] + [f"agent:{s}" for s in AGENT_SUBTYPES]
            + ["customer:risk"] + [f"customer:{s}" for s in RISK_SUBTYPES])


# -- data -----------------------------------------------------------------------------------------

def load_rows(raw: bool) -> list[dict]:
    if raw:
        rows = []
        for path in sorted(glob.glob(str(ROOT / "corpus" / "raw" / "*.jsonl"))):
            author = Path(path).stem
            for line in open(path, encoding="utf-8"):
                if line.strip():
                    r = json.loads(line)
                    r.setdefault("author", author)
                    rows.append(r)
        return rows
    path = ROOT / "corpus" / "corpus.jsonl"
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def _norm_span(norm, start: int, end: int) -> tuple[int, int] | None:
    """Normalised offsets covering original [start, end)."""
    idx = [i for i, o in enumerate(norm.origin) if start <= o < end]
    return (idx[0], idx[-1] + 1) if idx else None


def examples(rows: list[dict], checker) -> list[dict]:
    """One training example per (row, sentence): normalised text, setting, labels, author."""
    from tonecheck.engine import sentence_spans
    from tonecheck.normalize import normalize

    out = []
    for r in rows:
        role, cp, ch = r["role"], r["counterpart"], r["channel"]
        flags: frozenset[str] = frozenset()
        if r.get("context"):
            inferred, flags = checker.context_after(r["context"], cp)
            if cp == "unknown":
                cp = inferred
        norm = normalize(r["text"])
        sents = sentence_spans(norm) or [(0, len(norm.text))]
        labels = list(r.get("labels", []))
        ev = r.get("evidence") or {}
        per = [set() for _ in sents]
        whole: set[str] = set()
        for lab in labels:
            span = ev.get(lab)
            pos = r["text"].find(span) if span else -1
            if len(sents) == 1:
                per[0].add(lab)
                continue
            ns = _norm_span(norm, pos, pos + len(span)) if pos >= 0 else None
            hit = [i for i, (a, b) in enumerate(sents) if ns and a < ns[1] and ns[0] < b]
            if hit:
                for i in hit:
                    per[i].add(lab)
            else:
                whole.add(lab)
        base = {"role": role, "counterpart": cp, "channel": ch, "flags": flags, "author": r["author"], "row": r["id"]}
        if whole:
            # A label we cannot place in one sentence: its sentences would train as clean for it,
            # so the row trains once, as a whole, with all its labels.
            out.append({**base, "text": norm.text, "labels": set(labels), "whole": True})
            continue
        for (a, b), labs in zip(sents, per):
            out.append({**base, "text": norm.text[a:b], "labels": labs, "whole": False})
    return out


def targets(exs: list[dict]) -> np.ndarray:
    cols = columns()
    Y = np.zeros((len(exs), len(cols)), dtype=np.int8)
    ci = {c: i for i, c in enumerate(cols)}
    for k, e in enumerate(exs):
        side = "agent" if e["role"] == "agent" else "customer"
        for lab in e["labels"]:
            Y[k, ci[f"{side}:{lab}"]] = 1
            Y[k, ci[f"{side}:{lab.split('.')[0]}"]] = 1
    return Y


# -- features -------------------------------------------------------------------------------------

def featurize(exs: list[dict], min_df: int, max_features: int, cues=None):
    from scipy import sparse

    from tonecheck.model.features import features

    feats = [sorted(set(features(e["text"], e["role"], e["counterpart"], e["channel"], e["flags"], cues))) for e in exs]
    df = Counter(f for fs in feats for f in fs)
    vocab = sorted((f for f, n in df.items() if n >= min_df), key=lambda f: (-df[f], f))[:max_features]
    vocab.sort()
    index = {f: i for i, f in enumerate(vocab)}
    rows, cols = [], []
    for k, fs in enumerate(feats):
        for f in fs:
            j = index.get(f)
            if j is not None:
                rows.append(k)
                cols.append(j)
    X = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(exs), len(vocab)))
    return X, vocab


# -- models ---------------------------------------------------------------------------------------

def column_rows(Y: np.ndarray, side_mask: dict[str, np.ndarray], j: int) -> np.ndarray:
    """The examples an output is trained and calibrated on.

    A category sees every example of its side; a subtype only the examples of
    its category, so its probability is P(subtype | category): which kind of
    threat, given that it is one.
    """
    col = columns()[j]
    side, name = col.split(":")
    rows = side_mask[side]
    if "." in name:
        parent = columns().index(f"{side}:{name.split('.')[0]}")
        rows = rows & (Y[:, parent] == 1)
    return rows


def fit_columns(X, Y, side_mask: dict[str, np.ndarray], C: float):
    """One L2 logistic regression per output (see column_rows). Returns (W, bias)."""
    from sklearn.linear_model import LogisticRegression

    cols = columns()
    W = np.zeros((X.shape[1], len(cols)), dtype=np.float32)
    bias = np.full(len(cols), -10.0, dtype=np.float32)
    for j, col in enumerate(cols):
        rows = column_rows(Y, side_mask, j)
        y = Y[rows, j]
        if y.sum() == 0 or y.sum() == len(y):
            continue
        m = LogisticRegression(C=C, solver="liblinear", max_iter=200, random_state=0)
        m.fit(X[rows], y)
        W[:, j] = m.coef_[0]
        bias[j] = m.intercept_[0]
    return W, bias


def platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression

    if y.sum() == 0 or y.sum() == len(y):
        return 1.0, 0.0
    m = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    m.fit(scores.reshape(-1, 1), y)
    return float(m.coef_[0][0]), float(m.intercept_[0])


def oof_scores(X, Y, exs, side_mask, C: float, folds: list[list[str]]) -> np.ndarray:
    """Raw scores of every example from a model that did not see its author."""
    authors = np.array([e["author"] for e in exs])
    S = np.zeros(Y.shape, dtype=np.float32)
    for k, held in enumerate(folds):
        test = np.isin(authors, held)
        train = ~test
        masks = {side: m & train for side, m in side_mask.items()}
        W, b = fit_columns(X, Y, masks, C)
        S[test] = X[test] @ W + b
        print(f"  fold {k + 1}/{len(folds)}: held out {', '.join(held)}", flush=True)
    return S


def author_folds(exs: list[dict], k: int) -> list[list[str]]:
    authors = sorted({e["author"] for e in exs})
    if k <= 0 or k >= len(authors):
        return [[a] for a in authors]
    return [authors[i::k] for i in range(k)]


# -- evaluation at row level ------------------------------------------------------------------------

def rule_predictions(rows: list[dict], checker) -> dict[str, set[str]]:
    """Subtypes the rules alone find in every corpus row (its context turns checked first, as in a call)."""
    out = {}
    for r in rows:
        turns = [dict(t) for t in r.get("context", [])] + [{"speaker": r["role"], "text": r["text"]}]
        res = checker.check_conversation({"id": r["id"], "counterpart": r["counterpart"], "channel": r["channel"],
                                          "utterances": turns})
        out[r["id"]] = {f.subtype for f in res.utterances[-1].findings}
    return out


def choose_thresholds(exs, P, precision: float, max_fpr: float, rules: dict[str, set[str]] | None = None
                      ) -> dict[str, float]:
    """Per category: the lowest threshold at which the model's additions keep the fused system's
    row-level precision ≥ ``precision`` and add no more than ``max_fpr`` false alarms on clean rows.

    With ``rules`` (the rules' own findings per row) the model is judged by what it adds to them.
    """
    ci = {c: i for i, c in enumerate(columns())}
    rules = rules or {}
    out = {}
    for cat in AGENT_CATS + ("risk",):
        side = "customer" if cat == "risk" else "agent"
        col = P[:, ci[f"{side}:{cat}"]]
        by_row: dict[str, float] = defaultdict(float)
        gold: dict[str, bool] = {}
        clean: dict[str, bool] = {}
        for k, e in enumerate(exs):
            if (e["role"] == "agent") != (side == "agent"):
                continue
            by_row[e["row"]] = max(by_row[e["row"]], float(col[k]))
            gold[e["row"]] = gold.get(e["row"], False) or any(s.startswith(cat + ".") for s in e["labels"])
            clean[e["row"]] = clean.get(e["row"], True) and not e["labels"]
        rows = list(by_row)
        by_rules = {r for r in rows if any(s.startswith(cat + ".") for s in rules.get(r, ()))}
        n_clean = max(1, sum(clean[r] for r in rows))
        n_gold = max(1, sum(gold[r] for r in rows))
        best, best_f1 = 0.95, -1.0
        for t in np.round(np.arange(0.30, 0.96, 0.01), 2):
            fired = [r for r in rows if by_row[r] >= t or r in by_rules]
            added_fp_clean = sum(clean[r] for r in fired if r not in by_rules)
            tp = sum(gold[r] for r in fired)
            prec = tp / len(fired) if fired else 0.0
            rec = tp / n_gold
            f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
            # the best F1 among thresholds whose additions stay within the false-alarm budget
            # and whose added findings are themselves mostly right
            added = [r for r in fired if r not in by_rules]
            added_prec = sum(gold[r] for r in added) / len(added) if added else 1.0
            if added_fp_clean / n_clean <= max_fpr and added_prec >= precision and f1 > best_f1:
                best, best_f1 = float(t), f1
        out[cat] = best
    return out


def fused_report(exs, P, thresholds, sub_t: float, rules: dict[str, set[str]]) -> dict:
    """Row-level figures of rules alone and of rules plus the (out-of-fold) model."""
    cols = columns()
    ci = {c: i for i, c in enumerate(cols)}
    model_pred: dict[str, set[str]] = defaultdict(set)
    gold: dict[str, set[str]] = defaultdict(set)
    role: dict[str, str] = {}
    for k, e in enumerate(exs):
        side = "agent" if e["role"] == "agent" else "customer"
        role[e["row"]] = side
        gold[e["row"]] |= e["labels"]
        for cat in (AGENT_CATS if side == "agent" else ("risk",)):
            if P[k, ci[f"{side}:{cat}"]] >= thresholds[cat]:
                subs = [s for s in (AGENT_SUBTYPES if side == "agent" else RISK_SUBTYPES) if s.startswith(cat + ".")]
                ps = sorted(((P[k, ci[f"{side}:{s}"]], s) for s in subs), reverse=True)
                sure = [s for q, s in ps if q >= sub_t]
                model_pred[e["row"]].update((cat, s, bool(sure)) for s in (sure or [ps[0][1]]))

    def metrics(pred: dict[str, set[str]]) -> dict:
        out = {}
        for cat in AGENT_CATS + ("risk",):
            tp = fp = fn = 0
            for r in role:
                g = any(s.startswith(cat + ".") for s in gold[r])
                p = any(s.startswith(cat + ".") for s in pred.get(r, ()))
                tp += g and p
                fp += p and not g
                fn += g and not p
            prec = tp / (tp + fp) if tp + fp else 0.0
            rec = tp / (tp + fn) if tp + fn else 0.0
            out[cat] = {"precision": round(prec, 3), "recall": round(rec, 3),
                        "f1": round(2 * prec * rec / (prec + rec), 3) if prec + rec else 0.0}
        clean = [r for r in role if not gold[r] and role[r] == "agent"]
        out["clean_false_alarm_rate"] = round(sum(1 for r in clean if any(
            not s.startswith("risk.") for s in pred.get(r, ()))) / max(1, len(clean)), 4)
        out["macro_f1_mission"] = round(float(np.mean([out[c]["f1"] for c in ("threat", "insult", "sarcasm", "privacy")])), 3)
        hits = total = 0
        for r in role:
            pc = {s.split(".")[0] for s in pred.get(r, ())}
            for s in gold[r]:
                if s.split(".")[0] in pc:
                    total += 1
                    hits += s in pred[r]
        out["subtype_accuracy"] = round(hits / max(1, total), 3)
        return out

    fused: dict[str, set[str]] = {}
    for r in role:
        rs = set(rules.get(r, ()))
        rule_cats = {s.split(".")[0] for s in rs}
        for cat, s, sure in model_pred.get(r, ()):
            if cat not in rule_cats or sure:
                rs.add(s)
        fused[r] = rs
    return {"rules_only": metrics(rules), "model_only": metrics({r: {s for _, s, _ in v} for r, v in model_pred.items()}),
            "rules_plus_model": metrics(fused)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--raw", action="store_true", help="train on the authors' own labels (corpus/raw)")
    ap.add_argument("--cv", action="store_true", help="report author-grouped 5-fold cross-validation")
    ap.add_argument("--loao", action="store_true", help="report leave-one-author-out cross-validation")
    ap.add_argument("--no-write", action="store_true", help="do not write the weights")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--max-features", type=int, default=400_000)
    ap.add_argument("--precision", type=float, default=0.8,
                    help="least precision of what the model adds to the rules (out-of-fold)")
    ap.add_argument("--max-fpr", type=float, default=0.003,
                    help="most false alarms per category the model may add on clean rows (out-of-fold)")
    ap.add_argument("--subtype-threshold", type=float, default=0.5)
    ap.add_argument("--report", help="write the metrics here (JSON)")
    ap.add_argument("--no-cues", action="store_true", help="leave out the word-class cue features")
    ap.add_argument("--out", default=str(ROOT / "src" / "tonecheck" / "model" / "weights.npz"))
    args = ap.parse_args(argv)

    import tonecheck

    t0 = time.time()
    checker = tonecheck.Checker(model=False) if "model" in tonecheck.Checker.__init__.__code__.co_varnames \
        else tonecheck.Checker()
    rows = load_rows(args.raw)
    exs = examples(rows, checker)
    Y = targets(exs)
    from tonecheck.model.features import CueMatcher, cue_classes

    cue_lists = cue_classes(checker.lexicon.classes) if not args.no_cues else {}
    X, vocab = featurize(exs, args.min_df, args.max_features, CueMatcher(cue_lists) if cue_lists else None)
    side_mask = {"agent": np.array([e["role"] == "agent" for e in exs]),
                 "customer": np.array([e["role"] != "agent" for e in exs])}
    corpus_hash = hashlib.sha256("\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows)
                                 .encode()).hexdigest()[:16]
    print(f"{len(rows)} rows, {len(exs)} sentences, {X.shape[1]} features, "
          f"{len({e['author'] for e in exs})} authors ({time.time() - t0:.0f} s)", flush=True)

    report: dict = {"rows": len(rows), "sentences": len(exs), "features": X.shape[1], "corpus_sha256_16": corpus_hash}
    # Out-of-fold scores for calibration and thresholds (5 folds by author), and the CV report.
    folds = author_folds(exs, 5)
    S = oof_scores(X, Y, exs, side_mask, args.C, folds)
    cols = columns()
    a = np.ones(len(cols), dtype=np.float32)
    b = np.zeros(len(cols), dtype=np.float32)
    for j, col in enumerate(cols):
        m = column_rows(Y, side_mask, j)
        a[j], b[j] = platt(S[m, j], Y[m, j])
    P = 1.0 / (1.0 + np.exp(-(a * S + b)))
    print("rules on every row ...", flush=True)
    rules = rule_predictions(rows, checker)
    thresholds = choose_thresholds(exs, P, args.precision, args.max_fpr, rules)
    report["thresholds"] = thresholds
    print("thresholds:", thresholds)
    if args.cv:
        report["cv_5fold_by_author"] = fused_report(exs, P, thresholds, args.subtype_threshold, rules)
        for k, v in report["cv_5fold_by_author"].items():
            print(k, json.dumps({c: (x["f1"] if isinstance(x, dict) else x) for c, x in v.items()}, ensure_ascii=False))
    if args.loao:
        S2 = oof_scores(X, Y, exs, side_mask, args.C, author_folds(exs, 0))
        P2 = 1.0 / (1.0 + np.exp(-(a * S2 + b)))
        report["cv_leave_one_author_out"] = fused_report(exs, P2, thresholds, args.subtype_threshold, rules)
        for k, v in report["cv_leave_one_author_out"].items():
            print(k, json.dumps({c: (x["f1"] if isinstance(x, dict) else x) for c, x in v.items()}, ensure_ascii=False))

    if not args.no_write:
        W, bias = fit_columns(X, Y, side_mask, args.C)
        keep = np.abs(W).max(axis=1) >= 1e-3  # features no output uses are not shipped
        W, vocab = W[keep], [v for v, k in zip(vocab, keep) if k]
        meta = {"version": f"{dt.date.today().isoformat()}-{corpus_hash}", "corpus_sha256_16": corpus_hash,
                "rows": len(rows), "features": len(vocab), "C": args.C, "min_df": args.min_df,
                "thresholds": thresholds, "subtype_threshold": args.subtype_threshold, "cue_classes": cue_lists,
                "labels": "raw author labels" if args.raw else "adjudicated corpus"}
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, vocab=np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8),
                            columns=np.frombuffer("\n".join(cols).encode("utf-8"), dtype=np.uint8),
                            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                            W=W.astype(np.float16), bias=bias, a=a, b=b)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(vocab)} features)")
    if args.report:
        Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"done in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
