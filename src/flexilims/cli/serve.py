"""``flexilims serve``: the REST server with uvicorn."""

import os

import click

from .. import settings as settings_module
from ..server import API_PREFIX
from .common import database_option, open_store, shown


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
@click.option("--access-log/--no-access-log", default=True, help="Log every request.")
def serve(database, host, port, workers, token_lifetime, access_log):
    """Serve the Flexilims REST API with uvicorn."""
    import uvicorn

    # Create or upgrade the schema once, before the workers start.
    open_store(database).engine.dispose()
    # The workers read their settings from the environment they inherit.
    os.environ[settings_module.env_name("database_url")] = database
    os.environ[settings_module.env_name("token_lifetime_hours")] = str(token_lifetime)
    click.echo(
        f"Serving {shown(database)} at http://{host}:{port}{API_PREFIX}", err=True
    )
    uvicorn.run(
        "flexilims.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
    )
