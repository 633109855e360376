"""Alembic environment: uses the engine handed over by flexilims.db, or the
``FLEXILIMS_DATABASE_URL`` environment variable for the ``alembic`` command."""

import os

from alembic import context

from flexilims.store.db import create_engine
from flexilims.store.models import PG_NAME_TRGM_INDEX, SQLITE_NAME_SEARCH, metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    url = os.environ.get("FLEXILIMS_DATABASE_URL") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("Set FLEXILIMS_DATABASE_URL to the database to migrate.")
    engine = create_engine(url)


def include_object(obj, name, type_, reflected, compare_to):
    """Leave out of autogenerate what the models cannot declare: the name
    search index of each backend (migration 0003), made with raw SQL."""
    if type_ == "table" and name.startswith(SQLITE_NAME_SEARCH):
        return False
    if type_ == "index" and name == PG_NAME_TRGM_INDEX:
        return False
    return True


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
