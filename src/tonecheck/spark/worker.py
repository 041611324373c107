"""What runs on the executors: pandas frames in, pandas frames out.

Spark calls these through ``mapInPandas`` / ``applyInPandas`` (see :mod:`tonecheck.spark.frames`);
they import no pyspark, so they are tested on plain pandas frames too. Every input row comes
out as one row with a ``status`` and a ``reason``; a bad row never raises.

One checker per Python worker process: :func:`checker_for` builds it on first use and keeps it
in a module-level cache keyed by the configuration's digest (Spark reuses its Python workers,
``spark.python.worker.reuse``, so later tasks and batches find it built).
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from ..checker import MAX_TEXT_CHARS, Checker, InputError
from ..cli import mask_result
from ..pii import mask_text, mask_text_preserving
from ..batch.config import BatchConfig
from ..batch.contact import contact_findings, contact_key
from ..batch.readers import _CHANNEL, _COUNTERPART, ConvError, Speakers, norm_outcome, rows_to_conversations
from ..batch.runner import build_checker
from ..batch.scoring import agent_rows, rule_rows, score_record

# Internal input column names (the Spark side selects the user's columns under these names).
CONV, ORDER, SPEAKER, TEXT = "__tc_conversation", "__tc_order", "__tc_speaker", "__tc_text"
COUNTERPART, CHANNEL, START, END = "__tc_counterpart", "__tc_channel", "__tc_start", "__tc_end"
META = {"agent_id": "__tc_agent_id", "call_start": "__tc_call_start", "contact_id": "__tc_contact_id",
        "outcome": "__tc_outcome"}
REJECT = "__tc_reject"

# Result columns of the per-turn table (after the conversation, order and keep columns).
TURN_COLUMNS = ("turn_index", "speaker", "text", "counterpart", "status", "reason", "findings", "rewrite", "truncated",
                "declared_counterpart", "channel", "agent_id", "call_start", "outcome", "contact_id", "contact_key")
# Result columns of the per-utterance table (after the keep columns).
UTTERANCE_COLUMNS = ("text", "role", "counterpart", "channel", "status", "reason", "findings", "rewrite", "truncated")


@dataclass(frozen=True)
class Spec:
    """Everything a worker needs, pickled into the task: the team configuration, the team
    lexicon files themselves (so executors need no shared file system), masking and the key
    that turns contact numbers into grouping keys."""

    config: BatchConfig
    lexicon_files: tuple[tuple[str, tuple[tuple[str, bytes], ...]], ...] = ()
    show_pii: bool = False
    salt: bytes = b""

    @classmethod
    def build(cls, config: BatchConfig | None = None, *, show_pii: bool = False, salt: bytes = b"") -> "Spec":
        config = config or BatchConfig()
        files = []
        for d in config.lexicons:
            p = Path(d)
            paths = [p] if p.is_file() else sorted(p.glob("*.toml"))
            files.append((p.stem if p.is_file() else p.name, tuple((q.name, q.read_bytes()) for q in paths)))
        return cls(config=config, lexicon_files=tuple(files), show_pii=show_pii, salt=salt)

    def checker_key(self) -> str:
        c = self.config
        h = hashlib.sha256(repr((c.enable, c.disable, sorted(c.severity.items()), c.allow)).encode())
        for name, files in self.lexicon_files:
            h.update(name.encode() + b"\0")
            for fname, data in files:
                h.update(fname.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()


_CHECKERS: dict[str, Checker] = {}
BUILDS: Counter = Counter()          # checker builds in this process, by configuration digest


def _materialise(key: str, lexicon_files: tuple) -> list[str]:
    """Write the shipped lexicon files under the temp directory once per machine (content-addressed,
    renamed into place, so concurrent workers never see a half-written directory)."""
    if not lexicon_files:
        return []
    root = Path(tempfile.gettempdir()) / f"tonecheck-lexicons-{key[:20]}"
    if not root.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=".tonecheck-lexicons-"))
        for i, (name, files) in enumerate(lexicon_files):
            sub = tmp / f"{i:02d}-{name}"
            sub.mkdir()
            for fname, data in files:
                (sub / fname).write_bytes(data)
        try:
            os.rename(tmp, root)
        except OSError:          # another worker won the race; its copy is identical
            pass
    return [str(root / f"{i:02d}-{name}") for i, (name, _) in enumerate(lexicon_files)]


def checker_for(spec: Spec) -> Checker:
    """This worker's checker for ``spec``, built once."""
    key = spec.checker_key()
    if key not in _CHECKERS:
        cfg = dataclasses.replace(spec.config, lexicons=_materialise(key, spec.lexicon_files))
        _CHECKERS[key] = build_checker(cfg)
        BUILDS[key] += 1
    return _CHECKERS[key]


