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
from ..labels import in_display_order
from ..pii import mask_result, mask_text
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

# Result columns of the per-turn table (after the conversation, order and keep columns).
TURN_COLUMNS = ("turn_index", "speaker", "text", "counterpart", "status", "reason", "findings", "rewrite", "truncated",
                "declared_counterpart", "channel", "agent_id", "call_start", "outcome", "contact_id", "contact_key")
# Result columns of the per-utterance table (after the keep columns).
UTTERANCE_COLUMNS = ("text", "role", "counterpart", "channel", "status", "reason", "findings", "rewrite", "truncated")


@dataclass(frozen=True)
class Spec:
    """Everything a worker needs, pickled into the task: the team configuration, the team
    lexicon files and a custom model's weights themselves (so executors need no shared file
    system), masking, and the key that turns contact numbers into grouping keys."""

    config: BatchConfig
    lexicon_files: tuple[tuple[str, tuple[tuple[str, bytes], ...]], ...] = ()
    model_file: tuple[str, bytes] | None = None
    show_pii: bool = False
    salt: bytes = b""

    @classmethod
    def build(cls, config: BatchConfig | None = None, *, show_pii: bool = False, salt: bytes = b"",
              validate: bool = False) -> "Spec":
        """The spec for ``config``; with ``validate`` the driver builds the checker once first, so a
        bad config or lexicon is an error here, not a failed task on every executor."""
        config = config or BatchConfig()
        if validate:
            build_checker(config)
        files = []
        for d in config.lexicons:
            p = Path(d)
            paths = [p] if p.is_file() else sorted(p.glob("*.toml"))
            files.append((p.stem if p.is_file() else p.name, tuple((q.name, q.read_bytes()) for q in paths)))
        model = getattr(config, "model", True)
        weights = (Path(model).name, Path(model).read_bytes()) if isinstance(model, str) else None
        return cls(config=config, lexicon_files=tuple(files), model_file=weights, show_pii=show_pii, salt=salt)

    def checker_key(self) -> str:
        """Digest of every checker setting (whatever ``checker_kwargs`` holds, now or later) with the
        lexicon and weights files' contents in place of their driver-side paths."""
        kw = {k: v for k, v in self.config.checker_kwargs().items() if k not in ("lexicon_dirs", "model")}
        h = hashlib.sha256(repr(sorted(kw.items())).encode())
        h.update(repr(getattr(self.config, "model", True) is not False).encode())
        if self.model_file:
            h.update(b"model\0" + hashlib.sha256(self.model_file[1]).digest())
        for name, files in self.lexicon_files:
            h.update(name.encode() + b"\0")
            for fname, data in files:
                h.update(fname.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()


_CHECKERS: dict[str, Checker] = {}
BUILDS: Counter = Counter()          # checker builds in this process, by configuration digest


def _materialise(key: str, spec: Spec) -> Path:
    """Write the shipped lexicon and weights files under the temp directory once per machine
    (content-addressed, renamed into place, so concurrent workers never see a half-written one)."""
    root = Path(tempfile.gettempdir()) / f"tonecheck-files-{key[:20]}"
    if not root.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=".tonecheck-files-"))
        for i, (name, files) in enumerate(spec.lexicon_files):
            sub = tmp / f"{i:02d}-{name}"
            sub.mkdir()
            for fname, data in files:
                (sub / fname).write_bytes(data)
        if spec.model_file:
            (tmp / "model").mkdir()
            (tmp / "model" / spec.model_file[0]).write_bytes(spec.model_file[1])
        try:
            os.rename(tmp, root)
        except OSError:          # another worker won the race; its copy is identical
            pass
    return root


def checker_for(spec: Spec) -> Checker:
    """This worker's checker for ``spec``, built once."""
    key = spec.checker_key()
    if key not in _CHECKERS:
        cfg = spec.config
        if spec.lexicon_files or spec.model_file:
            root = _materialise(key, spec)
            changes: dict[str, Any] = {"lexicons": [str(root / f"{i:02d}-{name}")
                                                    for i, (name, _) in enumerate(spec.lexicon_files)]}
            if spec.model_file:
                changes["model"] = str(root / "model" / spec.model_file[0])
            cfg = dataclasses.replace(cfg, **changes)
        _CHECKERS[key] = build_checker(cfg)
        BUILDS[key] += 1
    return _CHECKERS[key]


