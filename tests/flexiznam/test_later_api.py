"""The later keywords of seed functions: get_children (parent_name, filter)
and add_mouse (mouse_info, conflicts), over both session kinds and backends;
the signatures of every later function."""

import inspect

import pandas as pd
import pytest

import flexiznam.main as flz
from flexiznam.errors import FlexilimsError, NameNotUniqueError
from flexiznam.schema import Dataset

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
        flz.add_dataset(
            day["id"], kind, "2021-04-20 10:00:00", f"p/{kind}", flexilims_session=s
        )
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


# ------------------------------------------------------------------ signatures

#: Lab code calls these by position and keyword: the seed's parameters first,
#: as documented, then the later releases' keywords.
SIGNATURES = {
    flz.get_data_root: "(which, project=None, flexilims_session=None)",
    flz.lookup_project: "(project_id, prm=None)",
    flz.get_child_dataset: "(flz_session, parent_name, dataset_type)",
    flz.get_datasets_recursively: (
        "(origin_id=None, origin_name=None, origin_series=None, "
        "dataset_type=None, filter_datasets=None, parent_type=None, "
        "filter_parents=None, return_paths=False, project_id=None, "
        "flexilims_session=None)"
    ),
    flz.delete_recursively: "(source_id, flexilims_session, do_it=False)",
    flz.get_children: (
        "(parent_id, children_datatype, project_id=None, flexilims_session=None, "
        "parent_name=None, filter=None)"
    ),
    flz.get_flexilims_session: (
        "(project_id, username=None, password=None, reuse_token=True, timeout=10, "
        "offline_mode=None)"
    ),
    flz.add_mouse: (
        "(mouse_name, project_id, flexilims_session=None, mcms_animal_name=None, "
        "flexilims_username=None, mcms_username=None, flexilims_password=None, "
        "attributes=None, mouse_info=None, conflicts='skip')"
    ),
    Dataset.from_dataseries: "(dataseries, flexilims_session=None)",
    Dataset.from_origin: (
        "(origin_id=None, origin_type=None, origin_name=None, dataset_type=None, "
        "conflicts=None, flexilims_session=None, project=None, "
        "extra_attributes=None)"
    ),
}


@pytest.mark.parametrize("function", SIGNATURES, ids=lambda f: f.__qualname__)
def test_later_functions_have_the_later_releases_signatures(function):
    assert str(inspect.signature(function)) == SIGNATURES[function]
    assert function.__doc__ and "Returns" in function.__doc__
