"""Storing a batch run: conversations, turns and hits written whole, the run marked complete last.

``begin_run`` records the run as ``incomplete`` before any checking starts; ``store_report``
writes the report's conversations in chunks (each chunk one transaction, so every conversation
is stored whole with its turns and hits) and only its last transaction marks the run
``complete``. A run killed at any point therefore stays ``incomplete``; an interrupted run
(Ctrl-C, the report marked partial) is stored with what was checked and stays ``incomplete``.

Re-running the same input is idempotent: conversations, turns and hits are keyed (see
:mod:`tonecheck.store.hitid`), so nothing is duplicated and verdicts stay on their hits. Each
run reports which hits are new, gone (no longer found in a conversation it checked), changed
(same span, different rule, severity, message or fix) or unchanged.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import socket
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import __version__
from ..models import Severity
from ..pii import mask_text
from . import schema as t
from .db import Store, audit, utcnow
from .hitid import content_hash, finding_hit_id

CHUNK = 250   # conversations per transaction


@dataclass
class RunDiff:
    run_id: int
    status: str = "incomplete"
    conversations: int = 0
    findings: int = 0
    new: int = 0
    gone: int = 0
    changed: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def begin_run(store: Store, paths: Iterable[str], actor: str) -> int:
    """Record a run before checking starts; it stays ``incomplete`` until store_report finishes."""
    with store.write() as conn:
        run_id = conn.execute(t.runs.insert().values(
            started_at=utcnow(), status="incomplete", interrupted=False, actor=actor[:100],
            host=socket.gethostname()[:255], pid=os.getpid(), tonecheck_version=__version__,
            paths=json.dumps(list(paths), ensure_ascii=False), conversations=0, findings=0, new=0, gone=0,
            changed=0, unchanged=0)).inserted_primary_key[0]
        audit(conn, actor, "run.start", "run", run_id)
    return int(run_id)


def _cut(v: Any, n: int) -> str | None:
    return None if v in (None, "") else str(v)[:n]


def _call_date(call_start: Any, fallback: dt.date) -> dt.date:
    try:
        return dt.datetime.fromisoformat(str(call_start).strip()).date()
    except (TypeError, ValueError):
        return fallback


def masked_record(rec: dict[str, Any]) -> dict[str, Any]:
    """A report record as the store keeps it when the report was made with --show-pii: masked by
    the same function the reports use (:func:`tonecheck.pii.mask_result`), turn by turn."""
    from ..models import CheckResult, Finding
    from ..pii import mask_result

    findings = list(rec["findings"])
    turns = []
    for i, turn in enumerate(rec["turns"]):
        idx = [n for n, f in enumerate(findings) if f.get("turn") == i]
        res = mask_result(CheckResult(
            text=turn["text"], rewrite=turn.get("rewrite") or turn["text"],
            findings=[Finding.model_validate({k: v for k, v in findings[n].items()
                                              if k not in ("turn", "speaker", "time")}) for n in idx]))
        turns.append({**turn, "text": res.text, "rewrite": None if turn.get("rewrite") is None else res.rewrite})
        for n, m in zip(idx, res.findings):
            findings[n] = {**findings[n], "text": m.text, "suggestion": m.suggestion, "explanation": m.explanation}
    contact = rec.get("contact_id")
    return {**rec, "turns": turns, "findings": findings,
            "contact_id": None if contact is None else mask_text(str(contact)),
            "error": rec.get("error") and mask_text(str(rec["error"]))}


def _turns_hash(turns: list[dict[str, Any]]) -> str:
    payload = json.dumps([[u["speaker"], u["text"], u.get("start"), u.get("counterpart"), u.get("rewrite")]
                          for u in turns], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _conv_keys(records: list[dict[str, Any]]) -> list[str]:
    seen: Counter = Counter()
    out = []
    for r in records:
        cid = str(r.get("id") or r.get("file") or "?")
        seen[cid] += 1
        out.append(cid if seen[cid] == 1 else f"{cid}#{seen[cid]}")
    return out


def store_report(store: Store, run_id: int, report: dict[str, Any], *, actor: str, masked: bool = True,
                 chunk: int = CHUNK) -> RunDiff:
    """Write a batch report into run ``run_id``; annotate each finding with ``hit_id`` and ``review``."""
    records = report["conversations"]
    keys = _conv_keys(records)
    diff = RunDiff(run_id)
    today = utcnow().date()
    for a in range(0, len(records), chunk):
        part = [(k, r if masked else masked_record(r), r) for k, r in zip(keys[a:a + chunk], records[a:a + chunk])]
        with store.write() as conn:
            _store_chunk(conn, run_id, part, diff, today)
    complete = not report.get("partial")
    diff.status = "complete" if complete else "incomplete"
    with store.write() as conn:
        conn.execute(t.files.insert(), [
            {"run_id": run_id, "path": f["path"], "format": f.get("format"), "encoding": f.get("encoding"),
             "status": f["status"], "error": f.get("error") if masked else mask_text(str(f.get("error") or "")) or None,
             "conversations": f.get("conversations") or 0} for f in report["files"]] or [])
        conn.execute(t.runs.update().where(t.runs.c.id == run_id).values(
            finished_at=utcnow(), status=diff.status, interrupted=bool(report.get("partial")),
            conversations=diff.conversations, findings=diff.findings, new=diff.new, gone=diff.gone,
            changed=diff.changed, unchanged=diff.unchanged,
            summary=json.dumps(report.get("summary"), ensure_ascii=False, default=str)))
        audit(conn, actor, "run.store", "run", run_id, **{k: v for k, v in diff.as_dict().items() if k != "run_id"})
    report["store"] = {"url": store.shown, **diff.as_dict()}
    return diff


def _store_chunk(conn: Connection, run_id: int, part: list[tuple[str, dict[str, Any], dict[str, Any]]],
                 diff: RunDiff, today: dt.date) -> None:
    C, H = t.conversations, t.hits
    existing = {row.conv_key: row for row in conn.execute(
        sa.select(C.c.id, C.c.conv_key, C.c.turns_hash).where(C.c.conv_key.in_([k for k, _, _ in part])))}
    conv_ids: dict[str, int] = {}
    new_rows, upd_ok, upd_err, replace = [], [], [], []     # one statement each per chunk, not per call
    for key, rec, _ in part:
        ok = rec["status"] == "ok"
        score = rec.get("score") or {}
        values = {
            "agent_id": _cut(rec.get("agent_id"), 100), "call_start": _cut(rec.get("call_start"), 40),
            "call_date": _call_date(rec.get("call_start"), today), "channel": _cut(rec.get("channel"), 10),
            "counterpart": _cut(rec.get("counterpart"), 12), "outcome": _cut(rec.get("outcome"), 20),
            "contact": _cut(rec.get("contact_id"), 64), "file": rec.get("file"), "status": rec["status"],
            "error": rec.get("error"), "score": score.get("score"), "passed": score.get("passed"),
            "critical": score.get("critical"), "last_run_id": run_id,
            "turns_hash": _turns_hash(rec["turns"]) if ok else None,
        }
        row = existing.get(key)
        diff.conversations += 1
        if row is None:
            new_rows.append({"conv_key": key, "first_run_id": run_id, **values})
            if ok:
                replace.append((key, rec))
            continue
        conv_ids[key] = row.id
        if not ok:          # a call that could not be read this time keeps what was stored before
            upd_err.append({"_cid": row.id, "last_run_id": run_id})
            continue
        upd_ok.append({"_cid": row.id, **values})
        if row.turns_hash != values["turns_hash"]:
            replace.append((key, rec))
    if new_rows:
        for cid, key in conn.execute(C.insert().returning(C.c.id, C.c.conv_key, sort_by_parameter_order=True),
                                     new_rows):
            conv_ids[key] = cid
    for rows in (upd_ok, upd_err):
        if rows:
            conn.execute(C.update().where(C.c.id == sa.bindparam("_cid")), rows)
    if replace:
        conn.execute(t.turns.delete().where(t.turns.c.conversation_id.in_([conv_ids[k] for k, _ in replace])))
        turn_rows = [{"conversation_id": conv_ids[key], "position": i, "speaker": u["speaker"], "text": u["text"],
                      "start": u.get("start"), "counterpart": u.get("counterpart"), "rewrite": u.get("rewrite")}
                     for key, rec in replace for i, u in enumerate(rec["turns"])]
        if turn_rows:
            conn.execute(t.turns.insert(), turn_rows)
    checked = [conv_ids[k] for k, rec, _ in part if rec["status"] == "ok"]
    old = {row.hit_id: row for row in conn.execute(
        sa.select(H.c.hit_id, H.c.conversation_id, H.c.content_hash, H.c.present, H.c.rule_id, H.c.severity,
                  H.c.status).where(H.c.conversation_id.in_(checked)))} if checked else {}
    seen: set[str] = set()
    inserts, updates, events = [], [], []
    for key, rec, original in part:
        if rec["status"] != "ok":
            continue
        cid = conv_ids[key]
        score = (rec.get("score") or {}).get("score")
        cdate = _call_date(rec.get("call_start"), today)
        for f, shown in zip(rec["findings"], original["findings"]):
            turn = f.get("turn")
            hid = finding_hit_id(key, f, rec["turns"][turn]["text"] if turn is not None else "")
            if hid in seen:     # the same span reported twice: one hit
                shown["hit_id"] = hid
                continue
            seen.add(hid)
            diff.findings += 1
            values = {
                "rule_id": f["rule_id"], "category": f["category"], "subtype": f["subtype"],
                "severity": f["severity"], "severity_order": 4 - Severity(f["severity"]).rank,
                "confidence": f["confidence"], "text": f.get("text") or "", "message": f["message"],
                "suggestion": f.get("suggestion") or "", "fix_start": f.get("fix_start", 0),
                "fix_end": f.get("fix_end", 0), "explanation": f.get("explanation") or "",
                "source": f.get("source") or "", "content_hash": content_hash(f), "agent_id": _cut(rec.get("agent_id"), 100),
                "call_date": cdate, "conv_score": score, "present": True, "last_run_id": run_id,
            }
            prev = old.get(hid)
            shown["hit_id"] = hid
            new_status = "signal" if f["category"] == "risk" else "unreviewed"
            shown["review"] = prev.status if prev is not None else new_status
            if prev is None:
                inserts.append({"hit_id": hid, "conversation_id": cid, "turn": turn, "start": f.get("start", 0),
                                "end": f.get("end", 0), "first_run_id": run_id,
                                "status": new_status, **values})
                events.append({"run_id": run_id, "hit_id": hid, "event": "new", "details": None})
                diff.new += 1
                continue
            if not prev.present:
                events.append({"run_id": run_id, "hit_id": hid, "event": "back", "details": None})
                diff.new += 1
            elif prev.content_hash != values["content_hash"]:
                events.append({"run_id": run_id, "hit_id": hid, "event": "changed", "details": json.dumps(
                    {"rule_id": [prev.rule_id, f["rule_id"]], "severity": [prev.severity, f["severity"]]})})
                diff.changed += 1
            else:
                diff.unchanged += 1
            updates.append({"_hid": hid, **values})
    if updates:
        conn.execute(H.update().where(H.c.hit_id == sa.bindparam("_hid")), updates)
    if inserts:
        conn.execute(H.insert(), inserts)
    gone = [hid for hid, row in old.items() if row.present and hid not in seen]
    if gone:
        conn.execute(H.update().where(H.c.hit_id.in_(gone)).values(present=False, last_run_id=run_id,
                                                                    claimed_by=None, claim_expires=None))
        events.extend({"run_id": run_id, "hit_id": hid, "event": "gone", "details": None} for hid in gone)
        diff.gone += len(gone)
    if events:
        conn.execute(t.hit_events.insert(), events)


class Recorder:
    """The hook ``tonecheck check --store`` uses: a run recorded before checking, stored after it."""

    def __init__(self, store: Store, run_id: int, actor: str, masked: bool) -> None:
        self.store, self.run_id, self.actor, self.masked = store, run_id, actor, masked

    @classmethod
    def start(cls, url: str, paths: list[str], *, masked: bool) -> "Recorder":
        from .db import open_store

        actor = f"cli:{_login()}"
        store = open_store(url)
        return cls(store, begin_run(store, paths, actor), actor, masked)

    def finish(self, report: dict[str, Any]) -> str:
        """Store the report; returns the one-line summary for stderr. Raises StoreError."""
        try:
            d = store_report(self.store, self.run_id, report, actor=self.actor, masked=self.masked)
        except sa.exc.SQLAlchemyError as exc:
            from .db import StoreError

            msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise StoreError(f"store {self.store.shown}: run {self.run_id} left incomplete: "
                             f"{msg[0] if msg else type(exc).__name__}") from None
        finally:
            self.store.dispose()
        return (f"store: run {d.run_id} {d.status} in {self.store.shown}: {d.conversations} conversations, "
                f"hits {d.new} new, {d.gone} gone, {d.changed} changed, {d.unchanged} unchanged")


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:   # no user name in a container: the uid is enough
        return str(os.getuid())