# -- helpers ------------------------------------------------------------------------------------

Rows = dict[str, list]
"""Columns as plain lists: what the per-group code works on (slicing a list costs nothing; slicing
and sorting a pandas frame per ten-turn call would cost more than checking it)."""


def _lists(pdf: pd.DataFrame) -> Rows:
    """A pandas batch as lists of Python values, missing values (NaN, NaT, pd.NA) as None."""
    out: Rows = {}
    for c in pdf.columns:
        s = pdf[c]
        if s.dtype == object:
            vals = s.tolist()
            out[c] = [None if v is not None and not isinstance(v, (str, list, dict, np.ndarray)) and pd.isna(v) else v
                      for v in vals] if s.isna().any() else vals
        else:
            out[c] = s.astype(object).where(s.notna(), None).tolist()
    return out


def _slice(rows: Rows, a: int, b: int) -> Rows:
    return {c: v[a:b] for c, v in rows.items()}


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


def _frame(columns: Rows, order: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(columns[c], dtype=object) for c in order})


def by_group(batches: Iterable[pd.DataFrame], key: str, rows_of: Callable[[Rows], Rows],
             columns: list[str] | tuple[str, ...], *, limit: int | None = None,
             too_big: Callable[[Rows], Rows] | None = None) -> Iterator[pd.DataFrame]:
    """Arrow batches of rows sorted by ``key`` -> ``rows_of(one group's rows)`` for every group,
    one output frame per input batch (not per group).

    A group cut by a batch boundary waits for the next batch, so it arrives whole. With ``limit``,
    a group found to have more rows is handed to ``too_big`` as it streams past, never gathered:
    memory stays bounded by the limit plus one batch, whatever the skew.
    """
    pending: Rows | None = None
    big = _NO_KEY                        # the key of a group already past the limit
    for pdf in batches:
        rows = _lists(pdf)
        if pending:
            rows = {c: pending[c] + rows[c] for c in rows}
            pending = None
        keys = rows[key]
        n = len(keys)
        if not n:
            continue
        starts = [0, *(i for i in range(1, n) if keys[i] != keys[i - 1])]
        out: Rows = {c: [] for c in columns}
        for a, b in zip(starts, [*starts[1:], n]):
            part = _slice(rows, a, b)
            if keys[a] == big or (limit is not None and b - a > limit):
                big = keys[a]
                res = too_big(part)
            elif b == n:                  # the last group may go on in the next batch
                pending = part
                continue
            else:
                res = rows_of(part)
            for c in columns:
                out[c].extend(res[c])
        if out[columns[0]]:
            yield _frame(out, columns)
    if pending:
        res = rows_of(pending)
        yield _frame(res, columns)


_NO_KEY = object()


# -- single utterances ----------------------------------------------------------------------------

def check_utterance_frame(pdf: pd.DataFrame, spec: Spec, keep: tuple[str, ...]) -> pd.DataFrame:
    """One output row per input row: the checked utterance, or a status row saying why not."""
    checker = checker_for(spec)
    speakers = Speakers(spec.config.agent_labels, spec.config.customer_labels)
    rows = _lists(pdf)
    out: Rows = {c: [] for c in UTTERANCE_COLUMNS}
    for text, role, cp, ch in zip(rows[TEXT], rows[SPEAKER], rows[COUNTERPART], rows[CHANNEL]):
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
        shown_text = None if text is None else (text if spec.show_pii else mask_text(text))
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
        out[k] = rows[k]
    return _frame(out, (*keep, *UTTERANCE_COLUMNS))


# -- conversations ----------------------------------------------------------------------------------

Names = tuple[str, str, tuple[str, ...]]     # conversation column, order column, kept columns


def turn_output_columns(names: Names) -> list[str]:
    conv, order, keep = names
    return [conv, order, *[k for k in keep if k not in (conv, order)], *TURN_COLUMNS]


def _turn_table(g: Rows, names: Names) -> Rows:
    conv, order, keep = names
    n = len(g[CONV])
    out: Rows = {c: [None] * n for c in TURN_COLUMNS}
    out[conv] = g[CONV]
    out[order] = g[ORDER]
    for k in keep:
        out[k] = g[k]
    return out


