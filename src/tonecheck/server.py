"""HTTP service and web page for checking drafts before they are sent or said.

``tonecheck serve`` runs :func:`run`; tests and embedding applications build
the ASGI app with :func:`create_app`. Needs ``pip install 'tonecheck[server]'``.

Endpoints (see ``docs/service.md`` and ``/docs`` for the OpenAPI page):

- ``POST /v1/check``          ``{text, role?, counterpart?, channel?}`` -> ``CheckResult``
- ``POST /v1/conversations``  a conversation -> ``ConversationResult``
- ``GET  /v1/rules``          the rule catalogue
- ``POST /v1/mask``           ``{text}`` -> ``{text}`` with identifiers masked (the page's false-positive
                              reports keep only masked text)
- ``GET  /healthz``           liveness and what is loaded
- ``GET  /``                  the draft pre-check page (static, no CDN); the Chinese names of
                              subtypes, categories and severities (:mod:`tonecheck.labels`, from the
                              checker's lexicons) are embedded in it when the app is built

Configuration is read from the environment once, when the app is built, and
checked then: a setting that makes no sense stops the start with one line.

- ``TONECHECK_API_KEYS``      comma-separated keys; when set, ``/v1/*`` needs
                              ``X-API-Key: <key>`` (or ``Authorization: Bearer <key>``);
                              set but holding no key (``" , "``) refuses to start
- ``TONECHECK_CORS_ORIGINS``  comma-separated origins allowed to call the API
                              from a browser; empty (the default) sends no CORS headers
- ``TONECHECK_MAX_BODY_BYTES`` request body limit (default 1 MiB) -> 413
- ``TONECHECK_MAX_UTTERANCES`` utterances per conversation (default 2000) -> 413
- ``TONECHECK_TIMEOUT_S``      time limit for one request's check (default 10 s) -> 504
- ``TONECHECK_BODY_TIMEOUT_S`` time allowed to send a request body (default 10 s) -> 408
- ``TONECHECK_SLOW_LANE``     ``thread`` runs long checks in a thread instead of a forked process

Every utterance is limited to :data:`tonecheck.MAX_TEXT_CHARS` characters (413).
Errors are JSON: ``{"error": {"code": ..., "message": ...}}``. The API key is
checked, and the content type (``application/json``, else 415), before any of
the body is read.

Checks never run on the event loop. Short drafts go to a thread (the fast
lane); long texts and conversations to a forked child process (the slow
lane), so a worst-case text neither queues in front of a draft nor holds the
interpreter lock a draft needs. A fast-lane check that outlives its request's
timeout is abandoned to its own thread (it stops at its deadline) and the lane
gets a fresh one; a slow-lane one is ended by killing its process.

Logs never carry a draft's text: one line per check with sizes, subtypes and
timing; the rare error line carries the text with identifiers masked, and the
access log masks identifiers in query strings.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import math
import os
import sys
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, default_checker
from .checker import MAX_TEXT_CHARS, Checker, InputError, surrogate_problem
from .models import Channel, CheckResult, Conversation, ConversationResult, Counterpart, Role
from .labels import table as label_table
from .pii import mask_text

log = logging.getLogger("tonecheck.server")

STATIC_DIR = Path(__file__).parent / "static"

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_UTTERANCES = 2000
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_BODY_TIMEOUT_S = 10.0
# Drafts up to this many characters go to the fast lane (a worst-case one takes a few
# milliseconds); longer texts and conversations go to the slow lane.
FAST_LANE_CHARS = 2000
# Fast-lane checks abandoned past their timeout that may still be running before new drafts are refused (503).
MAX_ABANDONED = 8
# The interpreter hands the GIL between threads every 5 ms by default; with a worst-case
# text in one lane a draft in the other waited up to that long at each hand-over. The
# service owns its process, so it asks for 1 ms (benchmarks/bench_http.py: p99 under load).
SWITCH_INTERVAL_S = 0.001


# -- configuration ----------------------------------------------------------------------------

def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    """Service limits and access control (all documented in docs/service.md)."""

    api_keys: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_text_chars: int = MAX_TEXT_CHARS
    max_utterances: int = DEFAULT_MAX_UTTERANCES
    timeout_s: float = DEFAULT_TIMEOUT_S
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_text_chars", "max_utterances"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be a positive whole number, not {v!r}")
        for name in ("timeout_s", "body_timeout_s"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, not {v!r}")
        if any(not k for k in self.api_keys):
            raise ValueError("api_keys must not contain an empty key")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        """Settings from the environment; a bad one stops the start with one line naming it."""
        env = dict(os.environ if env is None else env)

        def number(name: str, default: float, kind: type) -> Any:
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return default
            try:
                v = kind(raw)
            except ValueError:
                raise SystemExit(f"tonecheck serve: {name}={raw!r} is not a {'whole ' if kind is int else ''}number") from None
            if not math.isfinite(v) or v <= 0:
                raise SystemExit(f"tonecheck serve: {name}={raw!r} must be a positive number")
            return v

        key_var = "TONECHECK_API_KEYS" if "TONECHECK_API_KEYS" in env else "TONECHECK_API_KEY"
        raw_keys = env.get(key_var) or ""
        keys = _split(raw_keys)
        if raw_keys.strip() and not keys:
            # " , " would otherwise switch authentication off without a word.
            raise SystemExit(f"tonecheck serve: {key_var} is set but holds no key ({raw_keys!r}); "
                             "give at least one key, or unset it to run without authentication")
        try:
            return cls(
                api_keys=keys,
                cors_origins=_split(env.get("TONECHECK_CORS_ORIGINS")),
                max_body_bytes=number("TONECHECK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, int),
                max_utterances=number("TONECHECK_MAX_UTTERANCES", DEFAULT_MAX_UTTERANCES, int),
                timeout_s=number("TONECHECK_TIMEOUT_S", DEFAULT_TIMEOUT_S, float),
                body_timeout_s=number("TONECHECK_BODY_TIMEOUT_S", DEFAULT_BODY_TIMEOUT_S, float),
            )
        except ValueError as exc:
            raise SystemExit(f"tonecheck serve: bad setting: {exc}") from None


# -- request bodies ---------------------------------------------------------------------------

class CheckRequest(BaseModel):
    """One draft or utterance to check."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "请您今天下午五点前还款。", "role": "agent", "counterpart": "debtor", "channel": "sms"}]})

    text: str = Field(description=f"The draft; at most {MAX_TEXT_CHARS} characters")
    role: Role = "agent"
    counterpart: Counterpart = "unknown"
    channel: Channel = "call"


