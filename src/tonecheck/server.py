"""HTTP service and web page for checking drafts before they are sent or said.

``tonecheck serve`` runs :func:`run`; tests and embedding applications build
the ASGI app with :func:`create_app`. Needs ``pip install 'tonecheck[server]'``.

Endpoints (see ``docs/service.md`` and ``/docs`` for the OpenAPI page):

- ``POST /v1/check``          ``{text, role?, counterpart?, channel?}`` -> ``CheckResult``
- ``POST /v1/conversations``  a conversation -> ``ConversationResult``
- ``GET  /v1/rules``          the rule catalogue
- ``GET  /healthz``           liveness and what is loaded
- ``GET  /``                  the draft pre-check page (static, no CDN)

Configuration is read from the environment once, when the app is built:

- ``TONECHECK_API_KEYS``      comma-separated keys; when set, ``/v1/*`` needs
                              ``X-API-Key: <key>`` (or ``Authorization: Bearer <key>``)
- ``TONECHECK_CORS_ORIGINS``  comma-separated origins allowed to call the API
                              from a browser; empty (the default) sends no CORS headers
- ``TONECHECK_MAX_BODY_BYTES`` request body limit (default 1 MiB) -> 413
- ``TONECHECK_MAX_UTTERANCES`` utterances per conversation (default 2000) -> 413
- ``TONECHECK_TIMEOUT_S``      time limit for one request's check (default 10 s) -> 504

Every utterance is limited to :data:`tonecheck.MAX_TEXT_CHARS` characters (413).
Errors are JSON: ``{"error": {"code": ..., "message": ...}}``.

Logs never carry a draft's text: one line per check with sizes, subtypes and
timing; the rare error line carries the text with identifiers masked.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, default_checker
from .checker import MAX_TEXT_CHARS, Checker, InputError
from .models import Channel, CheckResult, Conversation, ConversationResult, Counterpart, Role
from .pii import mask_text_preserving

log = logging.getLogger("tonecheck.server")

STATIC_DIR = Path(__file__).parent / "static"
_SURROGATE = re.compile("[\ud800-\udfff]")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_UTTERANCES = 2000
DEFAULT_TIMEOUT_S = 10.0
# Texts up to this many characters are checked on the event loop (bounded: well under the
# timeout); longer texts and conversations run in a worker thread under the timeout.
INLINE_CHARS = 1000


# -- configuration ----------------------------------------------------------------------------

def _split(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    """Service limits and access control (all documented in the README)."""

    api_keys: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_text_chars: int = MAX_TEXT_CHARS
    max_utterances: int = DEFAULT_MAX_UTTERANCES
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        try:
            return cls(
                api_keys=_split(env.get("TONECHECK_API_KEYS") or env.get("TONECHECK_API_KEY")),
                cors_origins=_split(env.get("TONECHECK_CORS_ORIGINS")),
                max_body_bytes=int(env.get("TONECHECK_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES),
                max_utterances=int(env.get("TONECHECK_MAX_UTTERANCES") or DEFAULT_MAX_UTTERANCES),
                timeout_s=float(env.get("TONECHECK_TIMEOUT_S") or DEFAULT_TIMEOUT_S),
            )
        except ValueError as exc:
            raise SystemExit(f"tonecheck serve: bad environment setting: {exc}") from None


# -- request bodies ---------------------------------------------------------------------------

class CheckRequest(BaseModel):
    """One draft or utterance to check."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "请您今天下午五点前还款。", "role": "agent", "counterpart": "debtor", "channel": "sms"}]})

    text: str = Field(description=f"The draft; at most {MAX_TEXT_CHARS} characters")
    role: Role = "agent"
    counterpart: Counterpart = "unknown"
    channel: Channel = "call"


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


# -- body size limit (pure ASGI: no per-request overhead beyond a counter) ------------------------

