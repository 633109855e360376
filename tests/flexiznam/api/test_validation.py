"""The Python API is as strict as check-yaml: dates, created times, paths,
attribute values and parents, refused with a clear message before anything
is written (over the in-process session and HTTP, SQLite and PostgreSQL)."""

import datetime
from pathlib import Path

import numpy as np
import pytest

import flexiznam.main as flz
from flexiznam.api.validation import ValidationError
from flexiznam.errors import FlexilimsError

MOUSE = "M001"


@pytest.fixture
def mouse(flz_session):
    return flz.add_mouse(MOUSE, "test", flexilims_session=flz_session)


@pytest.fixture
def day(flz_session, mouse):
    return flz.add_experimental_session(
        MOUSE, datetime.date(2024, 5, 6), flexilims_session=flz_session
    )


@pytest.fixture
def recording(flz_session, day):
    return flz.add_recording(
        day["id"], "two_photon", "retinotopy", flexilims_session=flz_session
    )


def test_a_date_object_is_written_as_text(day):
    assert day["attributes"]["date"] == "2024-05-06"
    assert day["name"] == f"{MOUSE}_S20240506"


def test_datetimes_and_paths_in_attributes_are_written_as_text(flz_session, day):
    sample = flz.add_sample(
        day["origin_id"],
        attributes={
            "cut": datetime.datetime(2024, 5, 7, 9, 30),
            "scan": Path("slides") / "s1.czi",
            "thickness": np.float64(50.0),
            "sizes": (1, 2),
        },
        flexilims_session=flz_session,
    )
    assert {k: sample["attributes"][k] for k in ("cut", "scan", "thickness")} == {
        "cut": "2024-05-07 09:30:00",
        "scan": "slides/s1.czi",
        "thickness": 50.0,
    }
    assert flz.get_entity(id=sample["id"], flexilims_session=flz_session)["sizes"] == [
        1,
        2,
    ]


@pytest.mark.parametrize(
    "date, message",
    [
        ("2024-13-45", "date '2024-13-45' is not a date: give a datetime.date or text"),
        ("yesterday", "date 'yesterday' is not a date"),
        (20240506, "date 20240506 is not a date"),
    ],
)
def test_impossible_session_dates_are_refused(
    flz_session, mouse, store, snapshot, date, message
):
    before = snapshot(store)
    with pytest.raises(ValidationError, match=message):
        flz.add_experimental_session(MOUSE, date, flexilims_session=flz_session)
    assert snapshot(store) == before


@pytest.mark.parametrize(
    "created, path, message",
    [
        ("yesterday", "x/scan", "created 'yesterday' is not a date and time"),
        ("2021-02-30 10:00:00", "x/scan", "is not a date and time"),
        ("2021-04-20 10:00:00", "", "path '' is empty"),
        ("2021-04-20 10:00:00", "  ", "path '  ' is empty"),
        ("2021-04-20 10:00:00", None, "path None is empty"),
    ],
)
def test_datasets_need_a_real_time_and_a_path(
    flz_session, recording, store, snapshot, created, path, message
):
    before = snapshot(store)
    with pytest.raises(ValidationError, match=message):
        flz.add_dataset(
            recording["id"], "scanimage", created, path, flexilims_session=flz_session
        )
    assert snapshot(store) == before


def test_created_accepts_datetimes_and_iso_text(flz_session, recording):
    for created, name in (
        (datetime.datetime(2021, 4, 20, 10, 15, 12), "a"),
        ("2021-04-20T10:15:12", "b"),
    ):
        dataset = flz.add_dataset(
            recording["id"],
            "scanimage",
            created,
            Path("x") / name,
            dataset_name=name,
            flexilims_session=flz_session,
        )
        assert dataset["attributes"]["created"] == "2021-04-20 10:15:12"
        assert dataset["attributes"]["path"] == f"x/{name}"


@pytest.mark.parametrize(
    "attributes, message",
    [
        ([1, 2], "attributes must be a dict of names and values, not a list"),
        ("sex=F", "attributes must be a dict of names and values, not a str"),
        ({"when": object()}, "attribute when is a object, which the database cannot"),
        ({"tags": {1, 2}}, "attribute tags is a set"),
        ({"deep": {"x": [1, object()]}}, r"attribute deep.x\[1\] is a object"),
        ({"x": float("inf")}, "attribute x is inf: the database stores numbers only"),
        ({1: "a"}, "the name 1 is not text"),
    ],
)
def test_attributes_the_database_cannot_store_are_refused(
    flz_session, mouse, store, snapshot, attributes, message
):
    before = snapshot(store)
    with pytest.raises(ValidationError, match=message):
        flz.add_entity(
            "sample",
            "s1",
            origin_id=mouse["id"],
            attributes=attributes,
            flexilims_session=flz_session,
        )
    with pytest.raises(ValidationError, match=message):
        flz.update_entity(
            "mouse",
            name=MOUSE,
            mode="update",
            attributes=attributes,
            flexilims_session=flz_session,
        )
    assert snapshot(store) == before


def test_parents_follow_the_lab_settings(
    flz_session, mouse, recording, store, snapshot
):
    before = snapshot(store)
    with pytest.raises(FlexilimsError) as below_mouse:
        flz.add_recording(
            mouse["id"], "two_photon", "retinotopy", flexilims_session=flz_session
        )
    assert str(below_mouse.value) == (
        "Save failed. A recording cannot be below a mouse (the lab settings "
        "allow: session)."
    )
    dataset = flz.add_dataset(
        recording["id"],
        "scanimage",
        "2021-04-20 10:15:12",
        "x/scan",
        flexilims_session=flz_session,
    )
    before = snapshot(store)
    with pytest.raises(FlexilimsError, match="A dataset cannot be below a dataset"):
        flz.add_dataset(
            dataset["id"],
            "suite2p_rois",
            "2021-04-20 10:15:12",
            "x/rois",
            flexilims_session=flz_session,
        )
    assert snapshot(store) == before


def test_a_refused_add_does_not_use_up_its_number(flz_session, day, store, snapshot):
    first = flz.add_recording(
        day["id"], "two_photon", "retinotopy", flexilims_session=flz_session
    )
    assert first["name"].endswith("retinotopy_0")
    before = snapshot(store)
    with pytest.raises(FlexilimsError, match="'2p' is not a valid value"):
        flz.add_recording(day["id"], "2p", "retinotopy", flexilims_session=flz_session)
    assert snapshot(store) == before
    second = flz.add_recording(
        day["id"], "two_photon", "retinotopy", flexilims_session=flz_session
    )
    assert second["name"].endswith("retinotopy_1")
    with pytest.raises(FlexilimsError, match="'maybe' is not a valid value"):
        flz.add_dataset(
            second["id"],
            "scanimage",
            "2021-04-20 10:15:12",
            "x/scan",
            is_raw="maybe",
            flexilims_session=flz_session,
        )
    dataset = flz.add_dataset(
        second["id"],
        "scanimage",
        "2021-04-20 10:15:12",
        "x/scan",
        flexilims_session=flz_session,
    )
    assert dataset["name"].endswith("retinotopy_1_scanimage_0")
