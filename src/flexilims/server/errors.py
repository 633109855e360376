"""Errors as replies: the one place an exception becomes an HTTP error.

Every error is the protocol's one-line HTML page (its ``Message`` paragraph is
what Flexilims clients read) with the status of its class, and, for our own
clients, the ``X-Flexilims-Error`` header: the error's code and fields as JSON
(:meth:`flexilims.errors.FlexilimsError.details`), from which the HTTP client
rebuilds the same exception.
"""

import html
import json
import logging
import math
from http import HTTPStatus

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .. import settings as settings_module
from ..errors import AuthenticationFailed, FlexilimsError
from ..protocol import ERROR_HEADER, ERROR_HEADER_TEXT_LIMIT
from ..store import db

logger = logging.getLogger("flexilims.server")


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
    413: (
        "The server is refusing to process a request because the request "
        "payload is larger than the server is willing or able to process."
    ),
    422: (
        "The server understands the content type of the request entity, and "
        "the syntax of the request entity is correct, but it was unable to "
        "process the contained instructions."
    ),
    429: "The user has sent too many requests in a given amount of time.",
    503: (
        "The server is currently unable to handle the request due to a "
        "temporary overload or scheduled maintenance, which will likely be "
        "alleviated after some delay."
    ),
    500: (
        "The server encountered an unexpected condition that prevented it from "
        "fulfilling the request."
    ),
}


def escape(text: str) -> str:
    """HTML-escape a message as Flexilims does (``'`` becomes ``&#39;``).

    Line breaks are escaped too, so that the page has no newline before the end
    of its Description paragraph (clients match it with ``re.match``).
    """
    return (
        html.escape(printable(str(text)), quote=False)
        .replace('"', "&quot;")
        .replace("'", "&#39;")
        .replace("\r", "&#13;")
        .replace("\n", "&#10;")
    )


def printable(text: str) -> str:
    """``text`` as UTF-8 can carry it: a lone surrogate quoted from a request
    (``"\\ud800"`` in its JSON) is written ``\\ud800``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_header(details: dict) -> str:
    """The ``X-Flexilims-Error`` header: the error's details as ASCII JSON
    (header values are Latin-1), each text cut to :data:`ERROR_HEADER_TEXT_LIMIT`
    characters."""
    return json.dumps(_cut(details), ensure_ascii=True, separators=(",", ":"))


def _cut(value):
    if isinstance(value, str) and len(value) > ERROR_HEADER_TEXT_LIMIT:
        return value[: ERROR_HEADER_TEXT_LIMIT - 1] + "\u2026"
    if isinstance(value, dict):
        return {key: _cut(item) for key, item in value.items()}
    return value


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
    theirs, a database outage the engine did not translate already becomes a
    503 (:func:`flexilims.store.db.unavailable`), and anything else is a 500
    whose details go to the server log only. Errors that may succeed later
    (429, 503) carry ``Retry-After`` in whole seconds.
    """
    headers = None
    if not isinstance(error, FlexilimsError | HTTPException):
        # A driver error the engine did not translate (outside SQLAlchemy).
        retry_after = settings_module.load().retry_after_seconds
        error = db.unavailable(error, retry_after) or error
    if isinstance(error, FlexilimsError):
        status, message = error.status, error.message
        headers = {ERROR_HEADER: error_header(error.details())}
        if isinstance(error, AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Basic realm="flexilims"'
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    elif isinstance(error, HTTPException):
        status, message = error.status_code, error.detail
        headers = error.headers
    else:
        logger.error("unexpected error", exc_info=error)
        status, message = 500, f"internal server error ({type(error).__name__})"
    return HTMLResponse(
        error_page(status, message), status_code=status, headers=headers
    )


async def http_error(request: Request, error: HTTPException) -> Response:
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