def _masked(texts: list[Any], show_pii: bool) -> list[Any]:
    return [t if t is None or show_pii else mask_text(str(t)) for t in texts]


def reject_rows(g: Rows, spec: Spec, names: Names, reason: str) -> Rows:
    """Rows that are not checked as a conversation: every one an ``error`` row with ``reason``."""
    out = _turn_table(g, names)
    n = len(g[CONV])
    out["status"] = ["error"] * n
    out["reason"] = [_reason(reason, spec.show_pii)] * n
    out["text"] = _masked(g[TEXT], spec.show_pii)
    return out


def too_big_rows(g: Rows, spec: Spec, names: Names, limit: int) -> Rows:
    why = "null conversation id" if g[CONV][0] is None else f"conversation has more than {limit} rows; the limit is {limit}"
    return reject_rows(g, spec, names, why)


def check_conversation_rows(g: Rows, spec: Spec, names: Names) -> Rows:
    """One conversation's rows -> its output columns, one row per input row, in turn order.

    The rows become a conversation exactly as the batch readers build one from utterance rows
    (same speaker labels, metadata, counterpart and channel values, unanswered attempts), then
    ``Checker.check_conversation`` checks it with the dialogue context. A bad row (null text,
    text over the limit, unknown speaker, null or repeated order) is an ``error`` row and the
    conversation's other rows are ``skipped``: checking around a missing turn would give another
    dialogue context than the call had.
    """
    if g[CONV][0] is None:
        return reject_rows(g, spec, names, "null conversation id")
    orders = g[ORDER]
    if any(orders[i] is None or orders[i + 1] is None or orders[i] > orders[i + 1] for i in range(len(orders) - 1)):
        idx = sorted(range(len(orders)), key=lambda i: (orders[i] is None, orders[i] if orders[i] is not None else 0))
        g = {c: [v[i] for i in idx] for c, v in g.items()}       # Spark sorted them; this is for other callers
        orders = g[ORDER]
    cfg = spec.config
    speakers = Speakers(cfg.agent_labels, cfg.customer_labels)
    out = _turn_table(g, names)
    n = len(orders)
    conv_id = str(g[CONV][0])
    texts, labels = g[TEXT], g[SPEAKER]
    meta_cols = {k: g[v] for k, v in META.items()}
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
        rows.append((orders[i], {"conversation_id": conv_id, "speaker": label, "text": text, "start": g[START][i],
                                 "end": g[END][i], "counterpart": g[COUNTERPART][i], "channel": g[CHANNEL][i],
                                 **{k: v[i] for k, v in meta_cols.items()}}))

    # conversation-level columns: as the batch readers take them (first non-empty value in order)
    first = {k: next((v for v in vals if v not in (None, "")), None) for k, vals in meta_cols.items()}
    cid = first["contact_id"]
    conv_cols = {"agent_id": None if first["agent_id"] is None else str(first["agent_id"]),
                 "call_start": None if first["call_start"] is None else str(first["call_start"]),
                 "outcome": norm_outcome(first["outcome"]),
                 "contact_id": None if cid is None else (str(cid) if spec.show_pii else mask_text(str(cid))),
                 "contact_key": contact_key(cid, spec.salt)}
    for k, v in conv_cols.items():
        out[k] = [v] * n
    out["text"] = _masked(texts, spec.show_pii)
    out["speaker"] = [speakers.map(lb) if lb is not None else None for lb in labels]

    def fail(status_of: dict[int, str], reason_of: dict[int, str]) -> Rows:
        out["status"] = [status_of.get(i, "skipped") for i in range(n)]
        out["reason"] = [_reason(reason_of[i], spec.show_pii) for i in range(n)]
        return out

    if errors:
        bad = dict(errors)
        i0, why = errors[0]
        skip = f"conversation not checked: turn order {orders[i0]!r}: {why}"
        return fail({i: "error" for i in bad}, {i: bad.get(i, skip) for i in range(n)})

    item = rows_to_conversations(rows, conv_id, speakers, Counter(), where="turn order")[0]
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

