"""The Flexilims REST server: an ASGI application over a store.

Every endpoint of the protocol goes through :func:`flexilims.dispatch.call`, the
dispatcher the in-process session uses too, so the two cannot disagree. The
server is thin: it reads the token, the query and the JSON body, runs the
(synchronous) store call in a worker thread and writes the reply. Errors of
every kind are rendered in one place
(:func:`flexilims.server.errors.error_response`) as the HTML page that
Flexilims clients parse.

The server keeps nothing in memory between requests: tokens, users and data
live in the database, so any number of workers or instances can share one.

Start it with ``flexilims serve`` or, for uvicorn directly::

    FLEXILIMS_DATABASE_URL=postgresql://... \
        uvicorn --factory flexilims.server:app_from_env --workers 4

Its settings (:mod:`flexilims.settings`) come from ``FLEXILIMS_*`` variables.
"""

import contextlib
from dataclasses import replace

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from ..settings import Settings
from ..settings import load as load_settings
from ..store import Store
from ..web import Web
from ..web import routes as web_routes
from .api import API_PREFIX, TOKEN_COOKIE, Api
from .errors import error_page, error_response, http_error

__all__ = [
    "API_PREFIX",
    "TOKEN_COOKIE",
    "Api",
    "app_from_env",
    "create_app",
    "error_page",
    "error_response",
]


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
    api = Api(store, settings.token_lifetime_hours, settings.threads)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = settings.threads
        yield
        store.engine.dispose()

    web = Web(store, settings)

    async def not_found(request, error):
        # Under /flexilims/, the protocol's error page (what API clients read).
        if request.url.path.startswith("/flexilims/"):
            return await http_error(request, error)
        return await web.not_found(request, error)

    app = Starlette(
        routes=api.routes() + web_routes(web),
        exception_handlers={HTTPException: not_found},
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.api = api
    app.state.web = web
    return app


def app_from_env() -> Starlette:
    """The application for ``uvicorn --factory``, configured by the
    ``FLEXILIMS_*`` variables (:mod:`flexilims.settings`)."""
    return create_app(settings=load_settings())
