"""History and undo from Python: get_history and revert, over the in-process
session and HTTP, on SQLite and PostgreSQL."""

import pandas as pd
import pytest

import flexiznam.main as flz
from flexiznam.errors import FlexilimsError, NameNotUniqueError

MOUSE = "M001"


@pytest.fixture
def overwritten(flz_session):
    """A mouse whose attributes an update_entity in its default mode erased."""
    flz.add_mouse(MOUSE, "test", flexilims_session=flz_session, attributes={"sex": "F"})
    flz.update_entity(
        "mouse", name=MOUSE, attributes={"alive": False}, flexilims_session=flz_session
    )
    return flz.get_entity("mouse", name=MOUSE, flexilims_session=flz_session)


def test_history_is_a_dataframe_of_versions(flz_session, overwritten):
    assert overwritten["path"] is None and overwritten["genealogy"] is None
    history = flz.get_history(MOUSE, flexilims_session=flz_session)
    assert list(history.columns) == [
        "version",
        "changed_at",
        "changed_by",
        "action",
        "type",
        "name",
        "id",
        "changes",
    ]
    assert list(history["action"]) == ["update", "create"]
    assert history["version"].is_monotonic_decreasing
    assert isinstance(history["changed_at"].dtype, pd.DatetimeTZDtype)
    age = pd.Timestamp.now(tz="UTC") - history["changed_at"].iloc[0]
    assert pd.Timedelta(0) <= age < pd.Timedelta(minutes=5)
    assert set(history["changed_by"]) == {"tester"}
    erased = history["changes"].iloc[0]
    assert erased["attributes.path"] == ["test/M001", None]
    assert erased["attributes.genealogy"] == [[MOUSE], None]
    assert erased["attributes.alive"] == [None, False]


def test_revert_undoes_an_overwrite(flz_session, overwritten):
    history = flz.get_history(MOUSE, datatype="mouse", flexilims_session=flz_session)
    created = int(history["version"].iloc[-1])
    reverted = flz.revert(MOUSE, created, flexilims_session=flz_session)
    assert reverted["attributes"] == {
        "sex": "F",
        "genealogy": [MOUSE],
        "path": "test/M001",
    }
    after = flz.get_history(id=overwritten["id"], flexilims_session=flz_session)
    assert list(after["action"]) == ["revert", "update", "create"]
    day = flz.add_experimental_session(
        MOUSE, "2021-04-20", flexilims_session=flz_session
    )
    assert day["attributes"]["path"] == "test/M001/S20210420"
    again = flz.revert(
        id=overwritten["id"],
        version=int(after["version"].iloc[1]),
        flexilims_session=flz_session,
    )
    assert again["attributes"]["alive"] is False


def test_project_history_pages(flz_session, overwritten):
    flz.add_mouse("M002", "test", flexilims_session=flz_session)
    everything = flz.get_history(flexilims_session=flz_session)
    assert list(everything["name"]) == ["M002", MOUSE, MOUSE]
    page = flz.get_history(flexilims_session=flz_session, limit=1)
    rest = flz.get_history(
        flexilims_session=flz_session, before=int(page["version"].iloc[0])
    )
    assert list(rest["name"]) == [MOUSE, MOUSE]


def test_history_and_revert_mistakes(flz_session, overwritten, store, snapshot):
    before = snapshot(store)
    with pytest.raises(FlexilimsError, match="No mouse named nobody in the project"):
        flz.get_history("nobody", datatype="mouse", flexilims_session=flz_session)
    with pytest.raises(FlexilimsError, match="has no version 999"):
        flz.revert(MOUSE, 999, flexilims_session=flz_session)
    with pytest.raises(AttributeError, match="version must be a version number"):
        flz.revert(MOUSE, "latest", flexilims_session=flz_session)
    assert snapshot(store) == before
    flz.add_entity(
        "sample", "twin", origin_id=overwritten["id"], flexilims_session=flz_session
    )
    flz.add_entity(
        "session", "twin", origin_id=overwritten["id"], flexilims_session=flz_session
    )
    with pytest.raises(NameNotUniqueError) as ambiguous:
        flz.get_history("twin", flexilims_session=flz_session)
    assert str(ambiguous.value) == (
        "2 entities match name='twin': they are of types sample, session: give "
        "the datatype."
    )
