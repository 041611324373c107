"""The period a batch covers and its trends by day and by hour, in local time.

Local time is the batch's one time zone, ``[contact] utc_offset`` (default
+08:00): the zone the contact policy already judges quiet hours in. Naive call
times are taken as local; times with a zone are converted. Answered calls make
the figures; unanswered attempts are counted beside them.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from .contact import parse_offset, parse_time
from .scoring import is_answered, is_attempt


def local_start(rec: dict[str, Any], tz: dt.timezone) -> dt.datetime | None:
    return parse_time(rec.get("call_start"), tz) if rec["status"] == "ok" else None


def local_start_text(rec: dict[str, Any], utc_offset: str) -> str:
    """A call's start as a reader sees it: local time, or the raw value when it is not a date-time."""
    t = parse_time(rec.get("call_start"), parse_offset(utc_offset))
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else str(rec.get("call_start") or "")


def trends(records: list[dict[str, Any]], utc_offset: str) -> dict[str, Any]:
    """``period`` (first and last call start, local), ``by_day`` and ``by_hour`` rows."""
    tz = parse_offset(utc_offset)
    days: dict[str, dict[str, Any]] = {}
    hours = [{"hour": h, "calls": 0, "violations": 0, "calls_with_violations": 0, "attempts": 0} for h in range(24)]
    first = last = None
    untimed = 0
    for r in records:
        t = local_start(r, tz)
        if t is None:
            untimed += r["status"] == "ok"
            continue
        first = t if first is None or t < first else first
        last = t if last is None or t > last else last
        h = hours[t.hour]
        d = days.setdefault(t.date().isoformat(), {"date": t.date().isoformat(), "calls": 0, "violations": 0,
                                                   "calls_with_violations": 0, "passed": 0, "critical": 0,
                                                   "attempts": 0})
        if is_attempt(r):
            h["attempts"] += 1
            d["attempts"] += 1
            continue
        if not is_answered(r):
            continue
        nv = sum(f["category"] != "risk" for f in r["findings"])
        for row in (h, d):
            row["calls"] += 1
            row["violations"] += nv
            row["calls_with_violations"] += nv > 0
        d["passed"] += r["score"]["passed"]
        d["critical"] += r["score"]["critical"]
    by_day = [days[k] for k in sorted(days)]
    for row in by_day + hours:
        row["violations_per_100"] = round(100 * row["violations"] / row["calls"], 1) if row["calls"] else None
    for row in by_day:
        row["pass_rate"] = round(row["passed"] / row["calls"], 3) if row["calls"] else None
    fmt = "%Y-%m-%d %H:%M"
    return {"period": {"from": first.strftime(fmt) if first else None, "to": last.strftime(fmt) if last else None,
                       "utc_offset": utc_offset, "calls_without_time": untimed},
            "by_day": by_day, "by_hour": hours}
