"""The web interface's plumbing: pages as plain functions, errors as pages.

A page is a function ``page(ctx) -> Response`` run in a worker thread (the
store is synchronous). :meth:`Web.page` wraps it into a Starlette endpoint
that reads the form of a POST, finds who is logged in (the session cookie's
token, one query), checks the CSRF token of every POST before anything else,
and turns errors into pages: a project or entity the user cannot see is a 404
like one that does not exist; a refusal of the store is a 400 with its
message.
"""

import hashlib
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources

import jinja2
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..errors import (
    BadRequest,
    FlexilimsError,
    Forbidden,
    NotFound,
    ProjectNotFound,
    TooManyRequests,
)
from ..store import Actor, Store, browse
from ..store.accounts import Accounts
from . import auth

logger = logging.getLogger("flexilims.web")

#: Headers of every page: no framing, no inline script, no other origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: Largest form a page reads (fields and files), in bytes.
MAX_FORM_BYTES = 1024 * 1024


class LoginRequired(Exception):
    """No session, or it has ended: the page asks to log in."""


class AdminOnly(Exception):
    """A page for admins, asked for by someone else (403)."""


@dataclass
class Context:
    """What a page gets: the request, its form, who asks, and the site."""

    web: "Web"
    request: Request
    actor: Actor | None
    token: str | None
    form: FormData | None = None
    cookies: list[tuple] = field(default_factory=list)

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    @property
    def store(self) -> Store:
        return self.web.store

    @property
    def accounts(self) -> Accounts:
        return self.web.accounts

    @property
    def csrf(self) -> str:
        return auth.csrf_token(self.token) if self.token else ""

    @property
    def htmx(self) -> bool:
        return self.request.headers.get("hx-request") == "true"

    def field(self, name: str, default: str = "") -> str:
        """A form field as text (``default`` when absent)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else default

    def render(self, template: str, status: int = 200, **values) -> HTMLResponse:
        return self.web.render(self, template, status=status, **values)

    def redirect(self, url: str, message: str | None = None) -> Response:
        """See another page (after a POST), with a message shown there once."""
        response = RedirectResponse(url, status_code=303)
        if message:
            auth.set_flash(response, message, secure=self.web.secure(self.request))
        return response


def format_time(ms) -> str:
    """Milliseconds since the epoch as local date and time, to the minute."""
    if ms is None:
        return ""
    moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def iso_time(ms) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def show_value(value) -> str:
    """An attribute value as text: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def past(action: str) -> str:
    """A history action as a past verb: ``update`` -> ``updated``."""
    words = {"save": "created", "create": "created", "revert": "reverted"}
    if action in words:
        return words[action]
    return action + ("d" if action.endswith("e") else "ed")


def project_path(project) -> str:
    """The URL segment of a project: its name, or its id when the name
    cannot be one segment."""
    name = project.name if hasattr(project, "name") else project["name"]
    pid = project.id if hasattr(project, "id") else project["id"]
    if "/" in name or name in (".", "..") or not name.strip():
        return pid
    return urllib.parse.quote(name, safe="")


def plural(count: int, word: str) -> str:
    """``1 mouse``, ``2 mice``, ``3 datasets``."""
    if count == 1:
        return f"{count:,} {word}"
    irregular = {"mouse": "mice"}
    if word in irregular:
        return f"{count:,} {irregular[word]}"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{count:,} {word[:-1]}ies"
    if word.endswith(("s", "x", "sh", "ch")):
        return f"{count:,} {word}es"
    return f"{count:,} {word}s"


def _static_version() -> str:
    """A digest of the static files, so that browsers reload them on upgrade."""
    digest = hashlib.sha256()
    folder = resources.files("flexilims.web").joinpath("static")
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.is_file():
            digest.update(item.read_bytes())
    return digest.hexdigest()[:12]


