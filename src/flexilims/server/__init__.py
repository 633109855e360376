"""The Flexilims REST server: an ASGI application over a store.

Every endpoint of the protocol goes through :func:`flexilims.protocol.call`, the
dispatcher the in-process session uses too, so the two cannot disagree. The
server is thin: it reads the token, the query and the JSON body, runs the
(synchronous) store call in a worker thread and writes the reply. Errors of
every kind are rendered by :func:`error_response` as the HTML page that
Flexilims clients parse.

The server keeps nothing in memory between requests: tokens, users and data
live in the database, so any number of workers or instances can share one.

Start it with ``flexilims serve`` or, for uvicorn directly::

    FLEXILIMS_DATABASE_URL=postgresql://... \
        uvicorn --factory flexilims.server:app_from_env --workers 4

Its settings (:mod:`flexilims.settings`) come from ``FLEXILIMS_*`` variables.
"""

import base64
import binascii
import contextlib
import html
import json
import logging
from dataclasses import replace
from http import HTTPStatus

import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .. import protocol
from ..errors import AuthenticationFailed, BadRequest, FlexilimsError
from ..openapi import openapi_document
from ..settings import Settings
from ..settings import load as load_settings
from ..store import Store
from ..store.accounts import Accounts

logger = logging.getLogger(__name__)

#: Path prefix of every endpoint.
API_PREFIX = "/flexilims/api/"

#: Name of the cookie that carries the token for clients that keep cookies.
TOKEN_COOKIE = "flexilims_token"

#: The Description paragraph of the error page, per status, as Tomcat writes it
#: under Flexilims.
DESCRIPTIONS = {
    400: (
        "The server cannot or will not process the request due to something "
        "that is perceived to be a client error (e.g., malformed request syntax, "
        "invalid request message framing, or deceptive request routing)."
    ),
    401: (
        "The request has not been applied because it lacks valid authentication "
        "credentials for the target resource."
    ),
    403: "The server understood the request but refuses to authorize it.",
    404: (
        "The origin server did not find a current representation for the target "
        "resource or is not willing to disclose that one exists."
    ),
    405: (
        "The method received in the request-line is known by the origin server "
        "but not supported by the target resource."
    ),
    500: (
        "The server encountered an unexpected condition that prevented it from "
        "fulfilling the request."
    ),
}


# ------------------------------------------------------------------ errors


def escape(text: str) -> str:
    """HTML-escape a message as Flexilims does (``'`` becomes ``&#39;``).

    Line breaks are escaped too, so that the page has no newline before the end
    of its Description paragraph (clients match it with ``re.match``).
    """
    return (
        html.escape(str(text), quote=False)
        .replace('"', "&quot;")
        .replace("'", "&#39;")
        .replace("\r", "&#13;")
        .replace("\n", "&#10;")
    )


def error_page(status: int, message: str) -> str:
    """The HTML body of an error reply.

    Parameters
    ----------
    status : int
        HTTP status code.
    message : str
        The error message, shown after ``<b>Message</b>`` and one space.

    Returns
    -------
    str
        One line of HTML with the protocol's ``Type``, ``Message`` and
        ``Description`` paragraphs.
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    description = DESCRIPTIONS.get(status, DESCRIPTIONS[500 if status >= 500 else 400])
    title = f"HTTP Status {status} \u2013 {phrase}"
    return (
        f'<!doctype html><html lang="en"><head><title>{title}</title></head>'
        f"<body><h1>{title}</h1><hr/>"
        "<p><b>Type</b> Status Report</p>"
        f"<p><b>Message</b> {escape(message)}</p>"
        f"<p><b>Description</b> {description}</p>"
        "<hr/><h3>flexilims</h3></body></html>"
    )


def error_response(error: Exception) -> Response:
    """Render any error as the protocol's HTML error reply.

    The one place errors become replies: :class:`FlexilimsError` keeps its
    status and message, Starlette's HTTP errors (unknown path, wrong method)
    theirs, and anything else is a 500 whose details go to the server log only.
    """
    headers = None
    if isinstance(error, FlexilimsError):
        status, message = error.status, error.message
        if isinstance(error, AuthenticationFailed):
            headers = {"WWW-Authenticate": 'Basic realm="flexilims"'}
    elif isinstance(error, HTTPException):
        status, message = error.status_code, error.detail
        headers = error.headers
    else:
        logger.error("unexpected error", exc_info=error)
        status, message = 500, f"internal server error ({type(error).__name__})"
    return HTMLResponse(
        error_page(status, message), status_code=status, headers=headers
    )


async def _http_error(request: Request, error: HTTPException) -> Response:
    if error.status_code == 404:
        error = HTTPException(404, f"no endpoint {request.url.path}")
    elif error.status_code == 405:
        methods = (error.headers or {}).get("Allow", "").split(",")
        allowed = ", ".join(sorted(m.strip() for m in methods if m.strip()))
        error = HTTPException(
            405,
            f"{request.method} is not allowed on {request.url.path}; use {allowed}",
            headers={"Allow": allowed},
        )
    return error_response(error)


# ----------------------------------------------------------------- requests


def request_token(request: Request) -> str | None:
    """The token of a request: ``Authorization: Bearer``, else the cookie."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