class MaskRequest(BaseModel):
    """A text whose identifiers should be masked (the page masks what it keeps in the browser)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description=f"At most {MAX_TEXT_CHARS} characters")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": {"code": code, "message": message, **extra}}
    return JSONResponse(body, status_code=status)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


# -- the guard in front of the API (pure ASGI: it runs before anything reads the body) ------------

class GuardMiddleware:
    """Key, content type, body size and body time, in that order, before the app reads a byte.

    * ``/v1/*`` without a valid key: 401 (an unauthenticated caller learns nothing
      about the body it sent, not even that it was invalid);
    * a POST whose content type is not JSON: 415;
    * a Content-Length over the limit: 413 at once; a chunked body that goes
      over: 413 as soon as it does;
    * a body not fully sent within ``body_timeout_s``: 408 (a stalled upload
      does not hold a connection open).
    """

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.max_bytes = settings.max_body_bytes
        self.body_timeout_s = settings.body_timeout_s
        self.keys = tuple(k.encode() for k in settings.api_keys)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        path = scope.get("path", "")
        # /v1/review/* (tonecheck serve --store) authenticates each user with their own key from the
        # store, in its router, before it reads a parameter or a byte of the body.
        if path.startswith("/v1/") and not path.startswith("/v1/review/") and scope.get("method") != "OPTIONS":
            denied = self._denied(headers)
            if denied:
                await _error(401, "unauthorized", denied)(scope, receive, send)
                return
        if scope.get("method") == "POST":
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"application/json" and not ctype.endswith(b"+json"):
                shown = ctype.decode("latin-1") or "none"
                await _error(415, "unsupported_media_type",
                             f"send the body as JSON with Content-Type: application/json (got {shown})")(scope, receive, send)
                return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._too_big(scope, receive, send)
                return
        seen = 0
        problem: str | None = None  # "too_big" | "timeout"
        ends_at = time.monotonic() + self.body_timeout_s

        async def guarded_receive() -> dict:
            # On a problem, stop reading and hand the app an empty end of body; whatever it
            # answers is replaced below (frameworks swallow exceptions raised here).
            nonlocal seen, problem
            if problem:
                return {"type": "http.request", "body": b"", "more_body": False}
            try:
                message = await asyncio.wait_for(receive(), max(0.001, ends_at - time.monotonic()))
            except asyncio.TimeoutError:
                problem = "timeout"
                return {"type": "http.request", "body": b"", "more_body": False}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    problem = "too_big"
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: dict) -> None:
            if problem:
                if message["type"] == "http.response.start":
                    if problem == "too_big":
                        await self._too_big(scope, receive, send)
                    else:
                        resp = _error(408, "body_timeout", f"the request body was not sent within "
                                      f"{self.body_timeout_s:g} s")
                        resp.headers["connection"] = "close"  # the rest of the body is never read
                        await resp(scope, receive, send)
                return
            await send(message)

        await self.app(scope, guarded_receive, guarded_send)

    def _denied(self, headers: dict[bytes, bytes]) -> str | None:
        if not self.keys:
            return None
        given = headers.get(b"x-api-key")
        if given is None:
            auth = headers.get(b"authorization", b"")
            if auth[:7].lower() == b"bearer ":
                given = auth[7:].strip()
        if given is None:
            return "missing API key: send it in the X-API-Key header"
        ok = False
        for k in self.keys:  # compare against every key: time does not depend on which one matched
            ok |= hmac.compare_digest(k, given)
        return None if ok else "invalid API key"

    async def _too_big(self, scope: dict, receive: Any, send: Any) -> None:
        resp = _error(413, "body_too_large", f"request body is over the limit of {self.max_bytes} bytes",
                      limit=self.max_bytes)
        resp.headers["connection"] = "close"  # the rest of the body is never read
        await resp(scope, receive, send)


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered in the service's JSON error shape."""

    def preflight_response(self, request_headers: Any) -> Response:
        resp = super().preflight_response(request_headers)
        if resp.status_code == 200:
            return resp
        message = resp.body.decode("utf-8", "replace") or "CORS preflight refused"
        out = _error(resp.status_code, "cors_refused", message)
        for k, v in resp.headers.items():
            if k.lower() not in ("content-type", "content-length"):
                out.headers[k] = v
        return out


# -- where checks run -------------------------------------------------------------------------

class Lane:
    """One thread that runs checks in order; a check past its timeout is abandoned, not waited for.

    Every check stops itself at its deadline, but a lane must not depend on
    that: when a request times out, the lane moves on to a fresh thread and
    the old one finishes its check on its own. At most MAX_ABANDONED such
    checks may still be running (then new work is refused with 503). Used
    from the event loop only, so it needs no lock.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool = self._new_pool()
        self.abandoned = 0  # checks past their timeout that are still running

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tonecheck-{self.name}")

    async def run(self, fn: Any, arg: Any, timeout_s: float) -> Any:
        if self.abandoned >= MAX_ABANDONED:
            raise ApiError(503, "overloaded", "too many checks still running past their timeout; retry later")
        pool = self._pool
        fut = asyncio.get_running_loop().run_in_executor(pool, fn, arg)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout_s)
        except asyncio.TimeoutError:
            self.abandoned += 1
            fut.add_done_callback(self._finished_late)
            if self._pool is pool:  # a fresh thread for the lane; the old one ends with its check
                self._pool = self._new_pool()
                pool.shutdown(wait=False)
            raise

    def _finished_late(self, fut: "asyncio.Future[Any]") -> None:
        self.abandoned -= 1
        if not fut.cancelled():
            fut.exception()  # retrieved, so asyncio does not log it as never retrieved

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# The checker a slow-lane process inherits when it is forked (set just before each fork).
_LANE_CHECKER: Any = None


def _lane_call(kind: str, body: Any, budget_s: float) -> Any:
    """What the slow-lane process runs: module-level, so only the request travels to it."""
    if kind == "check":
        return _check(_LANE_CHECKER, body, budget_s)
    return _check_conversation(_LANE_CHECKER, body, budget_s)


class ProcessLane:
    """The slow lane: one child process, forked from the service with its checker already built.

    A 20,000-character text or a long call keeps a core busy for up to the
    timeout; in a thread of the service it also held the interpreter lock the
    drafts need (drafts' p99 rose to ~0.5 s under one client sending worst-case
    texts). In its own process it shares nothing with them. A check past its
    timeout is not abandoned but ended: the process is killed and the next slow
    check forks a fresh one (copy-on-write, no lexicons reloaded).
    """

    def __init__(self, name: str, checker: Any) -> None:
        self.name = name
        self.checker = checker
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, kind: str, body: Any, budget_s: float, timeout_s: float) -> Any:
        global _LANE_CHECKER
        _LANE_CHECKER = self.checker  # inherited by the process, which is forked at a new pool's first submit
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        pool = self._pool
        fut = asyncio.get_running_loop().run_in_executor(pool, _lane_call, kind, body, budget_s)
        try:
            return await asyncio.wait_for(fut, timeout_s)
        except asyncio.TimeoutError:
            self._kill(pool)
            raise
        except BrokenProcessPool:
            self._kill(pool)
            raise RuntimeError("the slow-lane process ended unexpectedly") from None

    def _kill(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._kill(self._pool)


def _slow_lane(checker: Any) -> "Lane | ProcessLane":
    """A process where the platform can fork, else a thread like the fast lane."""
    if "fork" in multiprocessing.get_all_start_methods() and os.environ.get("TONECHECK_SLOW_LANE") != "thread":
        return ProcessLane("slow", checker)
    return Lane("slow")


# -- the app ----------------------------------------------------------------------------------

def create_app(checker: Checker | None = None, settings: Settings | None = None, store: Any = None) -> FastAPI:
    """Build the service. The checker is built here, once; requests never reload lexicons.
    With ``store`` (a store URL or :class:`tonecheck.store.Store`) it also serves the review page
    and API (:mod:`tonecheck.store.router`)."""
    settings = settings or Settings.from_env()
    checker = checker or default_checker()
    if hasattr(checker, "warm_up"):
        checker.warm_up()  # compile every pattern before the first request
    # Two lanes, one thread each (the engine is pure Python: more threads would only share the GIL):
    # short drafts never wait behind a 20,000-character text or a long call.
    fast, slow = Lane("fast"), _slow_lane(checker)
    rule_catalogue = _catalogue(checker)
    # Checks stop at their own deadline a little before the request's timeout (504 is a backstop).
    budget_s = settings.timeout_s * 0.9

    async def lifespan(app: FastAPI):  # noqa: ANN202
        yield
        fast.shutdown()
        slow.shutdown()

    app = FastAPI(
        title="tonecheck draft pre-check",
        version=__version__,
        description=("Checks Chinese debt-collection drafts and utterances for threats, insults, sarcasm, "
                     "privacy leaks and other prohibited practice, with compliant rewrites. "
                     f"Limits: {settings.max_text_chars} characters per text, {settings.max_body_bytes} bytes "
                     f"per body, {settings.max_utterances} utterances per conversation, "
                     f"{settings.timeout_s:g} s per request."),
        lifespan=lifespan,
        docs_url=None if _SWAGGER_DIR else "/docs",
        redoc_url=None,
    )
    app.state.checker = checker
    app.state.settings = settings
    app.state.lanes = (fast, slow)

    async def run_check(kind: str, arg: Any, text: str, long: bool) -> Any:
        lane = slow if long or len(text) > FAST_LANE_CHARS else fast
        try:
            if isinstance(lane, ProcessLane):
                return await lane.run(kind, arg, budget_s, settings.timeout_s)
            fn = _check if kind == "check" else _check_conversation
            return await lane.run(lambda b: fn(checker, b, budget_s), arg, settings.timeout_s)
        except asyncio.TimeoutError:
            log.warning("timeout after %.1f s on %d characters", settings.timeout_s, len(text))
            raise ApiError(504, "timeout", f"the check took longer than {settings.timeout_s:g} s") from None
        except InputError as exc:
            raise ApiError(422, "invalid_input", str(exc)) from None
        except ApiError:
            raise
        except Exception as exc:
            log.error("check failed (%s) on text: %s", type(exc).__name__, masked_for_log(text))
            raise ApiError(500, "internal_error", "internal error; logged with identifiers masked") from None

    def check_length(text: str, where: str = "text") -> None:
        if (why := surrogate_problem(text, where)) is not None:
            raise ApiError(422, "invalid_request", why)
        if len(text) > settings.max_text_chars:
            raise ApiError(413, "text_too_long",
                           f"{where} is {len(text)} characters; the limit is {settings.max_text_chars}",
                           limit=settings.max_text_chars)

    # ---- error handlers: every error is JSON, none of them a 500 for bad input ----

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Echo where and why, never the input itself (it may be a long draft with identifiers).
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
                   for e in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
        return _error(422, "invalid_request", f"{where}: {first['msg']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # the body could not be decoded at all
            return _error(422, "invalid_request", "body: not valid UTF-8 JSON")
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return _error(500, "internal_error", "internal error; the request was logged without its text")

    # ---- API ----

    errors = {401: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
              422: {"model": ErrorResponse}, 504: {"model": ErrorResponse}}

    @app.post("/v1/check", response_model=CheckResult, responses=errors, tags=["check"],
              summary="Check one draft or utterance")
    async def v1_check(body: CheckRequest, request: Request) -> Response:
        check_length(body.text)
        t0 = time.perf_counter()
        res: CheckResult = await run_check("check", body, body.text, long=False)
        _log_check("check", body.role, len(body.text), res.findings, t0)
        return Response(res.model_dump_json(), media_type="application/json")

    @app.post("/v1/conversations", response_model=ConversationResult, responses=errors, tags=["check"],
              summary="Check a whole conversation (listener inferred from the dialogue)")
    async def v1_conversations(body: Conversation, request: Request) -> Response:
        if len(body.utterances) > settings.max_utterances:
            raise ApiError(413, "too_many_utterances",
                           f"{len(body.utterances)} utterances; the limit is {settings.max_utterances}",
                           limit=settings.max_utterances)
        check_length(body.id, "id")
        for i, u in enumerate(body.utterances):
            check_length(u.text, f"utterances[{i}].text")
        t0 = time.perf_counter()
        chars = sum(len(u.text) for u in body.utterances)
        res: ConversationResult = await run_check(
            "conversation", body, "\n".join(u.text for u in body.utterances),
            long=chars > FAST_LANE_CHARS or len(body.utterances) > 20)
        _log_check("conversation", f"{len(body.utterances)} turns", chars, [f for _, f in res.findings], t0)
        return Response(res.model_dump_json(), media_type="application/json")

    @app.post("/v1/mask", responses=errors, tags=["check"], summary="Mask the identifiers in a text")
    async def v1_mask(body: MaskRequest) -> dict[str, str]:
        check_length(body.text)
        return {"text": mask_text(body.text)}

    @app.get("/v1/rules", tags=["rules"], summary="The rule catalogue")
    async def v1_rules(request: Request) -> Response:
        return rule_catalogue

    @app.get("/healthz", tags=["service"], summary="Liveness and what is loaded")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "rules": len(checker.rules),
                "tokenizer": checker.tokenizer_name,
                "limits": {"max_text_chars": settings.max_text_chars, "max_body_bytes": settings.max_body_bytes,
                           "max_utterances": settings.max_utterances, "timeout_s": settings.timeout_s},
                "api_key_required": bool(settings.api_keys)}

    # ---- the page ----

    page = render_page(checker)

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if store is not None:
        from .store.router import install as install_review

        install_review(app, store)

    if _SWAGGER_DIR:
        # The OpenAPI page with Swagger UI's files from the fastapi-offline package: works without internet access.
        from fastapi.openapi.docs import get_swagger_ui_html

        app.mount("/docs-assets", StaticFiles(directory=_SWAGGER_DIR), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        async def docs() -> Response:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="tonecheck API",
                                       swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                       swagger_css_url="/docs-assets/swagger-ui.css",
                                       swagger_favicon_url="/docs-assets/favicon.png")

    # The last added runs first: CORS (so even a 401 carries its headers), then the guard, which
    # answers before anything reads the body.
    app.add_middleware(GuardMiddleware, settings=settings)
    if settings.cors_origins:
        app.add_middleware(JsonCORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type", "X-API-Key", "Authorization"],
                           max_age=600)
    return app


def _swagger_dir() -> str | None:
    try:
        import fastapi_offline  # ships Swagger UI's files; we only serve them
    except ImportError:  # without it FastAPI's /docs loads Swagger UI from a CDN
        return None
    d = Path(fastapi_offline.__file__).parent / "static"
    return str(d) if (d / "swagger-ui-bundle.js").is_file() else None


_SWAGGER_DIR = _swagger_dir()

_PAGE_HEADERS = {
    # The page loads nothing from elsewhere; say so to the browser too.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _check(checker: Checker, body: CheckRequest, budget_s: float) -> CheckResult:
    try:
        return checker.check(body.text, role=body.role, counterpart=body.counterpart, channel=body.channel,
                             deadline_s=budget_s)
    except TypeError:  # a stand-in checker without deadlines (tests, embedding applications)
        return checker.check(body.text, role=body.role, counterpart=body.counterpart, channel=body.channel)


def _check_conversation(checker: Checker, conv: Conversation, budget_s: float) -> ConversationResult:
    try:
        return checker.check_conversation(conv, deadline_s=budget_s)
    except TypeError:
        return checker.check_conversation(conv)


def _log_check(kind: str, who: str, chars: int, findings: list, t0: float) -> None:
    if log.isEnabledFor(logging.INFO):
        subtypes = ",".join(sorted({f.subtype for f in findings})) or "-"
        log.info("%s %s chars=%d findings=%d subtypes=%s ms=%.2f", kind, who, chars, len(findings), subtypes,
                 (time.perf_counter() - t0) * 1000)


def masked_for_log(text: str, limit: int = 200) -> str:
    """A draft as it may appear in a log line: identifiers masked, cut to ``limit`` characters."""
    masked = mask_text(text)
    return masked if len(masked) <= limit else masked[:limit] + "…"


class MaskedAccessLog(logging.Filter):
    """Masks identifiers in the request line of uvicorn's access log (a phone number in a query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, query = args[2].partition("?")
            if sep:
                record.args = (*args[:2], path + "?" + mask_text(unquote_plus(query)), *args[3:])
        return True


def install_log_masking() -> None:
    """Mask the access log's request lines (idempotent)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskedAccessLog) for f in access.filters):
        access.addFilter(MaskedAccessLog())


def render_page(checker: Checker) -> str:
    """index.html with the checker's label table (:mod:`tonecheck.labels`) in a JSON data block: the page
    and the reports name every subtype, category and severity from one table, and the page needs no
    extra request for it."""
    import json

    blob = json.dumps(label_table(getattr(checker, "lexicon", None)), ensure_ascii=False).replace("<", "\\u003c")
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return html.replace("<!--tonecheck-labels-->", f'<script type="application/json" id="labels">{blob}</script>', 1)


def _catalogue(checker: Checker) -> Response:
    rules = []
    for r in checker.rules:
        src = checker.lexicon.sources.get(r.id, "")
        rules.append({
            "id": r.id, "name": r.name, "category": r.category.value, "subtype": r.subtype,
            "severity": r.severity.value, "message": r.message, "description": r.description, "source": r.source,
            "roles": list(r.roles), "counterparts": list(r.counterparts), "channels": list(r.channels),
            "lexicon": Path(src).name if src else "",
            "rewrite": {"text": r.rewrite.text, "scope": r.rewrite.scope, "auto_apply": r.rewrite.auto_apply},
            "examples": {"fire": [e.text for e in r.examples.fire], "clean": [e.text for e in r.examples.clean]},
        })
    import json
    body = json.dumps({"count": len(rules), "rules": rules}, ensure_ascii=False)
    return Response(body, media_type="application/json")


def app_factory() -> FastAPI:
    """Factory for ``uvicorn --factory tonecheck.server:app_factory`` (each worker builds its own)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return create_app(store=os.environ.get("TONECHECK_STORE") or None)


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, store: str | None = None) -> None:
    """Start the service (``tonecheck serve``). Lexicons load once per worker, before it accepts requests."""
    import uvicorn

    settings = Settings.from_env()  # refuse a bad setting before anything starts
    del settings
    if store:
        os.environ["TONECHECK_STORE"] = store   # each worker's app_factory opens it
    if workers and workers > 1:
        uvicorn.run("tonecheck.server:app_factory", factory=True, host=host, port=port, workers=workers,
                    log_level="info")
    else:
        uvicorn.run(app_factory(), host=host, port=port, log_level="info")
