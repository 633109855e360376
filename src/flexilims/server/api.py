"""The REST endpoints: token, query and body in, the store's reply out."""

import asyncio
import base64
import binascii
import json
import math
from concurrent.futures import ThreadPoolExecutor

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .. import dispatch, protocol
from ..errors import AuthenticationFailed, BadRequest, PayloadTooLarge
from ..openapi import openapi_document
from ..protocol import IDEMPOTENCY_HEADER, REPLAY_HEADER
from ..store import Store, db
from ..store.accounts import Accounts
from ..store.idempotency import IdempotentRequest
from .errors import error_response

#: Path prefix of every endpoint.
API_PREFIX = "/flexilims/api/"

#: Name of the cookie that carries the token for clients that keep cookies.
TOKEN_COOKIE = "flexilims_token"


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


async def json_body(request: Request, limit: int):
    """The decoded JSON body, or None when the body is empty.

    Raises
    ------
    PayloadTooLarge
        The body is longer than ``limit`` bytes (read no further).
    BadRequest
        It is not JSON, or nested too deeply to decode.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise BadRequest("the request body is nested too deeply to read") from None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than {limit:,} bytes (the server's "
        "max_body_bytes): send fewer operations per request"
    )


class FastJSONResponse(JSONResponse):
    """JSON encoded with orjson: replies of thousands of entities are common."""

    def render(self, content) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:
            # A lone surrogate quoted in a message (a dry run's problems):
            # orjson writes UTF-8 only; JSON may escape it.
            return json.dumps(content, ensure_ascii=True).encode()


def reply(value) -> Response:
    """Plain-text replies as text, the rest as JSON."""
    if isinstance(value, str):
        return PlainTextResponse(value)
    return FastJSONResponse(value)


async def in_thread(executor: ThreadPoolExecutor, function, *args):
    """``function(*args)`` run in a thread of ``executor``, awaited.

    The thread hands the outcome to the event loop itself: no concurrent
    future chained to an asyncio one as ``loop.run_in_executor`` makes, a
    tenth of a get's CPU in the server.
    """
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(result, error):
        if future.cancelled():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def work():
        try:
            result = function(*args)
        except BaseException as error:  # noqa: BLE001 (the awaiting request raises it)
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    executor.submit(work)
    return await future


class Api:
    """The endpoints, bound to one store.

    Parameters
    ----------
    store : Store
        The database the server serves.
    token_lifetime_hours : float
        How long a token from ``authenticate`` stays valid.
    threads : int
        Protocol requests run at once (in a pool of this many threads; the
        rest wait their turn).
    """

    def __init__(
        self, store: Store, token_lifetime_hours: float = 24, threads: int = 4
    ):
        if not token_lifetime_hours > 0:
            raise ValueError("the token lifetime must be a positive number of hours")
        self.store = store
        self.accounts = Accounts(store)
        self.token_lifetime_ms = int(token_lifetime_hours * 3600 * 1000)
        # A plain executor: handing a request to a thread costs a third of
        # what Starlette's run_in_threadpool (anyio) does.
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="flexilims-api")

    def routes(self) -> list[Route]:
        routes = [
            Route(API_PREFIX + "authenticate", self.authenticate, methods=["POST"]),
            Route(API_PREFIX + "revoke", self.revoke, methods=["POST"]),
            Route(API_PREFIX + "openapi.json", self.openapi, methods=["GET"]),
            Route(API_PREFIX + "health", self.health, methods=["GET"]),
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
                self.accounts.authenticate,
                username,
                password,
                self.token_lifetime_ms,
                request.client.host if request.client else None,
            )
        except Exception as error:  # noqa: BLE001 (rendered: never a bare 500)
            return error_response(error)
        response = PlainTextResponse(token)
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            max_age=max(1, self.token_lifetime_ms // 1000),
            path="/flexilims/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
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
        except Exception as error:  # noqa: BLE001 (rendered: never a bare 500)
            return error_response(error)
        response = PlainTextResponse(text)
        response.delete_cookie(TOKEN_COOKIE, path="/flexilims/")
        return response

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def health(self, request: Request) -> Response:
        """``GET health`` (ours, no token): whether the database answers and
        is at the newest migration; 503 with ``Retry-After`` when not."""
        healthy, report = await run_in_threadpool(db.health, self.store.engine)
        if healthy:
            return JSONResponse(report)
        retry_after = self.store.settings.retry_after_seconds
        return JSONResponse(
            report,
            status_code=503,
            headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
        )

    def operation_endpoint(self, operation: str):
        """The endpoint of one protocol operation."""
        wants_body = protocol.METHODS[operation] in ("POST", "PUT")

        keyed = operation == "batch"

        async def endpoint(request: Request) -> Response:
            try:
                limit = self.store.settings.max_body_bytes
                body = await json_body(request, limit) if wants_body else None
                key = request.headers.get(IDEMPOTENCY_HEADER) if keyed else None
                value, replayed = await in_thread(
                    self.executor,
                    self.call,
                    request_token(request),
                    operation,
                    dict(request.query_params),
                    body,
                    key,
                )
                response = reply(value)
                if replayed:
                    response.headers[REPLAY_HEADER] = "true"
                return response
            except Exception as error:  # noqa: BLE001 (rendered: never a bare 500)
                return error_response(error)

        endpoint.__name__ = operation.replace("-", "_")
        return endpoint

    def call(
        self,
        token: str | None,
        operation: str,
        params: dict,
        body,
        idempotency_key: str | None = None,
    ) -> tuple:
        """Check the token, then carry out the request (in a worker thread).

        Returns the reply and whether it replays an earlier request's (a
        ``batch`` sent again with its idempotency key).
        """
        actor = self.accounts.actor_for_token(token)
        if idempotency_key is None:
            return dispatch.call(self.store, actor, operation, params, body), False
        keyed = IdempotentRequest(
            actor.username, idempotency_key, operation, params, body
        )
        value = dispatch.call(self.store, actor, operation, params, body, keyed)
        return value, keyed.replayed
