"""The HTTP client of the Flexilims REST protocol.

:class:`Flexilims` has the methods, signatures and replies of the in-process
session (both come from :class:`flexilims.session.Session`) and raises the same
exceptions for the same bad requests, so code written for one runs on the
other. It talks to our server or to a real Flexilims server alike.
"""

import html
import json
import re
import warnings

import requests

from . import protocol
from .errors import FlexilimsError, Forbidden, ServerUnreachable, error_from_details
from .protocol import ERROR_HEADER
from .session import Session

#: Where ``flexilims serve`` listens by default.
DEFAULT_BASE_URL = "http://127.0.0.1:8000/flexilims/api/"

#: Endpoints whose reply is a list of entities: Flexilims servers have been
#: seen to send one entity as an object, and no entity as an empty 500.
LIST_REPLIES = frozenset({"get", "get-children"})

#: How Flexilims clients find the message in an HTML error page.
MESSAGE_PATTERN = r".*<b>Message</b>(.*)</p><p><b>Description</b>"


class BadBaseUrl(ValueError, AssertionError):
    """The base URL does not end in ``api/`` (an assertion in Flexilims clients)."""


def error_from_reply(reply: requests.Response) -> FlexilimsError:
    """The exception an error reply stands for.

    Parameters
    ----------
    reply : requests.Response
        A reply with a 4xx or 5xx status.

    Returns
    -------
    FlexilimsError
        The class the server named in its ``X-Flexilims-Error`` header (with
        its fields); from a server without it (Flexilims), the class of the
        status, and :class:`~flexilims.errors.NameTaken` for Flexilims' words
        of a taken name. The message is that of the page, HTML-unescaped,
        without the leading space.
    """
    found = re.match(MESSAGE_PATTERN, reply.text)
    if found:
        message = html.unescape(found.group(1))
        if message.startswith(" "):
            message = message[1:]
    else:
        text = reply.text.strip()
        message = f"{reply.reason}: {text[:500]}" if text else str(reply.reason)
    try:
        details = json.loads(reply.headers.get(ERROR_HEADER) or "{}")
    except ValueError:
        details = {}
    if not isinstance(details, dict):
        details = {}
    if not details and reply.status_code == 400:
        details = protocol.name_taken_details(message) or {}
    return error_from_details(reply.status_code, message, details)


class Flexilims(Session):
    """A session on a Flexilims server, over HTTP.

    Parameters
    ----------
    username : str
        Who to log in as.
    password : str, optional
        Needed to get a token, and to renew it when the server refuses it
        (HTTP 403). Without it, ``token`` is required.
    project_id : str, optional
        Default project (24-hex id) of ``get``, ``post`` and ``update_many``.
    base_url : str
        The API's URL, ending in ``api/``.
    token : str, optional
        A token from an earlier ``authenticate``; a new one is requested when
        missing.
    timeout : float
        Seconds to wait for a reply.

    Raises
    ------
    AuthenticationFailed
        Wrong username or password.
    ServerUnreachable
        No server answers at ``base_url``.
    """

    def __init__(
        self,
        username: str,
        password: str | None = None,
        project_id: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        timeout: float = 60,
    ):
        if not base_url.endswith("api/"):
            raise BadBaseUrl(f"the base URL must end with 'api/', not {base_url!r}")
        self.username = username
        self.password = password
        self.project_id = project_id
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()
        if token is None:
            token = self.get_token()
        self.set_token(token)

    def __repr__(self) -> str:
        return (
            f"Flexilims(username={self.username!r}, project_id={self.project_id!r}, "
            f"base_url={self.base_url!r})"
        )

    # ----------------------------------------------------------------- tokens

    def get_token(self) -> str:
        """Authenticate with the password; return a new token."""
        if self.password is None:
            raise Forbidden(
                f"no password for {self.username}: give a password or a valid token"
            )
        reply = self._send("POST", "authenticate", auth=(self.username, self.password))
        if not reply.ok:
            raise error_from_reply(reply)
        return reply.text.strip()

    def set_token(self, token: str) -> None:
        """Send ``token`` with every following request."""
        self.token = token
        self.session.headers["Authorization"] = f"Bearer {token}"

    def update_token(self) -> str:
        """Get a new token with the password and use it; returns it."""
        token = self.get_token()
        self.set_token(token)
        return token

    def revoke_token(self) -> str:
        """End the current token on the server (our servers only)."""
        return self.request("POST", "revoke", {})

    # --------------------------------------------------------------- requests

    def _send(self, method: str, operation: str, **kwargs) -> requests.Response:
        url = self.base_url + operation
        try:
            try:
                return self.session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.ConnectionError as error:
                # A read whose connection dropped before any reply is sent once
                # more: on a busy server, a kept-alive connection is closed as
                # it is reused. Writes are never resent here (a batch carries
                # an idempotency key for that); neither is a slow reply.
                if method != "GET" or isinstance(error, requests.Timeout):
                    raise
                return self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as error:
            raise ServerUnreachable(
                f"no reply from the flexilims server at {url} within "
                f"{self.timeout} s ({error})"
            ) from error
        except requests.ConnectionError as error:
            raise ServerUnreachable(
                f"cannot reach the flexilims server at {url} ({error})"
            ) from error

    def request(
        self, method: str, operation: str, params: dict, body=None, headers=None
    ):
        kwargs = {"params": params, "headers": dict(headers or {})}
        if body is not None:
            # Encoded here, like the in-process session does, so that a NaN
            # reaches the server and gets its error rather than failing here.
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"]["Content-Type"] = "application/json"
        reply = self._send(method, operation, **kwargs)
        if reply.status_code == 403 and self.password is not None:
            self.update_token()
            reply = self._send(method, operation, **kwargs)
        lists = operation in LIST_REPLIES
        if lists and reply.status_code == 500 and not reply.content.strip():
            warnings.warn(
                f"{self.base_url}{operation} answered 500 with an empty body, as "
                "Flexilims servers do for an empty result: read as no entity",
                stacklevel=3,
            )
            return []
        if not reply.ok:
            raise error_from_reply(reply)
        if reply.headers.get("Content-Type", "").startswith("application/json"):
            value = reply.json()
            if lists and isinstance(value, dict):
                return [value]  # Flexilims sends one entity as an object
            return value
        return reply.text