def basic_credentials(request: Request) -> tuple[str, str]:
    """Username and password of an HTTP Basic ``Authorization`` header."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise AuthenticationFailed("authenticate with HTTP Basic username and password")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationFailed("malformed HTTP Basic credentials") from None
    username, separator, password = decoded.partition(":")
    if not separator:
        raise AuthenticationFailed("malformed HTTP Basic credentials")
    return username, password


async def json_body(request: Request):
    """The decoded JSON body, or None when the body is empty."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None


class FastJSONResponse(JSONResponse):
    """JSON encoded with orjson: replies of thousands of entities are common."""

    def render(self, content) -> bytes:
        return orjson.dumps(content)


def reply(value) -> Response:
    """Plain-text replies as text, the rest as JSON."""
    if isinstance(value, str):
        return PlainTextResponse(value)
    return FastJSONResponse(value)


class Api:
    """The endpoints, bound to one store.

    Parameters
    ----------
    store : Store
        The database the server serves.
    token_lifetime_hours : float
        How long a token from ``authenticate`` stays valid.
    """

    def __init__(self, store: Store, token_lifetime_hours: float = 24):
        if not token_lifetime_hours > 0:
            raise ValueError("the token lifetime must be a positive number of hours")
        self.store = store
        self.accounts = Accounts(store)
        self.token_lifetime_ms = int(token_lifetime_hours * 3600 * 1000)

    def routes(self) -> list[Route]:
        routes = [
            Route(API_PREFIX + "authenticate", self.authenticate, methods=["POST"]),
            Route(API_PREFIX + "revoke", self.revoke, methods=["POST"]),
            Route(API_PREFIX + "openapi.json", self.openapi, methods=["GET"]),
        ]
        for operation, method in protocol.METHODS.items():
            routes.append(
                Route(
                    API_PREFIX + operation,
                    self.operation_endpoint(operation),
                    methods=[method],
                    name=operation,
                )
            )
        return routes

    async def authenticate(self, request: Request) -> Response:
        """``POST authenticate``: Basic credentials in, a new token out."""
        try:
            username, password = basic_credentials(request)
            token = await run_in_threadpool(
                self.accounts.authenticate, username, password, self.token_lifetime_ms
            )
        except Exception as error:
            return error_response(error)
        response = PlainTextResponse(token)
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            max_age=max(1, self.token_lifetime_ms // 1000),
            path="/flexilims/",
            httponly=True,
            samesite="lax",
        )
        return response

    async def revoke(self, request: Request) -> Response:
        """``POST revoke`` (ours): end the calling token."""

        def work(token):
            self.accounts.actor_for_token(token)
            self.accounts.revoke_token(token)
            return "token revoked"

        try:
            text = await run_in_threadpool(work, request_token(request))
        except Exception as error:
            return error_response(error)
        response = PlainTextResponse(text)
        response.delete_cookie(TOKEN_COOKIE, path="/flexilims/")
        return response

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    def operation_endpoint(self, operation: str):
        """The endpoint of one protocol operation."""
        wants_body = protocol.METHODS[operation] in ("POST", "PUT")

        async def endpoint(request: Request) -> Response:
            try:
                body = await json_body(request) if wants_body else None
                value = await run_in_threadpool(
                    self.call,
                    request_token(request),
                    operation,
                    dict(request.query_params),
                    body,
                )
                return reply(value)
            except Exception as error:
                return error_response(error)

        endpoint.__name__ = operation.replace("-", "_")
        return endpoint

    def call(self, token: str | None, operation: str, params: dict, body):
        """Check the token, then carry out the request (in a worker thread)."""
        actor = self.accounts.actor_for_token(token)
        return protocol.call(self.store, actor, operation, params, body)


def create_app(
    database_url: str | None = None,
    token_lifetime_hours: float | None = None,
    threads: int | None = None,
    settings: Settings | None = None,
) -> Starlette:
    """The ASGI application serving a database.

    Parameters
    ----------
    database_url : str, optional
        ``sqlite:////path.db`` or ``postgresql://user@host/db`` (default: the
        settings' database); the schema is created or upgraded if needed.
    token_lifetime_hours : float, optional
        How long a token stays valid after ``authenticate`` (default: the
        settings').
    threads : int, optional
        Requests a worker process runs at once (the rest wait their turn). A
        few suffice: the work is mostly Python holding the GIL, and more
        threads only queue on it.
    settings : flexilims.settings.Settings, optional
        Every other setting (default: :func:`flexilims.settings.load`).

    Returns
    -------
    starlette.applications.Starlette
        The application; ``app.state.store`` is its store.
    """
    settings = load_settings() if settings is None else settings
    settings = replace(
        settings,
        **{
            key: value
            for key, value in (
                ("database_url", database_url),
                ("token_lifetime_hours", token_lifetime_hours),
                ("threads", threads),
            )
            if value is not None
        },
    )
    store = Store.open(settings.database, settings)
    api = Api(store, settings.token_lifetime_hours)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.threads
        yield
        store.engine.dispose()

    app = Starlette(
        routes=api.routes(),
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.api = api
    return app


def app_from_env() -> Starlette:
    """The application for ``uvicorn --factory``, configured by the
    ``FLEXILIMS_*`` variables (:mod:`flexilims.settings`)."""
    return create_app(settings=load_settings())
