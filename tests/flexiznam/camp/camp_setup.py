"""Constants and helpers of the camp tests (imported by conftest and tests)."""

import sqlalchemy as sa

from flexilims.store import models

PROJECT = "test"
MOUSE = "PZAH6.4b"
SESSION = "S20210513"

#: Recordings of the generated session: two-photon with the default datasets,
#: two-photon with ONIX ephys, and a behaviour recording without protocol.
RECORDINGS = [
    "R182159_retinotopy",
    {"name": "R190000_sphere", "datasets": ["scanimage", "onix"]},
    {"name": "R191500", "datasets": [("camera", {"camera": "eye_camera"})]},
]


def database_rows(store) -> dict:
    """Every row of every table, to assert that a refused upload wrote nothing."""
    rows = {}
    with store.engine.connect() as conn:
        for table in models.metadata.sorted_tables:
            result = conn.execute(sa.select(table)).all()
            rows[table.name] = sorted(repr(tuple(row)) for row in result)
    return rows
