"""Forms of the settings pages: a refusal of the service (or of its input schema) shown in the form it came from,
translated, with what was typed kept; a success redirects back to the section (post, redirect, get)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from leadflow.console.web import is_translated, said, t
from leadflow.kit.errors import Conflict, Forbidden, LeadflowError, ValidationFailed

# Service refusals a form shows in place; anything else (a 404 above all) is the console's error page.
SHOWN_IN_FORM = (ValidationFailed, Conflict, Forbidden)


@dataclass(frozen=True, slots=True)
class FormState:
    """One form's refusal: which form, the message per field, a general message, and what was sent."""

    form: str
    status: int
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""
    detail: str = ""
    values: Mapping[str, str] = field(default_factory=dict)

    def error(self, form: str, name: str) -> str:
        return self.errors.get(name, "") if form == self.form else ""

    def value(self, form: str, name: str, default: str = "") -> str:
        return str(self.values.get(name, default)) if form == self.form else default


def _pydantic_message(locale: str, error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return t(locale, "Required.")
    if kind == "string_too_short" or (kind == "too_short" and isinstance(error.get("input"), str)):
        return t(locale, "Too short: at least %(n)s characters.", n=ctx.get("min_length", 1))
    if kind == "string_too_long":
        return t(locale, "Too long: at most %(n)s characters.", n=ctx.get("max_length", ""))
    if kind == "too_short":
        return t(locale, "Choose at least %(n)s.", n=ctx.get("min_length", 1))
    if kind in ("int_parsing", "int_type", "int_from_float", "float_parsing"):
        return t(locale, "Give a whole number.")
    if kind in ("greater_than_equal", "greater_than"):
        return t(locale, "Must be at least %(n)s.", n=ctx.get("ge", ctx.get("gt", "")))
    if kind in ("less_than_equal", "less_than"):
        return t(locale, "Must be at most %(n)s.", n=ctx.get("le", ctx.get("lt", "")))
    if kind in ("enum", "literal_error"):
        return t(locale, "Choose one of the options.")
    if kind == "string_pattern_mismatch":
        return t(locale, "Invalid format.")
    if kind == "json_invalid":
        return t(locale, "Invalid JSON.")
    if "email" in str(error.get("msg", "")):
        return t(locale, "Not a valid e-mail address.")
    return t(locale, "Invalid value.")


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "form"


def refusal(locale: str, exc: Exception, *, form: str, values: Mapping[str, str]) -> FormState:
    """The form state of a refusal, every message in the reader's language (the service's own wording, which is
    English, is kept as a detail only when no field could be named)."""
    if isinstance(exc, ValidationError):
        errors = {_location(e["loc"]): _pydantic_message(locale, e) for e in exc.errors()}
        return FormState(form, 422, errors, t(locale, "Some fields are invalid."), values=values)
    assert isinstance(exc, LeadflowError)
    errors = {}
    for item in exc.errors or []:
        wording = str(item.get("message") or exc.detail)
        errors[str(item.get("field", "form"))] = translated(locale, wording) or t(locale, "Invalid value.")
    if is_translated(locale, exc.wording):
        return FormState(form, exc.status, errors, said(locale, exc.wording), values=values)
    general = {
        409: t(locale, "This conflicts with what is already saved."),
        403: t(locale, "You may not do this"),
    }.get(exc.status, t(locale, "Some fields are invalid."))
    return FormState(form, exc.status, errors, general, detail=exc.detail, values=values)


def translated(locale: str, wording: str) -> str | None:
    """The service's wording in the reader's language when the catalog has it (English needs none)."""
    text = t(locale, wording)
    return text if text != wording or locale == "en" else None


async def attempt(
    write: Callable[[], Awaitable[str | Response]],
    refused: Callable[[FormState], Awaitable[Response]],
    *,
    locale: str,
    form: str,
    values: Mapping[str, str],
) -> Response:
    """Run ``write``; a URL it answers is where the browser goes next (303), a response is sent as it is. A refusal
    renders the page again with the form's errors (a 4xx status, so the request's transaction rolls back)."""
    try:
        outcome = await write()
    except (ValidationError, *SHOWN_IN_FORM) as exc:
        state = refusal(locale, exc, form=form, values=values)
        response = await refused(state)
        response.status_code = state.status
        return response
    if isinstance(outcome, Response):
        return outcome
    return RedirectResponse(outcome, status_code=303)
