"""What reviewers teach the rules: precision per rule and confirmed violations per agent.

Per rule: hits stored, confirmed, rejected, unsure, unreviewed; precision = confirmed /
(confirmed + rejected) with a 95 % Wilson score interval (sound at small counts and at 0 or 1,
where the normal approximation is not), and the same by week. Per agent: calls checked,
confirmed violations, and confirmed violations per 100 calls, by week. Weeks start on Monday and
follow the call's date (``call_start``; the run's date for calls without one). A "call" is every
conversation checked, unanswered attempts included. Risk signals (customer side) are not hits
a reviewer rules on and are left out; a hit that a later run no longer finds still counts with
the verdict it got.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from . import schema as t
from .db import Store

Z95 = 1.959964


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials; None when n is 0."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def week_of(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=d.weekday())


def _precision(c: int, r: int) -> dict[str, Any]:
    ci = wilson(c, c + r)
    return {"precision": round(c / (c + r), 4) if c + r else None,
            "precision_ci": [round(ci[0], 4), round(ci[1], 4)] if ci else None}


def compute(store: Store, *, since: dt.date | None = None, until: dt.date | None = None) -> dict[str, Any]:
    H, C = t.hits, t.conversations
    hconds = [H.c.category != "risk"]
    cconds = [C.c.status == "ok"]
    for col, conds in ((H.c.call_date, hconds), (C.c.call_date, cconds)):
        if since:
            conds.append(col >= since)
        if until:
            conds.append(col <= until)
    with store.read() as conn:
        hit_rows = conn.execute(sa.select(H.c.rule_id, H.c.subtype, H.c.call_date, H.c.status, sa.func.count())
                                .where(*hconds).group_by(H.c.rule_id, H.c.subtype, H.c.call_date, H.c.status)).all()
        call_rows = conn.execute(sa.select(C.c.agent_id, C.c.call_date, sa.func.count()).where(*cconds)
                                 .group_by(C.c.agent_id, C.c.call_date)).all()
        conf_rows = conn.execute(sa.select(H.c.agent_id, H.c.call_date, sa.func.count())
                                 .where(*hconds, H.c.status == "confirmed")
                                 .group_by(H.c.agent_id, H.c.call_date)).all()
    zero = {"hits": 0, "confirmed": 0, "rejected": 0, "unsure": 0, "unreviewed": 0}
    rules: dict[str, dict[str, Any]] = {}
    for rule_id, subtype, day, status, n in hit_rows:
        r = rules.setdefault(rule_id, {"rule_id": rule_id, "subtype": subtype, **zero, "weeks": defaultdict(lambda: dict(zero))})
        w = r["weeks"][week_of(day)]
        for bucket in (r, w):
            bucket["hits"] += n
            bucket[status] = bucket.get(status, 0) + n
    out_rules = []
    for r in rules.values():
        weeks = [{"week": wk.isoformat(), **v, **_precision(v["confirmed"], v["rejected"])}
                 for wk, v in sorted(r.pop("weeks").items())]
        out_rules.append({**r, **_precision(r["confirmed"], r["rejected"]), "weeks": weeks})
    out_rules.sort(key=lambda r: (-(r["rejected"] / max(1, r["confirmed"] + r["rejected"])), -r["hits"], r["rule_id"]))

    agents: dict[str, dict[str, Any]] = {}

    def agent(a: str | None) -> dict[str, Any]:
        key = a or "（无工号）"
        return agents.setdefault(key, {"agent_id": key, "calls": 0, "confirmed": 0,
                                       "weeks": defaultdict(lambda: {"calls": 0, "confirmed": 0})})

    for a, day, n in call_rows:
        g = agent(a)
        g["calls"] += n
        g["weeks"][week_of(day)]["calls"] += n
    for a, day, n in conf_rows:
        g = agent(a)
        g["confirmed"] += n
        g["weeks"][week_of(day)]["confirmed"] += n
    out_agents = []
    for g in agents.values():
        weeks = [{"week": wk.isoformat(), **v, "per_100_calls": _per100(v)} for wk, v in sorted(g.pop("weeks").items())]
        out_agents.append({**g, "per_100_calls": _per100(g), "weeks": weeks})
    out_agents.sort(key=lambda g: (-(g["per_100_calls"] or 0), g["agent_id"]))
    return {"store": store.shown, "since": since and since.isoformat(), "until": until and until.isoformat(),
            "rules": out_rules, "agents": out_agents}


def _per100(v: dict[str, Any]) -> float | None:
    return round(100 * v["confirmed"] / v["calls"], 2) if v["calls"] else None


def _pct(p: float | None) -> str:
    return "—" if p is None else f"{100 * p:.0f}%"


def render_text(s: dict[str, Any], weeks: int = 6) -> str:
    """Two tables for a terminal: rules (most rejected first) and agents (most confirmed per 100 calls first)."""
    lines = [f"store {s['store']}" + (f", calls from {s['since']}" if s["since"] else "")
             + (f" to {s['until']}" if s["until"] else "")]
    lines.append("")
    lines.append("rules (precision = confirmed / (confirmed + rejected), 95% Wilson interval; "
                 f"trend: precision in the last {weeks} weeks, oldest first)")
    lines.append(f"{'rule':<16} {'subtype':<32} {'hits':>6} {'conf':>5} {'rej':>5} {'unsure':>6} {'open':>6}  "
                 f"{'precision':<18} trend")
    for r in s["rules"]:
        ci = r["precision_ci"]
        prec = "—" if r["precision"] is None else f"{_pct(r['precision'])} [{_pct(ci[0])}–{_pct(ci[1])}]"
        trend = " ".join(f"{w['week'][5:]}:{_pct(w['precision'])}" for w in r["weeks"][-weeks:])
        lines.append(f"{r['rule_id']:<16} {r['subtype']:<32} {r['hits']:>6} {r['confirmed']:>5} {r['rejected']:>5} "
                     f"{r['unsure']:>6} {r['unreviewed']:>6}  {prec:<18} {trend}")
    if not s["rules"]:
        lines.append("(no hits stored)")
    lines.append("")
    lines.append(f"agents (confirmed violations per 100 calls; by week, the last {weeks} weeks)")
    lines.append(f"{'agent':<14} {'calls':>6} {'confirmed':>9} {'per 100':>8}  by week")
    for g in s["agents"]:
        per = "—" if g["per_100_calls"] is None else f"{g['per_100_calls']:.1f}"
        trend = " ".join(f"{w['week'][5:]}:{'—' if w['per_100_calls'] is None else format(w['per_100_calls'], '.1f')}"
                         f"({w['calls']})" for w in g["weeks"][-weeks:])
        lines.append(f"{g['agent_id']:<14} {g['calls']:>6} {g['confirmed']:>9} {per:>8}  {trend}")
    if not s["agents"]:
        lines.append("(no calls stored)")
    return "\n".join(lines) + "\n"