class Web:
    """The pages of one store.

    Parameters
    ----------
    store : Store
        The database.
    settings : flexilims.settings.Settings
        ``token_lifetime_hours`` (sessions), ``data_root`` and ``cache_dir``.
    """

    def __init__(self, store: Store, settings):
        self.store = store
        self.settings = settings
        self.accounts = Accounts(store)
        self.session_ms = int(settings.token_lifetime_hours * 3600 * 1000)
        self.templates = jinja2.Environment(
            loader=jinja2.PackageLoader("flexilims.web", "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
        )
        self.templates.globals.update(
            format_time=format_time,
            iso_time=iso_time,
            show_value=show_value,
            project_path=project_path,
            plural=plural,
            past=past,
            count_limit=browse.COUNT_LIMIT,
            static_version=_static_version(),
        )

    # --------------------------------------------------------------- requests

    @staticmethod
    def secure(request: Request) -> bool:
        """Whether the request came over TLS (cookies are then ``Secure``).

        Behind a proxy that ends TLS, uvicorn's ``--proxy-headers`` (on by
        default for proxies in ``FORWARDED_ALLOW_IPS``) sets the scheme from
        ``X-Forwarded-Proto``.
        """
        return request.url.scheme == "https"

    def page(self, handler: Callable, *, login: bool = True, admin: bool = False):
        """The Starlette endpoint of a page function."""

        async def endpoint(request: Request) -> Response:
            try:
                form = None
                if request.method == "POST":
                    form = await self._read_form(request)
            except BadRequest as error:
                response = await run_in_threadpool(self.error_response, request, error)
            else:
                response = await run_in_threadpool(
                    self._run, handler, request, form, login, admin
                )
            response.headers.update(
                {k: v for k, v in SECURITY_HEADERS.items() if k not in response.headers}
            )
            return response

        endpoint.__name__ = handler.__name__
        return endpoint

    @staticmethod
    async def _read_form(request: Request) -> FormData:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_FORM_BYTES:
            raise BadRequest("The form is too large.")
        try:
            return await request.form(max_files=0, max_fields=2000)
        except HTTPException as error:
            raise BadRequest(f"The form could not be read: {error.detail}") from None
        except Exception as error:  # noqa: BLE001 (any parser error: a bad form)
            raise BadRequest(f"The form could not be read ({error}).") from None

    def _run(self, handler, request, form, login, admin) -> Response:
        try:
            return self._call(handler, request, form, login, admin)
        except Exception as error:  # noqa: BLE001 (rendered: never a bare 500)
            return self.error_response(request, error)

    def _call(self, handler, request, form, login, admin) -> Response:
        token = request.cookies.get(auth.SESSION_COOKIE) or None
        actor = None
        if token:
            try:
                actor = self.accounts.actor_for_token(token)
            except Forbidden:
                token = None
        if login and actor is None:
            raise LoginRequired
        if request.method == "POST" and not auth.csrf_ok(request, form, token):
            raise auth.CsrfRefused
        if admin and not actor.is_admin:
            raise AdminOnly
        ctx = Context(self, request, actor, token, form)
        return handler(ctx)

    # -------------------------------------------------------------- responses

    def render(self, ctx: Context | None, template: str, status: int = 200, **values):
        """A template as an HTML response; ``ctx`` gives the page's user,
        its CSRF token and the message of the previous page."""
        request = ctx.request if ctx else None
        fragment = values.pop("fragment", False)
        flash = None
        if request is not None and not fragment:
            flash = auth.read_flash(request)
        html = self.templates.get_template(template).render(
            actor=ctx.actor if ctx else None,
            csrf=ctx.csrf if ctx else "",
            flash=flash,
            path=request.url.path if request is not None else "/",
            **values,
        )
        response = HTMLResponse(html, status_code=status)
        if flash is not None:
            auth.clear_flash(response)
        return response

    async def not_found(self, request: Request, error: HTTPException) -> Response:
        """Starlette's own errors (no such page, wrong method) as pages."""
        response = await run_in_threadpool(self.error_response, request, error)
        response.headers.update(SECURITY_HEADERS)
        return response

    def error_response(self, request: Request, error: Exception) -> Response:
        """The page of an error (the only place errors become pages); runs in
        a worker thread (it may look up who is logged in)."""
        htmx = request.headers.get("hx-request") == "true"
        if isinstance(error, LoginRequired):
            here = _here(request) if request.method == "GET" else "/"
            if htmx:  # back to the page that asked for the fragment
                page = urllib.parse.urlsplit(request.headers.get("hx-current-url", ""))
                here = page.path + (f"?{page.query}" if page.query else "")
            target = "/login"
            if here not in ("", "/", "/login"):
                target += "?" + urllib.parse.urlencode({"next": here})
            if htmx:
                return Response(status_code=204, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        if isinstance(error, auth.CsrfRefused):
            status, title = 403, "This form has expired"
            message = (
                "The page that sent this form is too old or comes from another "
                "site, so nothing was changed. Go back, reload the page and try "
                "again."
            )
        elif isinstance(error, AdminOnly):
            status, title = 403, "For admins only"
            message = "This page is for the lab's admins."
        elif isinstance(error, ProjectNotFound | NotFound | Forbidden):
            status, title = 404, "Not found"
            message = "There is no such page, or it is not one of your projects."
        elif isinstance(error, TooManyRequests):
            status, title, message = 429, "Too many attempts", error.detail
        elif isinstance(error, BadRequest):
            status, title, message = 400, "Not done", error.detail
        elif isinstance(error, HTTPException):
            status = error.status_code
            title = "Not found" if status == 404 else "Not allowed"
            message = (
                "There is no such page."
                if status == 404
                else f"{request.method} is not allowed here."
            )
        else:
            logger.error("unexpected error on %s", request.url.path, exc_info=error)
            status, title = 500, "Something went wrong"
            message = (
                "The server met an unexpected error; it has been logged. "
                f"({type(error).__name__})"
            )
        actor = None
        token = request.cookies.get(auth.SESSION_COOKIE)
        if token and status != 500:
            try:
                actor = self.accounts.actor_for_token(token)
            except FlexilimsError:
                actor = None
        ctx = Context(self, request, actor, token if actor else None)
        template = "fragments/error.html" if htmx else "error.html"
        return self.render(
            ctx, template, status=status, title=title, message=message, fragment=htmx
        )


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