# -- helpers ------------------------------------------------------------------------------------

def _val(v: Any) -> Any:
    """pandas' missing values (None, NaN, NaT, pd.NA) as None."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):      # arrays, lists
        return v
    return v.item() if isinstance(v, np.generic) else v


def _col(pdf: pd.DataFrame, name: str) -> list[Any]:
    return [_val(v) for v in pdf[name]] if name in pdf.columns else [None] * len(pdf)


def _findings(res: Any) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in res.findings]


def _shown(res: Any, show_pii: bool) -> Any:
    return res if show_pii else mask_result(res)


def _reason(msg: str, show_pii: bool) -> str:
    line = str(msg).splitlines()[0] if str(msg) else str(msg)
    return line if show_pii else mask_text(line)


def _too_long(text: str) -> str | None:
    if len(text) > MAX_TEXT_CHARS:
        return f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS} per utterance"
    return None


def _frame(columns: dict[str, list[Any]], order: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in order})



def by_group(batches: Iterable[pd.DataFrame], key: str, rows_of: Callable[[pd.DataFrame], dict[str, list]],
             columns: list[str] | tuple[str, ...]) -> Iterator[pd.DataFrame]:
    """Arrow batches of rows sorted by ``key`` -> ``rows_of(one group's rows)`` for every group,
    one output frame per input batch. A group cut by a batch boundary waits for the next batch,
    so a group of any size arrives whole, and a pandas frame is built per batch, not per group
    (a call of ten turns would otherwise pay more for its frames than for its check)."""
    pending: pd.DataFrame | None = None
    for pdf in batches:
        if pending is not None and len(pending):
            pdf = pd.concat([pending, pdf], ignore_index=True)
        if not len(pdf):
            continue
        keys = pdf[key].to_numpy()
        other = np.flatnonzero(keys != keys[-1])
        cut = int(other[-1]) + 1 if len(other) else 0
        pending = pdf.iloc[cut:]
        if cut:
            yield _groups(pdf.iloc[:cut], key, rows_of, columns)
    if pending is not None and len(pending):
        yield _groups(pending, key, rows_of, columns)


def _groups(pdf: pd.DataFrame, key: str, rows_of: Callable[[pd.DataFrame], dict[str, list]],
            columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    keys = pdf[key].to_numpy()
    starts = [0, *(np.flatnonzero(keys[1:] != keys[:-1]) + 1).tolist()]
    ends = [*starts[1:], len(pdf)]
    out: dict[str, list] = {c: [] for c in columns}
    for a, b in zip(starts, ends):
        part = rows_of(pdf.iloc[a:b])
        for c in columns:
            out[c].extend(part[c])
    return _frame(out, columns)


# -- single utterances ----------------------------------------------------------------------------

def check_utterance_frame(pdf: pd.DataFrame, spec: Spec, keep: tuple[str, ...]) -> pd.DataFrame:
    """One output row per input row: the checked utterance, or a status row saying why not."""
    checker = checker_for(spec)
    speakers = Speakers(spec.config.agent_labels, spec.config.customer_labels)
    out: dict[str, list[Any]] = {c: [] for c in UTTERANCE_COLUMNS}
    for text, role, cp, ch in zip(_col(pdf, TEXT), _col(pdf, SPEAKER), _col(pdf, COUNTERPART), _col(pdf, CHANNEL)):
        r = speakers.map(role) if role is not None else None
        c = _COUNTERPART.get(str(cp).strip().lower()) if cp is not None else None
        h = _CHANNEL.get(str(ch).strip().lower()) if ch is not None else None
        reason = ("null text" if text is None else _too_long(text)
                  or (f"unknown role {role!r} (map it in [speakers] of tonecheck.toml)" if r is None else None)
                  or (f"unknown counterpart {cp!r} (debtor, third_party or unknown)" if c is None else None)
                  or (f"unknown channel {ch!r} (call, visit or sms)" if h is None else None))
        res = None
        if reason is None:
            try:
                res = _shown(checker.check(text, role=r, counterpart=c, channel=h), spec.show_pii)
            except InputError as exc:
                reason = str(exc)
            except Exception as exc:   # a bug must not fail the job; the row says what happened
                reason = f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        shown_text = None if text is None else (text if spec.show_pii else mask_text_preserving(text))
        out["text"].append(res.text if res else shown_text)
        out["role"].append(r)
        out["counterpart"].append(c)
        out["channel"].append(h)
        out["status"].append("ok" if res else "error")
        out["reason"].append(None if res else _reason(reason, spec.show_pii))
        out["findings"].append(_findings(res) if res else None)
        out["rewrite"].append(res.rewrite if res else None)
        out["truncated"].append(res.truncated if res else None)
    for k in keep:
        out[k] = list(pdf[k])
    return _frame(out, (*keep, *UTTERANCE_COLUMNS))


# -- conversations ----------------------------------------------------------------------------------

def _turn_table(pdf: pd.DataFrame, names: tuple[str, str, tuple[str, ...]]) -> dict[str, list[Any]]:
    conv, order, keep = names
    out: dict[str, list[Any]] = {c: [None] * len(pdf) for c in TURN_COLUMNS}
    out[conv] = _col(pdf, CONV)
    out[order] = list(pdf[ORDER])
    for k in keep:
        out[k] = list(pdf[k])
    return out


def turn_output_columns(names: tuple[str, str, tuple[str, ...]]) -> list[str]:
    conv, order, keep = names
    return [conv, order, *[k for k in keep if k not in (conv, order)], *TURN_COLUMNS]


def reject_frame(pdf: pd.DataFrame, spec: Spec, names: tuple[str, str, tuple[str, ...]]) -> pd.DataFrame:
    """Rows that never reach a conversation group (null id, a conversation over the row limit):
    status ``error`` with the reason the Spark side wrote in the reject column."""
    out = _turn_table(pdf, names)
    n = len(pdf)
    out["status"] = ["error"] * n
    out["reason"] = [_reason(r, spec.show_pii) for r in _col(pdf, REJECT)]
    texts = _col(pdf, TEXT)
    out["text"] = [t if t is None or spec.show_pii else mask_text_preserving(t) for t in texts]
    return _frame(out, turn_output_columns(names))


def check_conversation_rows(pdf: pd.DataFrame, spec: Spec, names: tuple[str, str, tuple[str, ...]]) -> dict[str, list]:
    """One conversation's rows (any order) -> its output columns, one row per input row, in turn order.

    The rows become a conversation exactly as the batch readers build one from utterance rows
    (same speaker labels, metadata, counterpart and channel values, unanswered attempts), then
    ``Checker.check_conversation`` checks it with the dialogue context. A bad row (null text,
    text over the limit, unknown speaker, null or repeated order) is an ``error`` row and the
    conversation's other rows are ``skipped``: checking around a missing turn would give another
    dialogue context than the call had.
    """
    pdf = pdf.sort_values(ORDER, kind="stable", na_position="last").reset_index(drop=True)
    cfg = spec.config
    speakers = Speakers(cfg.agent_labels, cfg.customer_labels)
    out = _turn_table(pdf, names)
    n = len(pdf)
    conv_id = str(_val(pdf[CONV].iloc[0]))
    orders, texts, labels = _col(pdf, ORDER), _col(pdf, TEXT), _col(pdf, SPEAKER)
    meta_cols = {k: _col(pdf, v) for k, v in META.items()}
    cps, chs, starts, ends = _col(pdf, COUNTERPART), _col(pdf, CHANNEL), _col(pdf, START), _col(pdf, END)
    seen: Counter = Counter(o for o in orders if o is not None)

    errors: list[tuple[int, str]] = []
    rows: list[tuple[Any, dict[str, Any]]] = []
    is_turn = [False] * n
    for i in range(n):
        text, label = texts[i], labels[i]
        blank_text = text is None or str(text).strip() == ""
        blank_label = label is None or str(label).strip() == ""
        if orders[i] is None:
            errors.append((i, "null turn order"))
        elif seen[orders[i]] > 1:
            errors.append((i, f"turn order {orders[i]!r} appears {seen[orders[i]]} times in the conversation"))
        elif blank_text and blank_label:
            pass                                        # a metadata-only row (e.g. an unanswered attempt)
        elif text is None:
            errors.append((i, "null text"))
        elif blank_label or speakers.map(label) is None:
            errors.append((i, f"unknown speaker label {label!r} (map it in [speakers] of tonecheck.toml)"))
        elif (msg := _too_long(text)) is not None:
            errors.append((i, msg))
        else:
            is_turn[i] = True
        row = {"conversation_id": conv_id, "speaker": label, "text": text, "start": starts[i], "end": ends[i],
               "counterpart": cps[i], "channel": chs[i], **{k: v[i] for k, v in meta_cols.items()}}
        rows.append((orders[i], row))

    # conversation-level columns: as the batch readers take them (first non-empty value in order)
    first = {k: next((v for v in vals if v not in (None, "")), None) for k, vals in meta_cols.items()}
    cid = first["contact_id"]
    conv_cols = {"agent_id": None if first["agent_id"] is None else str(first["agent_id"]),
                 "call_start": None if first["call_start"] is None else str(first["call_start"]),
                 "outcome": norm_outcome(first["outcome"]),
                 "contact_id": None if cid is None else (str(cid) if spec.show_pii else mask_text_preserving(str(cid))),
                 "contact_key": contact_key(cid, spec.salt)}
    for k, v in conv_cols.items():
        out[k] = [v] * n
    out["text"] = [t if t is None or spec.show_pii else mask_text_preserving(str(t)) for t in texts]
    out["speaker"] = [speakers.map(lb) if lb is not None else None for lb in labels]

    def fail(status_of: dict[int, str], reason_of: dict[int, str]) -> dict[str, list]:
        out["status"] = [status_of.get(i, "skipped") for i in range(n)]
        out["reason"] = [_reason(reason_of[i], spec.show_pii) for i in range(n)]
        return out

    if errors:
        bad = dict(errors)
        i0, why = errors[0]
        skip = f"conversation not checked: turn order {orders[i0]!r}: {why}"
        return fail({i: "error" for i in bad}, {i: bad.get(i, skip) for i in range(n)})

    unknown: Counter = Counter()
    built = rows_to_conversations([(o, r) for o, r in rows], conv_id, speakers, unknown, where="turn order")
    item = built[0]
    if isinstance(item, ConvError):
        return fail({i: "error" for i in range(n)}, {i: item.reason for i in range(n)})
    try:
        res = checker_for(spec).check_conversation(item)
    except Exception as exc:   # InputError, or a bug: the conversation says what happened, the job goes on
        why = str(exc) if isinstance(exc, InputError) else f"internal error: {type(exc).__name__}: {str(exc)[:200]}"
        return fail({i: "error" for i in range(n)}, {i: why for i in range(n)})

    out["declared_counterpart"] = [item.counterpart] * n
    out["channel"] = [item.channel] * n
    out["status"] = ["ok" if t else "metadata" for t in is_turn]
    turn = 0
    for i in range(n):
        if not is_turn[i]:
            continue
        r = _shown(res.utterances[turn], spec.show_pii)
        out["turn_index"][i] = turn
        out["speaker"][i] = r.role
        out["text"][i] = r.text
        out["counterpart"][i] = res.counterparts[turn]
        out["findings"][i] = _findings(r)
        out["rewrite"][i] = r.rewrite
        out["truncated"][i] = r.truncated
        turn += 1
    return out


# -- calls, contact policy, scores, aggregates ------------------------------------------------------------

CALL_COLUMNS = ("status", "error", "counterpart", "channel", "agent_id", "call_start", "outcome", "contact_id",
                "contact_key", "turns", "findings")


def _dicts(v: Any) -> list[dict[str, Any]]:
    """An array<struct> cell from Arrow (None, list or ndarray of dicts) as a list of dicts."""
    if v is None:
        return []
    return [dict(x) for x in v]


def call_rows(pdf: pd.DataFrame, conv: str) -> dict[str, list]:
    """One conversation's turn rows -> its call row: status, metadata and every turn finding."""
    pdf = pdf.sort_values("turn_index", kind="stable", na_position="last")
    status = _col(pdf, "status")
    bad = [i for i, s in enumerate(status) if s not in ("ok", "metadata")]
    reasons = _col(pdf, "reason")
    err = next((reasons[i] for i in bad if status[i] == "error"), reasons[bad[0]] if bad else None)
    findings: list[dict[str, Any]] = []
    turns = 0
    for t, sp, fs, st in zip(_col(pdf, "turn_index"), _col(pdf, "speaker"), list(pdf["findings"]), status):
        if st == "ok":
            turns += 1
            findings.extend({"turn": int(t), "speaker": sp, **f} for f in _dicts(fs))
    head = {k: _col(pdf, k)[0] for k in ("agent_id", "call_start", "outcome", "contact_id", "contact_key",
                                         "declared_counterpart", "channel")}
    ok = not bad
    row = {conv: _col(pdf, conv)[0], "status": "ok" if ok else "error", "error": err,
           "counterpart": head["declared_counterpart"], "channel": head["channel"], "agent_id": head["agent_id"],
           "call_start": head["call_start"], "outcome": head["outcome"], "contact_id": head["contact_id"],
           "contact_key": head["contact_key"], "turns": turns if ok else 0, "findings": findings if ok else []}
    return {k: [v] for k, v in row.items()}


def contact_rows(pdf: pd.DataFrame, spec: Spec, conv: str) -> dict[str, list]:
    """The calls to one contact (or one call without a contact number) -> the contact-policy findings
    and metadata warnings of each, by the batch's own ``contact_findings``."""
    pdf = pdf.sort_values(["call_start", conv], kind="stable", na_position="last").reset_index(drop=True)
    cfg = spec.config
    ids, status = _col(pdf, conv), _col(pdf, "status")
    keyed = [(i, {"call_start": s, "contact_id": k, "outcome": o})
             for i, (s, k, o, st) in enumerate(zip(_col(pdf, "call_start"), _col(pdf, "contact_key"),
                                                   _col(pdf, "outcome"), status)) if st == "ok"]
    extra, warnings = contact_findings(keyed, cfg.contact, enable=cfg.enable, disable=cfg.disable,
                                       severity=cfg.severity)
    return {conv: ids,
            "contact_findings": [[{"turn": None, "speaker": None, **f.model_dump(mode="json")}
                                  for f in extra.get(i, [])] for i in range(len(pdf))],
            "warning": [warnings.get(i) for i in range(len(pdf))]}


def score_frames(batches: Iterator[pd.DataFrame], spec: Spec) -> Iterator[pd.DataFrame]:
    """Call rows joined with their contact findings -> scored call rows (``score_record``, as the batch)."""
    for pdf in batches:
        findings, scores, critical, passed, deductions, warnings = [], [], [], [], [], []
        for st, fs, extra, warn in zip(_col(pdf, "status"), list(pdf["findings"]), list(pdf["contact_findings"]),
                                       _col(pdf, "warning")):
            allf = _dicts(fs) + _dicts(extra) if st == "ok" else []
            s = score_record(allf, spec.config.scoring) if st == "ok" else None
            findings.append(allf)
            scores.append(s["score"] if s else None)
            critical.append(s["critical"] if s else None)
            passed.append(s["passed"] if s else None)
            deductions.append(s["deductions"] if s else None)
            warnings.append([warn] if warn else [])
        out = pdf.drop(columns=["contact_findings", "warning", "contact_key"])
        out["findings"] = pd.Series(findings, dtype=object, index=pdf.index)
        for name, vals in (("score", scores), ("critical", critical), ("passed", passed),
                           ("deductions", deductions), ("warnings", warnings)):
            out[name] = pd.Series(vals, dtype=object, index=pdf.index)
        yield out


def _scored_records(pdf: pd.DataFrame, conv: str) -> list[dict[str, Any]]:
    """Call rows with status ok as the batch's conversation records (what the aggregates read)."""
    recs = []
    for cid, st, agent, fs, score, crit, passed in zip(
            _col(pdf, conv), _col(pdf, "status"), _col(pdf, "agent_id"), list(pdf["findings"]), _col(pdf, "score"),
            _col(pdf, "critical"), _col(pdf, "passed")):
        if st == "ok" and score is not None:
            recs.append({"id": cid, "status": "ok", "agent_id": agent, "findings": _dicts(fs),
                         "score": {"score": float(score), "critical": bool(crit), "passed": bool(passed)}})
    return recs


AGENT_COLUMNS = ("agent_id", "conversations", "violations", "high", "critical", "passed", "mean_score", "min_score",
                 "pass_rate", "violations_per_conversation", "by_category")
RULE_COLUMNS = ("rule_id", "subtype", "category", "severity", "hits", "conversations", "rate")


def agent_frame(pdf: pd.DataFrame, conv: str) -> pd.DataFrame:
    """The calls of one agent -> that agent's row (the batch's ``agent_rows``)."""
    rows = agent_rows(_scored_records(pdf, conv))
    return pd.DataFrame(rows, columns=list(AGENT_COLUMNS))


def rule_frame(pdf: pd.DataFrame, conv: str) -> pd.DataFrame:
    """The hits of one rule (one row per finding: call id, rule fields, ``checked``) -> the rule's row
    (the batch's ``rule_rows``, its rate relative to every call checked)."""
    by_call: dict[Any, list[dict[str, Any]]] = {}
    for cid, rid, sub, cat, sev in zip(_col(pdf, conv), _col(pdf, "rule_id"), _col(pdf, "subtype"),
                                       _col(pdf, "category"), _col(pdf, "severity")):
        by_call.setdefault(cid, []).append({"rule_id": rid, "subtype": sub, "category": cat, "severity": sev})
    records = [{"findings": fs} for fs in by_call.values()]
    rows = rule_rows(records, int(_col(pdf, "checked")[0]))
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))
