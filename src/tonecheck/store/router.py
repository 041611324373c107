"""The review API and page, mounted into ``tonecheck serve --store URL`` by :func:`install`.

Every endpoint authenticates first (a per-user key from the store: ``X-API-Key`` or
``Authorization: Bearer``), before it reads a query parameter or the body, and answers errors
as ``{"error": {"code", "message"}}`` like the rest of the service. Roles are enforced in
:mod:`tonecheck.store.review`; an agent asking for another agent's hit or call gets 404.

    GET  /review                                 the review page (static)
    GET  /v1/review/me                           who the key belongs to
    GET  /v1/review/queue?agent&rule&from&to&status&limit&offset   unreviewed hits, worst first
    POST /v1/review/claim      {agent?, rule?, from?, to?, status?}  take the next hit (or {"hit": null})
    GET  /v1/review/hits?...                     hits (an agent: their own)
    GET  /v1/review/hits/{id}                    one hit: turn, neighbours, verdicts, appeals
    POST /v1/review/hits/{id}/verdict  {verdict: confirmed|rejected|unsure, comment?}
    POST /v1/review/hits/{id}/release            give a claimed hit back
    POST /v1/review/hits/{id}/appeal   {reason}  an agent, on a confirmed hit of their call
    GET  /v1/review/appeals?status=open|upheld|overturned|all
    POST /v1/review/appeals/{id}/decision {decision: upheld|overturned, comment?}   leads
    GET  /v1/review/calls/{conversation id}      a whole call
    GET  /v1/review/filters                      agents and rules with open hits
    GET  /v1/review/stats?since&until            precision per rule, violations per agent
    GET  /v1/review/audit?limit                  the audit log (leads)
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from . import review
from .db import Store, open_store
from .review import Filters, Invalid, ReviewError
from .users import Actor, authenticate

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VerdictBody(_Body):
    verdict: Literal["confirmed", "rejected", "unsure"]
    comment: str = Field(default="", max_length=2000)


class AppealBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class DecisionBody(_Body):
    decision: Literal["upheld", "overturned"]
    comment: str = Field(default="", max_length=2000)


class ClaimBody(_Body):
    agent: str | None = None
    rule: str | None = None
    date_from: dt.date | None = Field(default=None, alias="from")
    date_to: dt.date | None = Field(default=None, alias="to")
    status: Literal["unreviewed", "unsure"] | None = None


class Unauthorized(ReviewError):
    status, code = 401, "unauthorized"


def _error(exc: ReviewError) -> JSONResponse:
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)


def _json(data: Any) -> JSONResponse:
    return JSONResponse(jsonable_encoder(data))


def _date_param(q: Any, name: str) -> dt.date | None:
    v = q.get(name)
    if not v:
        return None
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise Invalid(f"{name}: not a date (YYYY-MM-DD)") from None


def _int_param(q: Any, name: str, default: int) -> int:
    v = q.get(name)
    if v in (None, ""):
        return default
    try:
        return int(v)
    except ValueError:
        raise Invalid(f"{name}: not a whole number") from None


def _filters(q: Any) -> Filters:
    status = q.get("status") or None
    return Filters(agent=q.get("agent") or None, rule=q.get("rule") or None, date_from=_date_param(q, "from"),
                   date_to=_date_param(q, "to"), status=None if status == "all" else status,
                   appeal=q.get("appeal") or None)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Invalid("body: not valid UTF-8 JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e.get("loc", ())) or "body"
        raise Invalid(f"{where}: {e.get('msg', 'invalid')}") from None


def build_router(store: Store, *, claim_seconds: int = review.DEFAULT_CLAIM_SECONDS) -> APIRouter:
    r = APIRouter(prefix="/v1/review", tags=["review"])

    async def actor_of(request: Request) -> Actor:
        key = request.headers.get("x-api-key")
        if key is None:
            auth = request.headers.get("authorization", "")
            key = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if not key:
            raise Unauthorized("missing key: send your review key in the X-API-Key header")
        actor = await run_in_threadpool(authenticate, store, key)
        if actor is None:
            raise Unauthorized("invalid or disabled key")
        return actor

    def require(actor: Actor, *roles: str) -> None:
        """The role check before the body is read: a wrong role is 403 whatever the body says."""
        if actor.role not in roles:
            raise review.Forbidden(f"not allowed for the role {actor.role}")

    async def call(fn: Any, *args: Any, **kw: Any) -> JSONResponse:
        return _json(await run_in_threadpool(fn, *args, **kw))

    @r.get("/me", summary="Who this key belongs to")
    async def me(request: Request) -> JSONResponse:
        a = await actor_of(request)
        return _json({"name": a.name, "role": a.role, "agent_id": a.agent_id, "claim_seconds": claim_seconds})

    @r.get("/queue", summary="Unreviewed violations, worst first (reviewers and leads)")
    async def queue(request: Request) -> JSONResponse:
        a = await actor_of(request)
        q = request.query_params
        return await call(review.list_hits, store, a, _filters(q), limit=_int_param(q, "limit", 50),
                          offset=_int_param(q, "offset", 0), queue=True)

    @r.post("/claim", summary="Take the next hit of the queue (nobody else gets it until the claim expires)")
    async def claim(request: Request) -> JSONResponse:
        a = await actor_of(request)
        require(a, "reviewer", "lead")
        b = await _body(request, ClaimBody)
        f = Filters(agent=b.agent, rule=b.rule, date_from=b.date_from, date_to=b.date_to, status=b.status)
        return _json({"hit": await run_in_threadpool(review.claim_next, store, a, f, claim_seconds)})

    @r.get("/hits", summary="Hits (an agent sees only their own)")
    async def hits(request: Request) -> JSONResponse:
        a = await actor_of(request)
        q = request.query_params
        return await call(review.list_hits, store, a, _filters(q), limit=_int_param(q, "limit", 50),
                          offset=_int_param(q, "offset", 0))

    @r.get("/hits/{hit_id}", summary="One hit with its turn, neighbours, verdicts and appeals")
    async def hit(hit_id: str, request: Request) -> JSONResponse:
        a = await actor_of(request)
        return await call(review.get_hit, store, a, hit_id)

    @r.post("/hits/{hit_id}/verdict", summary="Confirm, reject or mark unsure (reviewers and leads)")
    async def verdict(hit_id: str, request: Request) -> JSONResponse:
        a = await actor_of(request)
        require(a, "reviewer", "lead")
        b = await _body(request, VerdictBody)
        return await call(review.set_verdict, store, a, hit_id, b.verdict, b.comment)

    @r.post("/hits/{hit_id}/release", summary="Give a claimed hit back to the queue")
    async def release(hit_id: str, request: Request) -> JSONResponse:
        a = await actor_of(request)
        await run_in_threadpool(review.release, store, a, hit_id)
        return _json({"hit_id": hit_id, "released": True})

    @r.post("/hits/{hit_id}/appeal", summary="Appeal a confirmed hit on your own call (agents)")
    async def appeal(hit_id: str, request: Request) -> JSONResponse:
        a = await actor_of(request)
        require(a, "agent")
        b = await _body(request, AppealBody)
        return await call(review.appeal, store, a, hit_id, b.reason)

    @r.get("/appeals", summary="Appeals (an agent sees only their own)")
    async def appeals(request: Request) -> JSONResponse:
        a = await actor_of(request)
        status = request.query_params.get("status", "open")
        if status not in ("open", "upheld", "overturned", "all"):
            raise Invalid("status: open, upheld, overturned or all")
        return await call(review.list_appeals, store, a, None if status == "all" else status)

    @r.post("/appeals/{appeal_id}/decision", summary="Uphold or overturn an appeal (leads)")
    async def decision(appeal_id: str, request: Request) -> JSONResponse:
        a = await actor_of(request)
        require(a, "lead")
        if not appeal_id.isdigit():
            raise review.NotFound(f"no appeal {appeal_id}")
        b = await _body(request, DecisionBody)
        return await call(review.decide, store, a, int(appeal_id), b.decision, b.comment)

    @r.get("/calls/{conv_key:path}", summary="A whole stored call (an agent: only their own)")
    async def call_detail(conv_key: str, request: Request) -> JSONResponse:
        a = await actor_of(request)
        return await call(review.get_call, store, a, conv_key)

    @r.get("/filters", summary="Agents and rules with open hits (reviewers and leads)")
    async def filters(request: Request) -> JSONResponse:
        a = await actor_of(request)
        return await call(review.filter_options, store, a)

    @r.get("/stats", summary="Precision per rule and confirmed violations per agent (reviewers and leads)")
    async def stats(request: Request) -> JSONResponse:
        from .stats import compute

        a = await actor_of(request)
        if a.is_agent:
            raise review.Forbidden("only reviewers and leads see the statistics")
        q = request.query_params
        return await call(compute, store, since=_date_param(q, "since"), until=_date_param(q, "until"))

    @r.get("/audit", summary="The audit log, newest first (leads)")
    async def audit_log(request: Request) -> JSONResponse:
        a = await actor_of(request)
        return await call(review.audit_log, store, a, _int_param(request.query_params, "limit", 200))

    return r


def install(app: FastAPI, store: Store | str, *, claim_seconds: int = review.DEFAULT_CLAIM_SECONDS) -> Store:
    """Add the review API and page to the service; ``store`` is a Store or a store URL."""
    if isinstance(store, str):
        store = open_store(store)
    app.state.review_store = store

    @app.exception_handler(ReviewError)
    async def _review_error(request: Request, exc: ReviewError) -> JSONResponse:
        return _error(exc)

    app.include_router(build_router(store, claim_seconds=claim_seconds))

    @app.get("/review", include_in_schema=False)
    async def review_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "review.html")

    return store
