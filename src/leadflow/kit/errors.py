"""Typed errors and their RFC 9457 problem+json rendering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

PROBLEM_BASE = "https://leadflow.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class Wording:
    """A sentence for people: its English template, which is also the message id the `errors` catalog translates,
    and the values it names. The API answers the English sentence; the console shows it in the reader's language."""

    template: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template % self.params if self.params else self.template


def wording(template: str, **params: object) -> Wording:
    return Wording(template, params)


class LeadflowError(Exception):
    """An error the API answers as problem+json; subclasses set status, a stable code and a title. ``detail`` may
    be a :class:`Wording`, so that the console can translate it; ``detail`` itself is always the English text."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    # Some refusals must still persist what they found (a reused refresh token revokes its family).
    commit_on_error: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | Wording | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.wording = detail if isinstance(detail, Wording) else Wording(detail or self.title)
        self.detail = str(self.wording)
        super().__init__(self.detail)
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(LeadflowError):
    pass


class MalformedJson(LeadflowError):
    code = "malformed-json"
    title = "Malformed JSON body"


class Unauthenticated(LeadflowError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str | None = None, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(LeadflowError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(LeadflowError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(LeadflowError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(LeadflowError):
    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(LeadflowError):
    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class ValidationFailed(LeadflowError):
    status = 422
    code = "validation-failed"
    title = "Validation failed"


class TooManyRequests(LeadflowError):
    status = 429
    code = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str | Wording | None = None, *, retry_after: int, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(max(1, retry_after))})
        super().__init__(detail, **kw)


class HttpError(LeadflowError):
    """A framework-level HTTP error (405 and the like) carried as a problem."""

    code = "http-error"
    title = "HTTP error"

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        return {**super().to_problem(instance), "status": self.status_code}


class InternalError(LeadflowError):
    status = 500
    code = "internal-error"
    title = "Internal server error"


class ServiceUnavailable(LeadflowError):
    status = 503
    code = "service-unavailable"
    title = "Service unavailable"


class DependencyUnavailable(ServiceUnavailable):
    """The database could not be reached or did not answer in time: nothing of the request was kept; retry."""

    code = "dependency-unavailable"
    title = "Temporarily unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(
            detail or "the database is unreachable or too slow right now; nothing was stored, retry later",
            headers={"Retry-After": str(retry_after)},
        )


# SQLSTATE classes and codes of an unreachable or refusing server: connection exceptions (08), admin or crash
# shutdown and "cannot connect now" (57P01-57P03), too many connections (53300).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) means the database was out of reach, not that the request or our code
    was wrong: a refused, reset or timed-out connection, a pool that gave no connection in time, a connection
    the driver found dead, a locked SQLite file. Such failures answer 503 with ``Retry-After``, never 500."""
    from sqlalchemy import exc as sa_exc  # the one SQLAlchemy dependency of this module, kept local

    seen: BaseException | None = exc
    for _ in range(16):  # the cause chain, bounded: a chain is never that deep, a cycle would be endless
        if seen is None:
            return False
        if isinstance(seen, TimeoutError | ConnectionError | sa_exc.TimeoutError | sa_exc.InterfaceError):
            return True
        if isinstance(seen, sa_exc.DBAPIError) and seen.connection_invalidated:
            return True
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if type(seen).__name__ == "OperationalError" and "database is locked" in str(seen):  # SQLite's busy timeout
            return True
        driver_error = seen.orig if isinstance(seen, sa_exc.DBAPIError) else None
        seen = driver_error or seen.__cause__ or seen.__context__
    return False
