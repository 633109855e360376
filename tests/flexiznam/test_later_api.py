"""The later keywords of seed functions: get_children (parent_name, filter)
and add_mouse (mouse_info, conflicts), over both session kinds and backends."""

import pandas as pd
import pytest

import flexiznam.main as flz
from flexiznam.errors import FlexilimsError, NameNotUniqueError

MOUSE = "PZAH6.4b"


@pytest.fixture
def family(flz_session):
    """A mouse with a session, two samples and datasets of two types."""
    s = flz_session
    mouse = flz.add_mouse(MOUSE, "test", flexilims_session=s)
    day = flz.add_experimental_session(MOUSE, "2021-04-20", flexilims_session=s)
    brain = flz.add_sample(
        mouse["id"], attributes={"sample_type": "brain"}, flexilims_session=s
    )
    slice_ = flz.add_sample(
        mouse["id"], attributes={"sample_type": "slice", "zoom": 2}, flexilims_session=s
    )
    datasets = [
        flz.add_dataset(day["id"], kind, "2021", f"p/{kind}", flexilims_session=s)
        for kind in ("harp", "camera", "camera")
    ]
    return {
        "mouse": mouse,
        "day": day,
        "brain": brain,
        "slice": slice_,
        "datasets": datasets,
    }


# ---------------------------------------------------------------- get_children


def test_get_children_by_parent_name(flz_session, family):
    by_id = flz.get_children(family["mouse"]["id"], None, flexilims_session=flz_session)
    by_name = flz.get_children(
        None, None, flexilims_session=flz_session, parent_name=MOUSE
    )
    pd.testing.assert_frame_equal(by_id, by_name)
    sessions = flz.get_children(
        None, "session", flexilims_session=flz_session, parent_name=MOUSE
    )
    assert list(sessions.index) == [family["day"]["name"]]


def test_get_children_filter_keeps_children_with_those_values(flz_session, family):
    slices = flz.get_children(
        family["mouse"]["id"],
        "sample",
        flexilims_session=flz_session,
        filter={"sample_type": "slice"},
    )
    assert list(slices["id"]) == [family["slice"]["id"]]
    both = flz.get_children(
        family["mouse"]["id"],
        "sample",
        flexilims_session=flz_session,
        filter={"sample_type": "slice", "zoom": 2},
    )
    assert list(both["id"]) == [family["slice"]["id"]]
    # A child without the attribute does not match, whatever the value asked.
    for value in (None, 3):
        none = flz.get_children(
            family["mouse"]["id"],
            "sample",
            flexilims_session=flz_session,
            filter={"zoom": value},
        )
        assert none.empty
    cameras = flz.get_children(
        None,
        "dataset",
        flexilims_session=flz_session,
        parent_name=family["day"]["name"],
        filter={"dataset_type": "camera", "is_raw": "yes"},
    )
    assert list(cameras["id"]) == [ds["id"] for ds in family["datasets"][1:]]
    by_field = flz.get_children(
        family["mouse"]["id"],
        None,
        flexilims_session=flz_session,
        filter={"type": "session"},
    )
    assert list(by_field["id"]) == [family["day"]["id"]]


def test_get_children_parent_arguments_are_checked(flz_session, family):
    mouse = family["mouse"]
    with pytest.raises(AttributeError, match="id or its name"):
        flz.get_children(None, "session", flexilims_session=flz_session)
    with pytest.raises(AttributeError, match="not both"):
        flz.get_children(
            mouse["id"], "session", flexilims_session=flz_session, parent_name=MOUSE
        )
    with pytest.raises(FlexilimsError, match="Cannot find an entity named nobody"):
        flz.get_children(
            None, None, flexilims_session=flz_session, parent_name="nobody"
        )


def test_get_children_of_a_name_several_types_share(flz_session, family):
    flz.add_entity("session", MOUSE, flexilims_session=flz_session)
    with pytest.raises(NameNotUniqueError):
        flz.get_children(None, None, flexilims_session=flz_session, parent_name=MOUSE)


# ------------------------------------------------------------------- add_mouse


@pytest.fixture
def colony(tmp_path, set_config):
    path = tmp_path / "colony.csv"
    pd.DataFrame(
        {"Animal_name": [MOUSE], "Sex": ["M"], "Line": ["Ai95"]},
    ).to_csv(path, index=False)
    set_config(colony={"file": str(path)})
    return path


def test_add_mouse_mouse_info_is_merged_over_the_colony(flz_session, colony):
    mouse = flz.add_mouse(
        MOUSE,
        "test",
        flexilims_session=flz_session,
        mouse_info={"sex": "F", "weight": 21.5},
    )
    attributes = mouse["attributes"]
    assert attributes["sex"] == "F" and attributes["weight"] == 21.5
    assert attributes["line"] == "Ai95"
    assert attributes["genealogy"] == [MOUSE]
    assert attributes["path"] == f"test/{MOUSE}"


def test_add_mouse_conflicts(flz_session, store, snapshot):
    first = flz.add_mouse(
        MOUSE, "test", flexilims_session=flz_session, mouse_info={"sex": "F"}
    )
    before = snapshot(store)
    with pytest.raises(NameNotUniqueError, match="conflicts='skip' returns it"):
        flz.add_mouse(MOUSE, "test", flexilims_session=flz_session, conflicts="abort")
    skipped = flz.add_mouse(
        MOUSE, "test", flexilims_session=flz_session, mouse_info={"sex": "M"}
    )
    assert isinstance(skipped, pd.Series) and skipped["sex"] == "F"
    assert snapshot(store) == before
    updated = flz.add_mouse(
        MOUSE,
        "test",
        flexilims_session=flz_session,
        mouse_info={"weight": 20},
        conflicts="update",
    )
    assert updated["id"] == first["id"]
    assert updated["attributes"]["weight"] == 20
    mouse = flz.get_entity("mouse", name=MOUSE, flexilims_session=flz_session)
    assert mouse["sex"] == "F" and mouse["weight"] == 20
    flz.add_mouse(
        MOUSE,
        "test",
        flexilims_session=flz_session,
        mouse_info={"age": 3},
        conflicts="OVERWRITE",
    )
    mouse = flz.get_entity("mouse", name=MOUSE, flexilims_session=flz_session)
    assert mouse["age"] == 3 and mouse["sex"] is None and mouse["weight"] is None
    assert mouse["genealogy"] == [MOUSE] and mouse["path"] == f"test/{MOUSE}"
    assert len(flz.get_entities("mouse", flexilims_session=flz_session)) == 1


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"conflicts": "append"}, AttributeError, "conflicts must be one of"),
        ({"conflicts": None}, AttributeError, "conflicts must be one of"),
        ({"mouse_info": {"id": "x"}}, FlexilimsError, "reserved"),
        ({"mouse_info": {"bad name": 1}}, FlexilimsError, "not a valid attribute"),
    ],
)
@pytest.mark.parametrize("exists", [False, True])
def test_add_mouse_bad_input_changes_nothing(
    flz_session, store, snapshot, kwargs, error, message, exists
):
    if exists:
        flz.add_mouse(MOUSE, "test", flexilims_session=flz_session)
        kwargs = {"conflicts": "update", **kwargs}
    before = snapshot(store)
    with pytest.raises(error, match=message):
        flz.add_mouse(MOUSE, "test", flexilims_session=flz_session, **kwargs)
    assert snapshot(store) == before