SCORED_COLUMNS = ("status", "error", "counterpart", "channel", "agent_id", "call_start", "outcome", "contact_id",
                  "turns", "findings", "score", "critical", "passed", "deductions", "warnings")


def _dicts(v: Any) -> list[dict[str, Any]]:
    """An array<struct> cell from Arrow (None, list or ndarray of dicts) as a list of dicts."""
    if v is None:
        return []
    return [dict(x) for x in v]


def scored_call_rows(g: Rows, spec: Spec, conv: str) -> Rows:
    """The calls to one contact (or one call without a contact number) -> each call scored: the
    contact-policy findings and warnings by the batch's ``contact_findings``, then ``score_record``
    over the turn and contact findings, as the batch report does."""
    cfg = spec.config
    status = g["status"]
    keyed = [(i, {"call_start": s, "contact_id": k, "outcome": o})
             for i, (s, k, o, st) in enumerate(zip(g["call_start"], g["contact_key"], g["outcome"], status))
             if st == "ok"]
    extra, warnings = contact_findings(keyed, cfg.contact, enable=cfg.enable, disable=cfg.disable,
                                       severity=cfg.severity)
    out: Rows = {c: [] for c in (conv, *SCORED_COLUMNS)}
    for i in range(len(status)):
        ok = status[i] == "ok"
        fs = in_display_order(_dicts(g["findings"][i]) + [{"turn": None, "speaker": None, **f.model_dump(mode="json")}
                                                          for f in extra.get(i, [])]) if ok else []
        s = score_record(fs, cfg.scoring) if ok else None
        for c in (conv, "status", "error", "counterpart", "channel", "agent_id", "call_start", "outcome",
                  "contact_id", "turns"):
            out[c].append(g[c][i])
        out["findings"].append(fs)
        for c in ("score", "critical", "passed", "deductions"):
            out[c].append(s[c] if s else None)
        out["warnings"].append([warnings[i]] if i in warnings else [])
    return out


def _scored_records(rows: Rows, conv: str) -> list[dict[str, Any]]:
    """Call rows with status ok as the batch's conversation records (what the aggregates read)."""
    recs = []
    for cid, st, agent, turns, fs, score, crit, passed in zip(rows[conv], rows["status"], rows["agent_id"], rows["turns"],
                                                              rows["findings"], rows["score"], rows["critical"],
                                                              rows["passed"]):
        if st == "ok" and score is not None:
            recs.append({"id": cid, "status": "ok", "agent_id": agent, "turns": int(turns), "findings": _dicts(fs),
                         "score": {"score": float(score), "critical": bool(crit), "passed": bool(passed)}})
    return recs


AGENT_COLUMNS = ("agent_id", "calls", "violations", "high", "critical", "passed", "self_harm", "attempts",
                 "attempt_violations", "conversations", "mean_score", "min_score", "min_score_non_critical",
                 "min_score_call", "pass_rate", "violations_per_100", "violations_per_conversation", "by_category")
RULE_COLUMNS = ("rule_id", "subtype", "category", "severity", "hits", "conversations", "rate")


def agent_frame(pdf: pd.DataFrame, conv: str) -> pd.DataFrame:
    """The calls of one agent -> that agent's row (the batch's ``agent_rows``)."""
    return pd.DataFrame(agent_rows(_scored_records(_lists(pdf), conv)), columns=list(AGENT_COLUMNS))


def rule_frame(pdf: pd.DataFrame, conv: str) -> pd.DataFrame:
    """The hits of one rule (one row per finding: call id, rule fields, ``checked``) -> the rule's row
    (the batch's ``rule_rows``, its rate relative to every call checked)."""
    rows = _lists(pdf)
    by_call: dict[Any, list[dict[str, Any]]] = {}
    for cid, rid, sub, cat, sev in zip(rows[conv], rows["rule_id"], rows["subtype"], rows["category"], rows["severity"]):
        by_call.setdefault(cid, []).append({"rule_id": rid, "subtype": sub, "category": cat, "severity": sev})
    records = [{"findings": fs} for fs in by_call.values()]
    return pd.DataFrame(rule_rows(records, int(rows["checked"][0])), columns=list(RULE_COLUMNS))
