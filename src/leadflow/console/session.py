"""The console's session: the API's own tokens in cookies, and a CSRF token bound to the browser session.

Three cookies, all HttpOnly and SameSite=Lax, path ``/``:

* ``sid``: a random browser-session id, set before login so the login form is CSRF-protected too. The CSRF token
  is an HMAC of it under the signing key, so it needs no storage and cannot be guessed from another session.
* ``at``: the access token (the same short-lived JWT the API issues).
* ``rt``: the rotating refresh token; used when the access token has expired.

Over https the names carry the ``__Host-`` prefix and the Secure flag (the browser then refuses them from http and
from any other host); on ``http://localhost`` (``make demo``) they keep plain names. ``LEADFLOW_CONSOLE_SECURE_COOKIES``
chooses: ``auto`` (by the request's scheme), ``always`` or ``never``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from leadflow.auth.schemas import TokenPair
from leadflow.config import Settings

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class CookieNames:
    sid: str
    access: str
    refresh: str
    secure: bool


PLAIN = CookieNames(sid="lf_console_sid", access="lf_console_at", refresh="lf_console_rt", secure=False)
HOST_ONLY = CookieNames(sid="__Host-lf_sid", access="__Host-lf_at", refresh="__Host-lf_rt", secure=True)


def cookie_names(request: Request) -> CookieNames:
    settings: Settings = request.app.state.settings
    mode = settings.console_secure_cookies
    if mode == "always" or (mode == "auto" and request.url.scheme == "https"):
        return HOST_ONLY
    return PLAIN


def session_id(request: Request) -> str | None:
    value = request.cookies.get(cookie_names(request).sid)
    return value if value and 20 <= len(value) <= 100 else None


def ensure_session_id(request: Request) -> str:
    """The browser session's id; a new one is made (and set on the response later) when there is none."""
    current = session_id(request) or getattr(request.state, "console_new_sid", None)
    if current:
        return str(current)
    fresh = secrets.token_urlsafe(32)
    request.state.console_new_sid = fresh
    return fresh


def csrf_token(request: Request, sid: str) -> str:
    key = request.app.state.settings.signing_keys()[0].encode()
    return hmac.new(key, f"console-csrf:{sid}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(request: Request, presented: str | None) -> bool:
    sid = session_id(request)
    if not sid or not presented:
        return False
    # Any key that still verifies tokens (rotation) also verifies CSRF tokens made before the rotation.
    for key in request.app.state.settings.signing_keys():
        expected = hmac.new(key.encode(), f"console-csrf:{sid}".encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, presented):
            return True
    return False


def _set(response: Response, names: CookieNames, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=names.secure, httponly=True, samesite="lax")


def apply_pending_cookies(request: Request, response: Response) -> None:
    """Cookies decided while handling the request (new session id, tokens from a login or a refresh)."""
    names = cookie_names(request)
    ttl = request.app.state.login_policy.refresh_ttl_seconds
    if sid := getattr(request.state, "console_new_sid", None):
        _set(response, names, names.sid, sid, ttl)
    pair: TokenPair | None = getattr(request.state, "console_tokens", None)
    if pair is not None and response.status_code < 400:
        _set(response, names, names.access, pair.access_token, ttl)
        _set(response, names, names.refresh, pair.refresh_token, ttl)
    if getattr(request.state, "console_logout", False):
        for name in (names.access, names.refresh, names.sid):
            response.delete_cookie(name, path="/", secure=names.secure, httponly=True, samesite="lax")
