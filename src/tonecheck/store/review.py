"""The review loop on the store: queue, claims, verdicts, appeals and the lead's decisions.

Every function takes the :class:`Actor` asking and enforces its role here, not in the web
layer, so the HTTP API, the CLI and tests share one set of rules:

* reviewers and leads see every hit; an agent sees only hits and calls whose ``agent_id`` is
  theirs (anything else is "not found", so an agent cannot even learn that a hit id exists);
* a verdict (confirmed / rejected / unsure) comes from a reviewer or a lead; a reviewer judges
  unreviewed or unsure hits, a lead may also revise a verdict; customer risk signals are stored
  with the status ``signal`` and are not reviewed;
* an agent may appeal a confirmed hit on their own call, once; a lead upholds it (the hit stays
  confirmed) or overturns it (the hit becomes rejected);
* claims: ``claim_next`` hands each reviewer a different hit (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL; on SQLite the claim runs under ``BEGIN IMMEDIATE`` and takes the hit with a
  conditional UPDATE), held until a verdict, a release or the claim's expiry.

Every write is in the audit log, in the same transaction as the write itself.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import schema as t
from .db import Store, audit, utcnow
from .users import Actor

H, C, U = t.hits, t.conversations, t.users
DEFAULT_CLAIM_SECONDS = 600
COUNT_CAP = 10_000        # list totals count this far ("10000+")
NEIGHBOURS = 2


class ReviewError(Exception):
    """A refused request: ``status`` is the HTTP status it maps to."""

    status, code = 400, "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ReviewError):
    status, code = 404, "not_found"


class Forbidden(ReviewError):
    status, code = 403, "forbidden"


class Conflict(ReviewError):
    status, code = 409, "conflict"


class Invalid(ReviewError):
    status, code = 422, "invalid_request"


@dataclass(frozen=True)
class Filters:
    """Queue and list filters; dates are call dates (inclusive)."""

    agent: str | None = None
    rule: str | None = None           # a rule id or a subtype
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str | None = None         # unreviewed | confirmed | rejected | unsure | None (any)
    appeal: str | None = None         # open | upheld | overturned


def _require_reviewer(actor: Actor) -> None:
    if actor.role not in ("reviewer", "lead"):
        raise Forbidden("only reviewers and leads may do this")


def _scope(actor: Actor, column: sa.ColumnElement) -> list[sa.ColumnElement]:
    """An agent's rows only; nothing for an agent without an agent id."""
    if not actor.is_agent:
        return []
    if not actor.agent_id:
        raise Forbidden("this agent account has no agent id")
    return [column == actor.agent_id]


def _conditions(actor: Actor, f: Filters) -> list[sa.ColumnElement]:
    conds = [H.c.present == sa.true(), *_scope(actor, H.c.agent_id)]
    if f.agent:
        conds.append(H.c.agent_id == f.agent)
    if f.rule:       # a subtype has a dot, a rule id has none (each has its own index)
        conds.append(H.c.subtype == f.rule if "." in f.rule else H.c.rule_id == f.rule)
    if f.date_from:
        conds.append(H.c.call_date >= f.date_from)
    if f.date_to:
        conds.append(H.c.call_date <= f.date_to)
    if f.status:
        if f.status not in ("unreviewed", "signal", *t.VERDICTS):
            raise Invalid(f"status: unknown value {f.status!r}")
        conds.append(H.c.status == f.status)
    if f.appeal:
        conds.append(H.c.appeal == f.appeal)
    return conds


# worst first: high severity (order 1) before medium and low, then the lowest call score; every column
# ascending, so the queue index (status, present, severity_order, conv_score, hit_id, …) serves it
_WORST_FIRST = (H.c.severity_order.asc(), H.c.conv_score.asc(), H.c.hit_id.asc())
_LIST_COLS = (H.c.hit_id, H.c.rule_id, H.c.category, H.c.subtype, H.c.severity, H.c.text, H.c.message,
              H.c.agent_id, H.c.call_date, H.c.turn, H.c.status, H.c.appeal, H.c.conv_score,
              H.c.claim_expires, C.c.conv_key, U.c.name.label("claimed_by"))


