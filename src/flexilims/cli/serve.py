"""``flexilims serve``: the REST server with uvicorn."""

import gc
import os
import signal
import threading
import time

import click

from .. import settings as settings_module
from .common import database_option, open_store, shown

#: Seconds between two looks of a worker at its parent, and the grace a worker
#: has to finish its requests once the parent is gone.
PARENT_CHECK_SECONDS = 0.5
ORPHAN_GRACE_SECONDS = 5.0

#: Seconds a stopping server waits for its open requests and connections
#: (idle TLS connections would otherwise keep it waiting for ever).
GRACEFUL_SHUTDOWN_SECONDS = 10

SQLITE_WORKERS_WARNING = (
    "Warning: {workers} workers on SQLite. SQLite allows one writer at a time: "
    "the workers read in parallel, but their writes wait for each other (up "
    "to lock_timeout_seconds, then 503). For a lab server with several "
    "writers, use PostgreSQL."
)


def exit_with_parent(parent_pid: int) -> threading.Thread:
    """Stop this process when its parent is gone (its parent id changes).

    A worker of ``serve --workers N`` holds the listening socket: if the
    supervising process is killed (SIGKILL gives it no chance to stop its
    workers), the worker would go on serving, alone, holding the port. It asks
    itself to shut down (SIGTERM: uvicorn's graceful shutdown) and exits
    after :data:`ORPHAN_GRACE_SECONDS` in any case.
    """

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(ORPHAN_GRACE_SECONDS)
        os._exit(1)

    thread = threading.Thread(target=watch, name="flexilims-parent-watch", daemon=True)
    thread.start()
    return thread


def worker_app():
    """The application of one worker process (``uvicorn --factory``): that of
    :func:`flexilims.server.app_from_env`, and, in a worker started by a
    supervisor (``--workers N``), a watch on that supervisor."""
    import multiprocessing

    from ..server import app_from_env

    parent = multiprocessing.parent_process()
    if parent is not None:
        # The supervisor's id as recorded at spawn: if it died while this
        # worker was starting, the watch sees it at once.
        exit_with_parent(parent.pid)
    app = app_from_env()
    # The modules and objects loaded so far live as long as the worker: out
    # of the garbage collector's sight, its full passes stay short (they
    # would otherwise walk them all, a pause in some request's reply).
    gc.collect()
    gc.freeze()
    return app


def serving_text(database: str, host: str, port: int, https: bool) -> str:
    """What ``serve`` says at start-up: the database, and where the API and
    the web interface answer."""
    from ..server import API_PREFIX

    scheme = "https" if https else "http"
    shown_host = f"[{host}]" if ":" in host else host
    root = f"{scheme}://{shown_host}:{port}"
    return (
        f"Serving {shown(database)}\n"
        f"  API:           {root}{API_PREFIX}\n"
        f"  web interface: {root}/"
    )


@click.command()
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (use PostgreSQL for more than one).",
)
@click.option(
    "--token-lifetime",
    "token_lifetime",
    envvar=settings_module.env_name("token_lifetime_hours"),
    default=settings_module.Settings.token_lifetime_hours,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help=settings_module.Settings.help("token_lifetime_hours"),
)
@click.option(
    "--ssl-certfile",
    type=click.Path(exists=True, dir_okay=False),
    help="Serve HTTPS with this certificate (PEM); token cookies are then Secure.",
)
@click.option(
    "--ssl-keyfile",
    type=click.Path(exists=True, dir_okay=False),
    help="The private key of --ssl-certfile (PEM).",
)
@click.option("--access-log/--no-access-log", default=True, help="Log every request.")
def serve(
    database, host, port, workers, token_lifetime, ssl_certfile, ssl_keyfile, access_log
):
    """Serve the Flexilims REST API (under /flexilims/api/) and the web
    interface (at /) with uvicorn."""
    import sqlalchemy as sa
    import uvicorn

    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise click.UsageError("give both --ssl-certfile and --ssl-keyfile, or neither")
    if workers > 1 and sa.engine.make_url(database).get_backend_name() == "sqlite":
        click.echo(SQLITE_WORKERS_WARNING.format(workers=workers), err=True)
    # Create or upgrade the schema once, before the workers start.
    open_store(database).engine.dispose()
    # The workers read their settings from the environment they inherit.
    os.environ[settings_module.env_name("database_url")] = database
    os.environ[settings_module.env_name("token_lifetime_hours")] = str(token_lifetime)
    click.echo(serving_text(database, host, port, https=bool(ssl_certfile)), err=True)
    uvicorn.run(
        "flexilims.cli.serve:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