class BodyLimitMiddleware:
    """Answers 413 before reading a body whose Content-Length is over the limit,
    and stops reading a chunked body as soon as it goes over."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await self._reject(scope, receive, send)
                    return
                break
        seen = 0
        over = False

        async def counting_receive() -> dict:
            # Past the limit, stop reading and hand the app an empty end of body; whatever it
            # answers is replaced by the 413 below (frameworks swallow exceptions raised here).
            nonlocal seen, over
            if over:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: dict) -> None:
            if over:
                if message["type"] == "http.response.start":
                    await self._reject(scope, receive, send)
                return
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _reject(self, scope: dict, receive: Any, send: Any) -> None:
        resp = _error(413, "body_too_large", f"request body is over the limit of {self.max_bytes} bytes",
                      limit=self.max_bytes)
        await resp(scope, receive, send)


# -- the app ----------------------------------------------------------------------------------

def create_app(checker: Checker | None = None, settings: Settings | None = None, store: Any = None) -> FastAPI:
    """Build the service. The checker is built here, once; requests never reload lexicons.
    With ``store`` (a store URL or :class:`tonecheck.store.Store`) it also serves the review page
    and API (:mod:`tonecheck.store.router`)."""
    settings = settings or Settings.from_env()
    checker = checker or default_checker()
    if hasattr(checker, "warm_up"):
        checker.warm_up()  # compile every pattern before the first request
    # One thread runs checks: the engine is pure Python (the GIL serialises it anyway),
    # and a single thread keeps the tokenizer and caches free of concurrent use.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tonecheck")
    rule_catalogue = _catalogue(checker)
    api_keys = tuple(k.encode() for k in settings.api_keys)

    async def lifespan(app: FastAPI):  # noqa: ANN202
        yield
        executor.shutdown(wait=False, cancel_futures=True)

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

    async def run_check(fn: Any, arg: Any, text: str) -> Any:
        try:
            if len(text) <= INLINE_CHARS:
                # A short draft takes about a millisecond: checking it right here saves the
                # thread hand-off, which would cost as much as the check.
                return fn(arg)
            loop = asyncio.get_running_loop()
            return await asyncio.wait_for(loop.run_in_executor(executor, fn, arg), settings.timeout_s)
        except asyncio.TimeoutError:
            log.warning("timeout after %.1f s on %d characters", settings.timeout_s, len(text))
            raise ApiError(504, "timeout", f"the check took longer than {settings.timeout_s:g} s") from None
        except InputError as exc:
            raise ApiError(422, "invalid_input", str(exc)) from None
        except Exception as exc:
            log.error("check failed (%s) on text: %s", type(exc).__name__, masked_for_log(text))
            raise ApiError(500, "internal_error", "internal error; logged with identifiers masked") from None

    def authorise(request: Request) -> None:
        if not api_keys:
            return
        given = request.headers.get("x-api-key")
        if given is None:
            auth = request.headers.get("authorization", "")
            if auth[:7].lower() == "bearer ":
                given = auth[7:].strip()
        if given is None:
            raise ApiError(401, "unauthorized", "missing API key: send it in the X-API-Key header")
        ok = False
        for k in api_keys:  # compare against every key: time does not depend on which one matched
            ok |= hmac.compare_digest(k, given.encode())
        if not ok:
            raise ApiError(401, "unauthorized", "invalid API key")

    def check_length(text: str, where: str = "text") -> None:
        if _SURROGATE.search(text):
            # JSON allows a lone "\udXXX" escape; it is no character and cannot be checked.
            raise ApiError(422, "invalid_request", f"{where}: contains an unpaired UTF-16 surrogate")
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
        authorise(request)
        check_length(body.text)
        t0 = time.perf_counter()
        res: CheckResult = await run_check(lambda b: _check(checker, b), body, body.text)
        _log_check("check", body.role, len(body.text), res.findings, t0)
        return Response(res.model_dump_json(), media_type="application/json")

    @app.post("/v1/conversations", response_model=ConversationResult, responses=errors, tags=["check"],
              summary="Check a whole conversation (listener inferred from the dialogue)")
    async def v1_conversations(body: Conversation, request: Request) -> Response:
        authorise(request)
        if len(body.utterances) > settings.max_utterances:
            raise ApiError(413, "too_many_utterances",
                           f"{len(body.utterances)} utterances; the limit is {settings.max_utterances}",
                           limit=settings.max_utterances)
        for i, u in enumerate(body.utterances):
            check_length(u.text, f"utterances[{i}].text")
        t0 = time.perf_counter()
        res: ConversationResult = await run_check(checker.check_conversation, body,
                                                  "\n".join(u.text for u in body.utterances))
        _log_check("conversation", f"{len(body.utterances)} turns", sum(len(u.text) for u in body.utterances),
                   [f for _, f in res.findings], t0)
        return Response(res.model_dump_json(), media_type="application/json")

    @app.get("/v1/rules", tags=["rules"], summary="The rule catalogue")
    async def v1_rules(request: Request) -> Response:
        authorise(request)
        return rule_catalogue

    @app.get("/healthz", tags=["service"], summary="Liveness and what is loaded")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "rules": len(checker.rules),
                "tokenizer": checker.tokenizer_name,
                "limits": {"max_text_chars": settings.max_text_chars, "max_body_bytes": settings.max_body_bytes,
                           "max_utterances": settings.max_utterances, "timeout_s": settings.timeout_s},
                "api_key_required": bool(api_keys)}

    # ---- the page ----

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=_PAGE_HEADERS)

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

    # Outermost first: the body limit runs before anything reads the body.
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type", "X-API-Key", "Authorization"],
                           max_age=600)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
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


def _check(checker: Checker, body: CheckRequest) -> CheckResult:
    return checker.check(body.text, role=body.role, counterpart=body.counterpart, channel=body.channel)


def _log_check(kind: str, who: str, chars: int, findings: list, t0: float) -> None:
    if log.isEnabledFor(logging.INFO):
        subtypes = ",".join(sorted({f.subtype for f in findings})) or "-"
        log.info("%s %s chars=%d findings=%d subtypes=%s ms=%.2f", kind, who, chars, len(findings), subtypes,
                 (time.perf_counter() - t0) * 1000)


def masked_for_log(text: str, limit: int = 200) -> str:
    """A draft as it may appear in a log line: identifiers masked, cut to ``limit`` characters."""
    masked = mask_text_preserving(text)
    return masked if len(masked) <= limit else masked[:limit] + "…"


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
    return create_app(store=os.environ.get("TONECHECK_STORE") or None)


def run(host: str = "127.0.0.1", port: int = 8000, workers: int = 1, store: str | None = None) -> None:
    """Start the service (``tonecheck serve``). Lexicons load once per worker, before it accepts requests."""
    import uvicorn

    if store:
        os.environ["TONECHECK_STORE"] = store   # each worker's app_factory opens it

    if workers and workers > 1:
        uvicorn.run("tonecheck.server:app_factory", factory=True, host=host, port=port, workers=workers,
                    log_level="info")
    else:
        uvicorn.run(app_factory(), host=host, port=port, log_level="info")