def _rows(conn: Connection, query: sa.Select, actor: Actor, now: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute(query).mappings():
        d = dict(r)
        held = d.pop("claim_expires")
        if held is None or held < now or actor.is_agent:
            d["claimed_by"] = None
        d["call_date"] = d["call_date"].isoformat()
        out.append(d)
    return out


def list_hits(store: Store, actor: Actor, f: Filters = Filters(), *, limit: int = 50, offset: int = 0,
              queue: bool = False) -> dict[str, Any]:
    """Hits matching ``f``, worst first (the queue: unreviewed violations), with the total count
    (up to COUNT_CAP; ``total_capped`` says there are more)."""
    if queue:
        _require_reviewer(actor)
        f = Filters(**{**f.__dict__, "status": f.status or "unreviewed"})
    limit = max(1, min(int(limit), 500))
    if queue and f.status not in ("unreviewed", "unsure"):
        raise Invalid("status: the queue holds unreviewed or unsure hits")
    conds = _conditions(actor, f)
    now = utcnow()
    base = (sa.select(*_LIST_COLS).select_from(H.join(C, C.c.id == H.c.conversation_id)
                                               .outerjoin(U, U.c.id == H.c.claimed_by)).where(*conds))
    with store.read() as conn:
        # counting stops past COUNT_CAP: a page load stays cheap however many hits are open
        total = conn.execute(sa.select(sa.func.count()).select_from(
            sa.select(H.c.hit_id).where(*conds).limit(COUNT_CAP + 1).subquery())).scalar_one()
        items = _rows(conn, base.order_by(*_WORST_FIRST).limit(limit).offset(max(0, int(offset))), actor, now)
    return {"total": min(total, COUNT_CAP), "total_capped": total > COUNT_CAP, "items": items}


def _hit_row(conn: Connection, actor: Actor, hit_id: str, *, lock: bool = False) -> Any:
    q = sa.select(H).where(H.c.hit_id == hit_id, *_scope(actor, H.c.agent_id))
    if lock:
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise NotFound("no such hit")
    return row


def get_hit(store: Store, actor: Actor, hit_id: str) -> dict[str, Any]:
    """One hit with its turn, the neighbouring turns, its verdicts and appeals."""
    with store.read() as conn:
        h = _hit_row(conn, actor, hit_id)
        conv = conn.execute(sa.select(C).where(C.c.id == h.conversation_id)).first()
        lo = (h.turn or 0) - NEIGHBOURS
        hi = (h.turn or 0) + NEIGHBOURS
        turns = [dict(r) for r in conn.execute(
            sa.select(t.turns.c.position, t.turns.c.speaker, t.turns.c.text, t.turns.c.start, t.turns.c.rewrite)
            .where(t.turns.c.conversation_id == h.conversation_id,
                   *([t.turns.c.position.between(lo, hi)] if h.turn is not None else [sa.false()]))
            .order_by(t.turns.c.position)).mappings()]
        n_turns = conn.execute(sa.select(sa.func.count()).select_from(t.turns)
                               .where(t.turns.c.conversation_id == h.conversation_id)).scalar_one()
        verdicts = [dict(r) for r in conn.execute(
            sa.select(t.verdicts.c.verdict, t.verdicts.c.comment, t.verdicts.c.created_at, U.c.name.label("by"),
                      U.c.role.label("by_role"))
            .join(U, U.c.id == t.verdicts.c.user_id).where(t.verdicts.c.hit_id == hit_id)
            .order_by(t.verdicts.c.id)).mappings()]
        appeals = _appeal_rows(conn, sa.and_(t.appeals.c.hit_id == hit_id))
        claimer = None
        if h.claimed_by is not None and h.claim_expires and h.claim_expires >= utcnow() and not actor.is_agent:
            claimer = conn.execute(sa.select(U.c.name).where(U.c.id == h.claimed_by)).scalar()
    d = {k: v for k, v in h._mapping.items() if k not in ("claimed_by", "claim_expires", "reviewed_by",
                                                          "content_hash", "conversation_id")}
    d["call_date"] = h.call_date.isoformat()
    d["claimed_by"] = claimer
    d["claim_expires"] = h.claim_expires.isoformat() + "Z" if claimer else None
    d["call"] = {"conv_key": conv.conv_key, "agent_id": conv.agent_id, "call_start": conv.call_start,
                 "channel": conv.channel, "counterpart": conv.counterpart, "score": conv.score,
                 "passed": conv.passed, "file": conv.file, "turns": n_turns}
    d["turns"] = turns
    if actor.is_agent:   # an agent sees what was decided, not who decided it
        verdicts = [{k: v for k, v in x.items() if k != "by"} for x in verdicts]
        appeals = [{k: v for k, v in x.items() if k != "decided_by"} for x in appeals]
    d["verdicts"] = verdicts
    d["appeals"] = appeals
    return d


def claim_next(store: Store, actor: Actor, f: Filters = Filters(),
               seconds: int = DEFAULT_CLAIM_SECONDS) -> dict[str, Any] | None:
    """Take the worst unreviewed hit nobody else holds; None when the queue is empty."""
    _require_reviewer(actor)
    f = Filters(**{**f.__dict__, "status": f.status or "unreviewed"})
    if f.status not in ("unreviewed", "unsure"):
        raise Invalid("status: the queue holds unreviewed or unsure hits")
    conds = _conditions(actor, f)
    hit_id = None
    for _ in range(5):   # a row taken between our read and our update (cannot happen under the locks): retry
        now = utcnow()
        free = sa.or_(H.c.claimed_by.is_(None), H.c.claim_expires < now, H.c.claimed_by == actor.id)
        with store.write() as conn:
            # a hit this reviewer already holds comes back first (a reload, a second tab): their claims
            # alone first (the claimed_by index; planners prefer the queue index when the filters are
            # in the same query), then which of those few match the filters
            held = conn.execute(sa.select(H.c.hit_id).where(H.c.claimed_by == actor.id,
                                                            H.c.claim_expires >= now)).scalars().all()
            mine = conn.execute(sa.select(H.c.hit_id).where(H.c.hit_id.in_(held), *conds).limit(1)).scalar() \
                if held else None
            hit_id = mine or conn.execute(
                sa.select(H.c.hit_id).where(*conds, free).order_by(*_WORST_FIRST).limit(1)
                .with_for_update(skip_locked=True)).scalar()
            if hit_id is None:
                return None
            taken = conn.execute(sa.update(H).where(H.c.hit_id == hit_id, free).values(
                claimed_by=actor.id, claim_expires=now + dt.timedelta(seconds=seconds))).rowcount
            if taken == 1:
                audit(conn, actor, "hit.claim", "hit", hit_id, seconds=seconds)
                break
            hit_id = None
    return get_hit(store, actor, hit_id) if hit_id else None


def release(store: Store, actor: Actor, hit_id: str) -> None:
    _require_reviewer(actor)
    with store.write() as conn:
        _hit_row(conn, actor, hit_id)
        n = conn.execute(sa.update(H).where(H.c.hit_id == hit_id, H.c.claimed_by == actor.id)
                         .values(claimed_by=None, claim_expires=None)).rowcount
        if n:
            audit(conn, actor, "hit.release", "hit", hit_id)


def set_verdict(store: Store, actor: Actor, hit_id: str, verdict: str, comment: str = "") -> dict[str, Any]:
    _require_reviewer(actor)
    if verdict not in t.VERDICTS:
        raise Invalid(f"verdict: must be one of {', '.join(t.VERDICTS)}")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise Invalid("comment: at most 2000 characters")
    now = utcnow()
    with store.write() as conn:
        h = _hit_row(conn, actor, hit_id, lock=True)
        if h.claimed_by not in (None, actor.id) and h.claim_expires and h.claim_expires >= now:
            who = conn.execute(sa.select(U.c.name).where(U.c.id == h.claimed_by)).scalar()
            raise Conflict(f"hit {hit_id} is being reviewed by {who} (claim until {h.claim_expires:%H:%M:%S} UTC)")
        if h.status == "signal":
            raise Conflict("a customer risk signal is not a hit to review")
        if h.appeal == "open":
            raise Conflict(f"hit {hit_id} has an open appeal: the lead decides it")
        if not actor.is_lead and h.status not in ("unreviewed", "unsure"):
            raise Conflict(f"hit {hit_id} is already {h.status}; a lead may revise it")
        conn.execute(t.verdicts.insert().values(hit_id=hit_id, user_id=actor.id, verdict=verdict, comment=comment,
                                                created_at=now))
        conn.execute(sa.update(H).where(H.c.hit_id == hit_id).values(
            status=verdict, reviewed_by=actor.id, reviewed_at=now, claimed_by=None, claim_expires=None))
        audit(conn, actor, "hit.verdict", "hit", hit_id, verdict=verdict, previous=h.status,
              comment=bool(comment))
    return {"hit_id": hit_id, "status": verdict}


def _appeal_rows(conn: Connection, cond: sa.ColumnElement, limit: int = 500) -> list[dict[str, Any]]:
    A = t.appeals
    agent, lead = U.alias("agent"), U.alias("lead")
    rows = conn.execute(
        sa.select(A.c.id, A.c.hit_id, A.c.reason, A.c.created_at, A.c.status, A.c.decided_at, A.c.decision_comment,
                  agent.c.name.label("agent"), lead.c.name.label("decided_by"))
        .join(agent, agent.c.id == A.c.user_id).outerjoin(lead, lead.c.id == A.c.decided_by)
        .where(cond).order_by(A.c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]


def appeal(store: Store, actor: Actor, hit_id: str, reason: str) -> dict[str, Any]:
    if not actor.is_agent:
        raise Forbidden("only the agent whose call it is may appeal")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason: say why the hit is wrong")
    if len(reason) > 2000:
        raise Invalid("reason: at most 2000 characters")
    now = utcnow()
    with store.write() as conn:
        h = _hit_row(conn, actor, hit_id, lock=True)
        if h.status != "confirmed":
            raise Conflict(f"only a confirmed hit can be appealed (this one is {h.status})")
        if h.appeal is not None:
            raise Conflict(f"this hit was already appealed ({h.appeal})")
        aid = conn.execute(t.appeals.insert().values(hit_id=hit_id, user_id=actor.id, reason=reason, created_at=now,
                                                     status="open")).inserted_primary_key[0]
        conn.execute(sa.update(H).where(H.c.hit_id == hit_id).values(appeal="open"))
        audit(conn, actor, "appeal.open", "appeal", aid, hit_id=hit_id)
    return {"appeal_id": aid, "hit_id": hit_id, "status": "open"}


def decide(store: Store, actor: Actor, appeal_id: int, decision: str, comment: str = "") -> dict[str, Any]:
    if not actor.is_lead:
        raise Forbidden("only a lead decides appeals")
    if decision not in ("upheld", "overturned"):
        raise Invalid("decision: must be 'upheld' (the hit stands) or 'overturned' (the hit is rejected)")
    comment = (comment or "").strip()[:2000]
    now = utcnow()
    with store.write() as conn:
        A = t.appeals
        ap = conn.execute(sa.select(A).where(A.c.id == appeal_id).with_for_update()).first()
        if ap is None:
            raise NotFound(f"no appeal {appeal_id}")
        if ap.status != "open":
            raise Conflict(f"appeal {appeal_id} was already decided ({ap.status})")
        conn.execute(sa.update(A).where(A.c.id == appeal_id).values(status=decision, decided_by=actor.id,
                                                                    decided_at=now, decision_comment=comment))
        verdict = "confirmed" if decision == "upheld" else "rejected"
        conn.execute(t.verdicts.insert().values(hit_id=ap.hit_id, user_id=actor.id, verdict=verdict,
                                                comment=f"申诉{'驳回' if decision == 'upheld' else '成立'}：{comment}",
                                                created_at=now))
        conn.execute(sa.update(H).where(H.c.hit_id == ap.hit_id).values(
            appeal=decision, status=verdict, reviewed_by=actor.id, reviewed_at=now))
        audit(conn, actor, "appeal.decide", "appeal", appeal_id, hit_id=ap.hit_id, decision=decision)
    return {"appeal_id": appeal_id, "hit_id": ap.hit_id, "status": decision, "hit_status": verdict}


def list_appeals(store: Store, actor: Actor, status: str | None = "open") -> list[dict[str, Any]]:
    A = t.appeals
    cond = sa.and_(sa.true(), *([A.c.status == status] if status else []))
    if actor.is_agent:
        cond = sa.and_(cond, A.c.hit_id.in_(sa.select(H.c.hit_id).where(*_scope(actor, H.c.agent_id))))
    with store.read() as conn:
        rows = _appeal_rows(conn, cond)
        if rows:
            info = {r.hit_id: r for r in conn.execute(
                sa.select(H.c.hit_id, H.c.rule_id, H.c.subtype, H.c.text, H.c.agent_id)
                .where(H.c.hit_id.in_([x["hit_id"] for x in rows])))}
            for x in rows:
                h = info[x["hit_id"]]
                x.update(rule_id=h.rule_id, subtype=h.subtype, text=h.text, agent_id=h.agent_id)
    return rows


def get_call(store: Store, actor: Actor, conv_key: str) -> dict[str, Any]:
    """A whole stored call: metadata, every turn, every present hit."""
    with store.read() as conn:
        conv = conn.execute(sa.select(C).where(C.c.conv_key == conv_key, *_scope(actor, C.c.agent_id))).first()
        if conv is None:
            raise NotFound("no such call")
        turns = [dict(r) for r in conn.execute(
            sa.select(t.turns.c.position, t.turns.c.speaker, t.turns.c.text, t.turns.c.start, t.turns.c.rewrite)
            .where(t.turns.c.conversation_id == conv.id).order_by(t.turns.c.position)).mappings()]
        hits = [dict(r) for r in conn.execute(
            sa.select(H.c.hit_id, H.c.turn, H.c.start, H.c.end, H.c.rule_id, H.c.subtype, H.c.severity, H.c.status,
                      H.c.appeal, H.c.message)
            .where(H.c.conversation_id == conv.id, H.c.present == sa.true()).order_by(H.c.turn, H.c.start)).mappings()]
    return {"conv_key": conv.conv_key, "agent_id": conv.agent_id, "call_start": conv.call_start,
            "call_date": conv.call_date.isoformat(), "channel": conv.channel, "counterpart": conv.counterpart,
            "score": conv.score, "passed": conv.passed, "turns": turns, "hits": hits}


def filter_options(store: Store, actor: Actor) -> dict[str, Any]:
    """Agents and rules with unreviewed violations, for the queue's filter menus."""
    _require_reviewer(actor)
    open_ = sa.and_(H.c.status == "unreviewed", H.c.present == sa.true())
    with store.read() as conn:
        agents = conn.execute(sa.select(H.c.agent_id, sa.func.count()).where(open_, H.c.agent_id.is_not(None))
                              .group_by(H.c.agent_id).order_by(H.c.agent_id)).all()
        rules = conn.execute(sa.select(H.c.rule_id, H.c.subtype, sa.func.count()).where(open_)
                             .group_by(H.c.rule_id, H.c.subtype).order_by(H.c.rule_id)).all()
    return {"agents": [{"agent_id": a, "unreviewed": n} for a, n in agents],
            "rules": [{"rule_id": r, "subtype": s, "unreviewed": n} for r, s, n in rules]}


def audit_log(store: Store, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    if not actor.is_lead:
        raise Forbidden("only a lead reads the audit log")
    A = t.audit
    with store.read() as conn:
        rows = conn.execute(sa.select(A.c.id, A.c.at, A.c.actor, A.c.action, A.c.object_type, A.c.object_id,
                                      A.c.details).order_by(A.c.id.desc()).limit(max(1, min(limit, 1000))))
        return [dict(r) for r in rows.mappings()]
