"""HTTP plumbing: request context, body limit, the unit-of-work route and problem+json handlers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import structlog
from fastapi import Depends, FastAPI, Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflow.kit import metrics
from leadflow.kit.db import Database
from leadflow.kit.errors import (
    PROBLEM_MEDIA_TYPE,
    BadRequest,
    DependencyUnavailable,
    HttpError,
    InternalError,
    LeadflowError,
    MalformedJson,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    is_unavailable,
)

log = structlog.get_logger("leadflow.http")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def problem_response(error: LeadflowError, instance: str | None = None) -> Response:
    return Response(
        content=json.dumps(error.to_problem(instance), default=str),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=error.headers,
    )


class RequestContextMiddleware:
    """Request id in and out, structlog context, access log and Prometheus figures for every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "<unmatched>")
            metrics.HTTP_REQUESTS.labels(scope["method"], template, str(status)).inc()
            metrics.HTTP_LATENCY.labels(scope["method"], template).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


# Pages we serve load their scripts and styles from our own origin only: no inline script can run, nothing frames us.
HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# JSON, CSV, scripts: nothing to render, so nothing may load and nothing may frame it.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# FastAPI's interactive API docs are third-party pages (Swagger UI, ReDoc from a CDN, one inline bootstrap
# script each): they get their own policy, still unframeable; nothing of ours runs inline anywhere else.
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "font-src 'self' https://fonts.gstatic.com; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """The headers every answer carries (OWASP HTTP headers cheat sheet, ASVS 3.4).

    nosniff, a Referrer-Policy and a CSP with ``frame-ancestors 'none'`` everywhere; HSTS on HTTPS; on HTML a
    CSP without inline scripts and COOP; ``Cache-Control: no-store`` on answers to a request that carried a
    credential, unless the route set its own caching. A header a route set itself is kept.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        request_headers = dict(scope["headers"])
        credentialed = b"authorization" in request_headers or b"cookie" in request_headers
        docs = scope["path"] in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                _secure(MutableHeaders(scope=message), https=https, credentialed=credentialed, docs=docs)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure(headers: MutableHeaders, *, https: bool, credentialed: bool, docs: bool) -> None:
    html = headers.get("content-type", "").startswith("text/html")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers that predate CSP 2
    headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else HTML_CSP if html else API_CSP)
    if html:
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if https:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if credentialed:
        headers.setdefault("Cache-Control", "no-store")


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413 without reading them whole.

    ``overrides`` maps a path prefix to its own limit (uploads take more than JSON bodies).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            await problem_response(self._too_large(max_bytes))(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await problem_response(self._too_large(max_bytes))(scope, receive, send)

    @staticmethod
    def _too_large(max_bytes: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body exceeds {max_bytes} bytes")


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body reader lets it through unchanged."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body exceeds {max_bytes} bytes")


def _is_json_media(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class UnitOfWorkRoute(APIRoute):
    """Opens one session per request and commits it once, before the response leaves.

    A 4xx/5xx answer or an exception rolls back. JSON body routes refuse other media types with 415.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        wants_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form | params.File
        )

        async def unit_of_work(request: Request) -> Response:
            if b"%00" in request.scope.get("query_string", b""):
                raise BadRequest("query parameters must not contain NUL characters")
            if wants_json and request.method not in SAFE_METHODS:
                _require_json(request)
            db: Database = request.app.state.db
            async with db.sessionmaker() as session:
                session.info["request"] = request_info(request)
                request.state.session = session
                try:
                    response = await handler(request)
                except LeadflowError as exc:
                    await (session.commit() if exc.commit_on_error else session.rollback())
                    raise
                except BaseException:
                    await session.rollback()
                    raise
                if response.status_code < 400:
                    await session.commit()
                else:
                    await session.rollback()
                return response

        return unit_of_work


def _require_json(request: Request) -> None:
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    content_type = request.headers.get("content-type", "")
    if has_body and not _is_json_media(content_type):
        raise UnsupportedMediaType(f"expected application/json, got {content_type or 'no content type'}")


def request_info(request: Request) -> dict[str, Any]:
    return {
        "ip": request.client.host if request.client else None,
        "user_agent": request.headers.get("user-agent", "")[:512] or None,
        "request_id": getattr(request.state, "request_id", None) or request.scope.get("state", {}).get("request_id"),
    }


def request_session(request: Request) -> AsyncSession:
    session = getattr(request.state, "session", None)
    if not isinstance(session, AsyncSession):
        raise RuntimeError("route is not a UnitOfWorkRoute")
    return session


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "")


def _validation_problem(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(MalformedJson("the body is not valid JSON"), request.url.path)
    fields = [
        {"field": _field_of(tuple(e.get("loc", ()))), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]
    unknown = [f["field"] for f in fields if f["type"] == "extra_forbidden"]
    detail = f"unknown fields: {', '.join(unknown)}" if unknown else "some fields are invalid"
    return problem_response(ValidationFailed(detail, errors=fields), request.url.path)


class InvalidValue(ValidationFailed):
    """The database refused a value the request carried, although it passed the schema (found by Schemathesis)."""


def _is_refused_value(exc: BaseException) -> bool:
    """A data exception (SQLSTATE class 22: numeric overflow, NUL in text…) or an integer beyond the driver's
    range (asyncpg int32 arguments, SQLite int64): the request's fault, never the server's."""
    seen: BaseException | None = exc
    while seen is not None:
        sqlstate = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if (isinstance(sqlstate, str) and sqlstate.startswith("22")) or isinstance(seen, OverflowError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def install_error_handlers(app: FastAPI) -> None:
    async def on_leadflow_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LeadflowError)
        return problem_response(exc, request.url.path)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return _validation_problem(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return problem_response(NotFound("no such resource"), request.url.path)
        if isinstance(exc, BodyTooLarge):
            return problem_response(PayloadTooLarge(str(exc.detail)), request.url.path)
        error = HttpError(exc.status_code, str(exc.detail))
        response = problem_response(error, request.url.path)
        response.status_code = exc.status_code
        response.headers.update(exc.headers or {})
        return response

    async def on_database_error(request: Request, exc: Exception) -> Response:
        if _is_refused_value(exc):
            log.info("refused value", path=request.url.path, error=type(exc).__name__)
            return problem_response(InvalidValue("a value is out of range or holds characters that cannot be stored"))
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if is_unavailable(exc):  # the database is out of reach: the client should retry, it did nothing wrong
            log.warning("database unavailable", path=request.url.path, error=type(exc).__name__)
            return problem_response(DependencyUnavailable(), request.url.path)
        log.exception("unhandled error", path=request.url.path)
        return problem_response(InternalError("an unexpected error occurred; it has been logged"), request.url.path)

    app.add_exception_handler(LeadflowError, on_leadflow_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(OverflowError, on_database_error)  # SQLite's driver raises it unwrapped
    # What a driver raises unwrapped when the database is out of reach (asyncpg's connect timeout, a refused or
    # reset socket) and the pool's own timeout: answered here (503) rather than as a crash of the application.
    for unreachable in (TimeoutError, OSError, PoolTimeout):
        app.add_exception_handler(unreachable, on_unexpected)
    app.add_exception_handler(Exception, on_unexpected)


DbSession = Annotated[AsyncSession, Depends(request_session)]
