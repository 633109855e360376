"""Sessions, CSRF tokens and messages between pages.

A session is a token of :meth:`flexilims.store.accounts.Accounts.authenticate`
(a row of the database, so any number of workers serve it) carried by the
``flexilims_session`` cookie: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` over
TLS, path ``/``. Logging out revokes the token. The API does not read this
cookie (its endpoints have no CSRF tokens), only its own.

Every form carries a CSRF token: an HMAC of the session's token, which a page
of another site can neither read nor compute. The login form, before any
session, carries a random value that must match a cookie of its own (double
submit).
"""

import hashlib
import hmac
import secrets
import urllib.parse

import orjson
from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "flexilims_session"
LOGIN_COOKIE = "flexilims_login"
FLASH_COOKIE = "flexilims_flash"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


class CsrfRefused(Exception):
    """A POST without the CSRF token of its session."""


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of a fixed label, keyed by
    the session's token."""
    return hmac.new(
        session_token.encode(), b"flexilims web form", hashlib.sha256
    ).hexdigest()


def csrf_ok(request: Request, form, session_token: str | None) -> bool:
    """Whether a POST carries the right token (form field or header).

    With a session, the token must be its HMAC; without one (the login form),
    the login cookie's random value.
    """
    sent = request.headers.get(CSRF_HEADER)
    if form is not None and isinstance(form.get(CSRF_FIELD), str):
        sent = form.get(CSRF_FIELD)
    if not sent:
        return False
    if session_token:
        expected = csrf_token(session_token)
    else:
        expected = request.cookies.get(LOGIN_COOKIE) or ""
    return bool(expected) and hmac.compare_digest(sent, expected)


def _cookie(response: Response, name: str, value: str, max_age: int, secure: bool):
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def start_session(response: Response, token: str, lifetime_ms: int, secure: bool):
    """Give the browser the session cookie of a new token."""
    _cookie(response, SESSION_COOKIE, token, max(1, lifetime_ms // 1000), secure)
    response.delete_cookie(LOGIN_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def login_nonce(request: Request, response_factory, secure: bool):
    """The login form's CSRF value: the login cookie's, or a new one."""
    value = request.cookies.get(LOGIN_COOKIE)
    if not value or len(value) != 43:
        value = secrets.token_urlsafe(32)
    response = response_factory(value)
    _cookie(response, LOGIN_COOKIE, value, 3600, secure)
    return response


def set_flash(response: Response, message: str, secure: bool) -> None:
    """A message for the next page (e.g. "Saved."), shown once."""
    text = urllib.parse.quote(orjson.dumps(message[:500]).decode())
    _cookie(response, FLASH_COOKIE, text, 60, secure)


def read_flash(request: Request) -> str | None:
    text = request.cookies.get(FLASH_COOKIE)
    if not text:
        return None
    try:
        message = orjson.loads(urllib.parse.unquote(text))
    except orjson.JSONDecodeError:
        return None
    return message if isinstance(message, str) else None


def clear_flash(response: Response) -> None:
    response.delete_cookie(FLASH_COOKIE, path="/")


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return "/"
    return target
