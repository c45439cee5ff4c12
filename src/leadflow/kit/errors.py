"""Typed errors and their RFC 9457 problem+json rendering."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://leadflow.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class LeadflowError(Exception):
    """An error the API answers as problem+json; subclasses set status, a stable code and a title."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    # Some refusals must still persist what they found (a reused refresh token revokes its family).
    commit_on_error: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
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

    def __init__(self, detail: str | None = None, *, retry_after: int, **kw: Any) -> None:
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
