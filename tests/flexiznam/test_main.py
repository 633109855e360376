"""The seed API of flexiznam.main, over a real database (SQLite and PostgreSQL)."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

import flexiznam.main as flz
from flexilims.errors import FlexilimsError as StoreError
from flexiznam.errors import FlexilimsError, FlexiznamError, NameNotUniqueError

MOUSE = "PZAH6.4b"


@pytest.fixture
def mouse(flz_session):
    return flz.add_mouse(
        MOUSE, "test", flexilims_session=flz_session, attributes={"sex": "F"}
    )


@pytest.fixture
def day(flz_session, mouse):
    return flz.add_experimental_session(
        MOUSE, "2021-04-20", flexilims_session=flz_session
    )


@pytest.fixture
def recording(flz_session, day):
    return flz.add_recording(
        day["id"], "two_photon", "retinotopy", flexilims_session=flz_session
    )


def add_scanimage(session, parent_id, **kwargs):
    return flz.add_dataset(
        parent_id,
        "scanimage",
        "2021-04-20 10:15:12",
        "test/PZAH6.4b/S20210420/R1/scan",
        flexilims_session=session,
        **kwargs,
    )


# ---------------------------------------------------------------------- mice


def test_add_mouse_names_genealogy_and_path(flz_session, mouse):
    assert mouse["name"] == MOUSE
    assert mouse["attributes"]["genealogy"] == [MOUSE]
    assert mouse["attributes"]["path"] == f"test/{MOUSE}"
    assert mouse["attributes"]["sex"] == "F"
    assert mouse["createdBy"] == "tester"


def test_add_mouse_twice_returns_the_existing_mouse(flz_session, mouse):
    again = flz.add_mouse(MOUSE, "test", flexilims_session=flz_session)
    assert isinstance(again, pd.Series)
    assert again["id"] == mouse["id"]
    assert len(flz.get_entities("mouse", flexilims_session=flz_session)) == 1


def test_add_mouse_without_colony_says_where_colony_data_would_come_from(
    flz_session, caplog
):
    flz.add_mouse("M2", "test", flexilims_session=flz_session)
    assert "colony" in caplog.text and "config.yml" in caplog.text


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_add_mouse_fills_attributes_from_colony_export(
    flz_session, config_dir, tmp_path, suffix
):
    table = pd.DataFrame(
        {
            "Animal_name": ["BRAC1.1a", "PZAH6.4b"],
            "Birth Date": ["2021-01-02", "2021-02-03"],
            "Sex": ["M", "F"],
            "Line": ["Ai95", "Cux2-Cre"],
        }
    )
    path = tmp_path / f"colony{suffix}"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_excel(path, index=False)
    config = yaml.safe_load((config_dir / "config.yml").read_text())
    config["colony"] = {"file": str(path), "columns": {"Birth Date": "birth_date"}}
    (config_dir / "config.yml").write_text(yaml.safe_dump(config))
    rep = flz.add_mouse(
        "mouse_a", "test", flexilims_session=flz_session, mcms_animal_name="PZAH6.4b"
    )
    assert rep["attributes"]["birth_date"] == "2021-02-03"
    assert "sex" not in rep["attributes"]
    config["colony"]["columns"] = {}
    (config_dir / "config.yml").write_text(yaml.safe_dump(config))
    rep = flz.add_mouse("BRAC1.1a", "test", flexilims_session=flz_session)
    assert rep["attributes"]["line"] == "Ai95"
    assert rep["attributes"]["birth_date"] == "2021-01-02"


def test_add_mouse_missing_from_colony_is_refused(
    flz_session, config_dir, tmp_path, store, snapshot
):
    path = tmp_path / "colony.csv"
    pd.DataFrame({"Animal_name": ["A"], "Sex": ["M"]}).to_csv(path, index=False)
    config = yaml.safe_load((config_dir / "config.yml").read_text())
    config["colony"] = {"file": str(path)}
    (config_dir / "config.yml").write_text(yaml.safe_dump(config))
    before = snapshot(store)
    with pytest.raises(FlexilimsError, match="not in the colony file"):
        flz.add_mouse("B", "test", flexilims_session=flz_session)
    assert snapshot(store) == before


# ------------------------------------------------------------------ sessions


def test_add_experimental_session_follows_the_genealogy(day):
    assert day["name"] == f"{MOUSE}_S20210420"
    assert day["attributes"]["genealogy"] == [MOUSE, "S20210420"]
    assert day["attributes"]["path"] == f"test/{MOUSE}/S20210420"
    assert day["attributes"]["date"] == "2021-04-20"


def test_add_experimental_session_with_a_name(flz_session, mouse):
    short = flz.add_experimental_session(
        MOUSE, "2021-04-21", session_name="S20210421_1", flexilims_session=flz_session
    )
    full = flz.add_experimental_session(
        MOUSE,
        "2021-04-22",
        session_name=f"{MOUSE}_S20210422",
        flexilims_session=flz_session,
    )
    assert short["name"] == f"{MOUSE}_S20210421_1"
    assert full["attributes"]["genealogy"] == [MOUSE, "S20210422"]


def test_add_experimental_session_conflicts(flz_session, day, store, snapshot):
    before = snapshot(store)
    with pytest.raises(NameNotUniqueError):
        flz.add_experimental_session(MOUSE, "2021-04-20", flexilims_session=flz_session)
    assert snapshot(store) == before
    skipped = flz.add_experimental_session(
        MOUSE, "2021-04-20", flexilims_session=flz_session, conflicts="skip"
    )
    assert skipped["id"] == day["id"]
    appended = flz.add_experimental_session(
        MOUSE, "2021-04-20", flexilims_session=flz_session, conflicts="append"
    )
    assert appended["name"] == f"{MOUSE}_S20210420_0"
    updated = flz.add_experimental_session(
        MOUSE,
        "2021-04-20",
        attributes={"rig": "2p"},
        flexilims_session=flz_session,
        conflicts="update",
    )
    assert updated["id"] == day["id"]
    assert updated["attributes"]["rig"] == "2p"
    assert updated["attributes"]["path"] == day["attributes"]["path"]


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"conflicts": "explode"}, AttributeError),
        ({"attributes": {"date": "2020-01-01"}}, FlexilimsError),
        ({"attributes": {"bad.name": 1}}, FlexilimsError),
        ({"attributes": {"x": float("nan")}}, FlexilimsError),
    ],
)
def test_add_experimental_session_bad_input_changes_nothing(
    flz_session, mouse, store, snapshot, kwargs, error
):
    before = snapshot(store)
    with pytest.raises(error):
        flz.add_experimental_session(
            MOUSE, "2021-04-20", flexilims_session=flz_session, **kwargs
        )
    assert snapshot(store) == before


def test_add_experimental_session_for_a_missing_mouse(flz_session, store, snapshot):
    before = snapshot(store)
    with pytest.raises(FlexilimsError, match="Cannot find mouse"):
        flz.add_experimental_session(
            "nobody", "2021-04-20", flexilims_session=flz_session
        )
    assert snapshot(store) == before


# ---------------------------------------------------------------- recordings


def test_add_recording_names_with_protocol_and_counter(flz_session, day, recording):
    assert recording["name"] == f"{MOUSE}_S20210420_retinotopy_0"
    assert recording["attributes"]["recording_type"] == "two_photon"
    assert recording["attributes"]["protocol"] == "retinotopy"
    assert recording["attributes"]["path"] == f"test/{MOUSE}/S20210420/retinotopy_0"
    second = flz.add_recording(
        day["id"], "two_photon", "retinotopy", flexilims_session=flz_session
    )
    assert second["name"].endswith("retinotopy_1")
    assert second["attributes"]["genealogy"] == [MOUSE, "S20210420", "retinotopy_1"]


def test_add_recording_with_a_name_and_conflicts(flz_session, day):
    first = flz.add_recording(
        day["id"],
        "ephys",
        "spont",
        recording_name="R152356_spont",
        flexilims_session=flz_session,
    )
    assert first["name"] == f"{MOUSE}_S20210420_R152356_spont"
    with pytest.raises(NameNotUniqueError):
        flz.add_recording(
            day["id"],
            "ephys",
            "spont",
            recording_name="R152356_spont",
            flexilims_session=flz_session,
        )
    skipped = flz.add_recording(
        day["id"],
        "ephys",
        "spont",
        recording_name="R152356_spont",
        flexilims_session=flz_session,
        conflicts="skip",
    )
    assert skipped["id"] == first["id"]


def test_add_recording_refuses_bad_input(flz_session, day, store, snapshot):
    before = snapshot(store)
    with pytest.raises(FlexilimsError, match="two values"):
        flz.add_recording(
            day["id"],
            "ephys",
            "spont",
            attributes={"protocol": "other"},
            flexilims_session=flz_session,
        )
    with pytest.raises(FlexilimsError) as raised:
        flz.add_recording(day["id"], "2p", "spont", flexilims_session=flz_session)
    assert str(raised.value) == (
        "Save failed. '2p' is not a valid value for recording_type. Allowed: "
        "two_photon, widefield, intrinsic, ephys, behaviour, unspecified."
    )
    with pytest.raises(FlexilimsError, match="Cannot find"):
        flz.add_recording("0" * 24, "ephys", "spont", flexilims_session=flz_session)
    with pytest.raises(FlexilimsError, match="valid hexadecimal value for id"):
        flz.add_recording("not-an-id", "ephys", "spont", flexilims_session=flz_session)
    assert snapshot(store) == before


# ------------------------------------------------------------------- samples


def test_add_sample_names_and_nesting(flz_session, mouse):
    brain = flz.add_sample(mouse["id"], flexilims_session=flz_session)
    other = flz.add_sample(mouse["id"], flexilims_session=flz_session)
    assert brain["name"] == f"{MOUSE}_sample_0"
    assert other["name"] == f"{MOUSE}_sample_1"
    piece = flz.add_sample(
        brain["id"],
        sample_name="slice_01",
        attributes={"sample_type": "slice"},
        flexilims_session=flz_session,
    )
    assert piece["name"] == f"{MOUSE}_sample_0_slice_01"
    assert piece["attributes"]["genealogy"] == [MOUSE, "sample_0", "slice_01"]
    again = flz.add_sample(
        brain["id"], sample_name="slice_01", flexilims_session=flz_session
    )
    assert again["id"] == piece["id"]
    with pytest.raises(NameNotUniqueError):
        flz.add_sample(
            brain["id"],
            sample_name="slice_01",
            conflicts="abort",
            flexilims_session=flz_session,
        )


# ------------------------------------------------------------------ datasets


def test_add_dataset_generates_names(flz_session, recording):
    names = [add_scanimage(flz_session, recording["id"])["name"] for _ in range(3)]
    assert names == [f"{recording['name']}_scanimage_{i}" for i in range(3)]
    dataset = flz.get_entity("dataset", name=names[0], flexilims_session=flz_session)
    assert dataset["dataset_type"] == "scanimage"
    assert dataset["is_raw"] == "yes"
    assert dataset["created"] == "2021-04-20 10:15:12"
    assert dataset["genealogy"] == [MOUSE, "S20210420", "retinotopy_0", "scanimage_0"]


def test_add_dataset_conflict_modes(flz_session, recording, store, snapshot):
    first = add_scanimage(
        flz_session, recording["id"], dataset_name="scan", conflicts="abort"
    )
    assert first["name"] == f"{recording['name']}_scan"
    before = snapshot(store)
    with pytest.raises(NameNotUniqueError):
        add_scanimage(
            flz_session, recording["id"], dataset_name="scan", conflicts="abort"
        )
    assert snapshot(store) == before
    skipped = add_scanimage(
        flz_session, recording["id"], dataset_name="scan", conflicts="skip"
    )
    assert skipped["id"] == first["id"]
    appended = add_scanimage(flz_session, recording["id"], dataset_name="scan")
    assert appended["name"] == f"{recording['name']}_scan_0"
    overwritten = add_scanimage(
        flz_session,
        recording["id"],
        dataset_name="scan",
        conflicts="overwrite",
        attributes={"zoom": 2},
    )
    assert overwritten["id"] == first["id"]
    assert overwritten["attributes"]["zoom"] == 2


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"conflicts": "replace"}, AttributeError),
        ({"attributes": {"path": "elsewhere"}}, FlexilimsError),
        ({"attributes": {"id": "x"}}, FlexilimsError),
        ({"is_raw": "maybe"}, FlexilimsError),
    ],
)
def test_add_dataset_bad_input_changes_nothing(
    flz_session, recording, store, snapshot, kwargs, error
):
    before = snapshot(store)
    with pytest.raises(error):
        add_scanimage(flz_session, recording["id"], **kwargs)
    assert snapshot(store) == before


def test_add_dataset_refuses_unknown_dataset_types(
    flz_session, recording, store, snapshot
):
    before = snapshot(store)
    with pytest.raises(AttributeError, match="not valid. Valid types are"):
        flz.add_dataset(
            recording["id"],
            "holograms",
            "2021-04-20 10:00:00",
            "x",
            flexilims_session=flz_session,
        )
    assert snapshot(store) == before


# ------------------------------------------------------------------- reading


def test_get_entities_filters(flz_session, day, recording):
    add_scanimage(flz_session, recording["id"])
    flz.add_dataset(
        recording["id"],
        "camera",
        "2021-04-20 10:00:00",
        "cam",
        is_raw="no",
        flexilims_session=flz_session,
    )
    everything = flz.get_entities("dataset", flexilims_session=flz_session)
    assert len(everything) == 2
    assert list(everything.index) == list(everything["name"])
    cameras = flz.get_entities(
        "dataset",
        query_key="dataset_type",
        query_value="camera",
        flexilims_session=flz_session,
    )
    assert list(cameras["dataset_type"]) == ["camera"]
    by_origin = flz.get_entities(
        "recording", origin_id=day["id"], flexilims_session=flz_session
    )
    assert list(by_origin["id"]) == [recording["id"]]
    raw = flz.get_entities(
        "dataset",
        name=everything.index[0],
        flexilims_session=flz_session,
        format_reply=False,
    )
    assert isinstance(raw, list) and raw[0]["attributes"]["dataset_type"] == "scanimage"
    assert flz.get_entities("sample", flexilims_session=flz_session).empty


def test_get_entity_none_one_or_several(flz_session, recording):
    assert (
        flz.get_entity("dataset", name="nothing", flexilims_session=flz_session) is None
    )
    one = flz.get_entity("recording", id=recording["id"], flexilims_session=flz_session)
    assert isinstance(one, pd.Series) and one["name"] == recording["name"]
    add_scanimage(flz_session, recording["id"])
    add_scanimage(flz_session, recording["id"])
    with pytest.raises(NameNotUniqueError) as raised:
        flz.get_entity(
            "dataset",
            query_key="dataset_type",
            query_value="scanimage",
            flexilims_session=flz_session,
        )
    assert str(raised.value) == (
        "2 entities match datatype='dataset', dataset_type='scanimage': narrow the "
        "query, or use get_entities to get them all."
    )
    with pytest.raises(AttributeError, match="give its name, id, origin_id or an"):
        flz.get_entity(flexilims_session=flz_session)


def test_get_id_path_and_datatype(flz_session, day):
    assert flz.get_id(MOUSE, flexilims_session=flz_session) == day["origin_id"]
    assert flz.get_path(day["name"], "session", flexilims_session=flz_session) == (
        f"test/{MOUSE}/S20210420"
    )
    assert (
        flz.get_datatype(name=day["name"], flexilims_session=flz_session) == "session"
    )
    assert flz.get_datatype(id=day["id"], flexilims_session=flz_session) == "session"
    assert flz.get_datatype(name="nobody", flexilims_session=flz_session) is None
    with pytest.raises(FlexilimsError, match="Cannot find mouse nobody"):
        flz.get_id("nobody", flexilims_session=flz_session)


def test_get_children_and_sessions(flz_session, mouse, day, recording):
    flz.add_sample(mouse["id"], flexilims_session=flz_session)
    sessions = flz.get_children(mouse["id"], "session", flexilims_session=flz_session)
    assert list(sessions.index) == [day["name"]]
    everything = flz.get_children(mouse["id"], None, flexilims_session=flz_session)
    assert sorted(everything["type"]) == ["sample", "session"]
    assert list(flz.get_experimental_sessions(flexilims_session=flz_session).index) == [
        day["name"]
    ]
    assert list(
        flz.get_experimental_sessions(flexilims_session=flz_session, mouse=MOUSE)["id"]
    ) == [day["id"]]


def test_get_datasets_resolves_paths_against_data_root(
    flz_session, day, recording, config_dir
):
    other = flz.add_recording(
        day["id"], "widefield", "spont", flexilims_session=flz_session
    )
    add_scanimage(flz_session, recording["id"])
    flz.add_dataset(
        recording["id"],
        "suite2p_rois",
        "2021-04-20 10:00:00",
        "test/rois",
        is_raw="no",
        flexilims_session=flz_session,
    )
    flz.add_dataset(
        other["id"],
        "camera",
        "2021-04-20 10:00:00",
        "test/cam",
        flexilims_session=flz_session,
    )
    roots = yaml.safe_load((config_dir / "config.yml").read_text())["data_root"]
    paths = flz.get_datasets(day["id"], flexilims_session=flz_session)
    assert paths[recording["name"]] == [
        str(Path(roots["raw"]) / "test/PZAH6.4b/S20210420/R1/scan"),
        str(Path(roots["processed"]) / "test/rois"),
    ]
    assert paths[other["name"]] == [str(Path(roots["raw"]) / "test/cam")]
    two_photon = flz.get_datasets(
        day["id"],
        recording_type="two_photon",
        dataset_type="suite2p_rois",
        flexilims_session=flz_session,
    )
    assert two_photon == {
        recording["name"]: [str(Path(roots["processed"]) / "test/rois")]
    }
    from_mouse = flz.get_datasets(
        day["origin_id"], dataset_type="camera", flexilims_session=flz_session
    )
    assert from_mouse[other["name"]] == [str(Path(roots["raw"]) / "test/cam")]


# ------------------------------------------------------------------ updating


def test_update_entity_overwrite_and_update(flz_session, recording):
    dataset = add_scanimage(flz_session, recording["id"], attributes={"zoom": 2})
    updated = flz.update_entity(
        "dataset",
        id=dataset["id"],
        mode="update",
        attributes={"zoom": 3},
        flexilims_session=flz_session,
    )
    assert updated["attributes"]["zoom"] == 3
    assert updated["attributes"]["path"] == dataset["attributes"]["path"]
    overwritten = flz.update_entity(
        "dataset",
        name=dataset["name"],
        attributes={"path": "new", "zoom": 1},
        flexilims_session=flz_session,
    )
    assert overwritten["attributes"]["path"] == "new"
    assert overwritten["attributes"]["dataset_type"] is None
    assert overwritten["attributes"]["genealogy"] is None


def test_update_entity_bad_input_changes_nothing(
    flz_session, recording, store, snapshot
):
    dataset = add_scanimage(flz_session, recording["id"])
    before = snapshot(store)
    with pytest.raises(AttributeError):
        flz.update_entity(
            "dataset", id=dataset["id"], mode="merge", flexilims_session=flz_session
        )
    with pytest.raises(FlexilimsError) as raised:
        flz.update_entity("dataset", name="nothing", flexilims_session=flz_session)
    assert str(raised.value) == "Cannot find a dataset named nothing in the project."
    with pytest.raises(FlexilimsError, match="not a valid value for is_raw"):
        flz.update_entity(
            "dataset",
            id=dataset["id"],
            mode="update",
            attributes={"is_raw": "perhaps"},
            flexilims_session=flz_session,
        )
    with pytest.raises(FlexilimsError, match="not a valid attribute name"):
        flz.update_entity(
            "dataset",
            id=dataset["id"],
            mode="update",
            attributes={"a b": 1},
            flexilims_session=flz_session,
        )
    assert snapshot(store) == before


# ----------------------------------------------------------- names, formats


def test_generate_name_finds_the_first_free_number(flz_session, mouse):
    for short in ["x_0", "x_1", "x_2", "x_3", "x_4", "y_5"]:
        flz.add_entity(
            "sample", f"{MOUSE}_{short}", attributes={}, flexilims_session=flz_session
        )
    assert flz.generate_name("sample", f"{MOUSE}_x", flexilims_session=flz_session) == (
        f"{MOUSE}_x_5"
    )
    assert (
        flz.generate_name("sample", f"{MOUSE}_y_5", flexilims_session=flz_session)
        == f"{MOUSE}_y_6"
    )
    assert flz.generate_name("sample", f"{MOUSE}_z", flexilims_session=flz_session) == (
        f"{MOUSE}_z_0"
    )
    flz.add_entity("sample", f"{MOUSE}_acq_00001", flexilims_session=flz_session)
    assert (
        flz.generate_name("sample", f"{MOUSE}_acq_00001", flexilims_session=flz_session)
        == f"{MOUSE}_acq_00002"
    )
    assert (
        flz.generate_name("sample", f"{MOUSE}_acq_00007", flexilims_session=flz_session)
        == f"{MOUSE}_acq_00007"
    )


def test_format_results_refuses_reserved_attribute_names():
    reply = [
        {"id": "a" * 24, "name": "n", "type": "mouse", "attributes": {"origin_id": 1}}
    ]
    with pytest.raises(FlexilimsError, match="should not have origin_id"):
        flz.format_results(reply)
    frame = flz.format_results(
        [{"id": "a" * 24, "name": "n", "type": "mouse", "attributes": {"age": 3}}]
    )
    assert frame.loc[0, "age"] == 3 and "attributes" not in frame.columns


def test_add_entity_errors_are_clear_and_change_nothing(
    flz_session, mouse, store, snapshot
):
    before = snapshot(store)
    with pytest.raises(FlexilimsError, match="Type 'planet' is not defined .*mouse"):
        flz.add_entity("planet", "mars", flexilims_session=flz_session)
    with pytest.raises(FlexilimsError, match="origin not found"):
        flz.add_entity("sample", "s", origin_id="0" * 24, flexilims_session=flz_session)
    with pytest.raises(
        NameNotUniqueError,
        match="A mouse named PZAH6.4b already exists in project test",
    ):
        flz.add_entity("mouse", MOUSE, flexilims_session=flz_session)
    with pytest.raises(FlexilimsError, match="not a valid attribute name"):
        flz.add_entity(
            "mouse", "M3", attributes={"weight(g)": 20}, flexilims_session=flz_session
        )
    assert snapshot(store) == before


UNDEFINED_PLANET = (
    "Type 'planet' is not defined in the lab settings. Defined types: mouse, "
    "session, recording, sample, dataset. `flexiznam settings show` lists their "
    "attributes."
)

READ_MISTAKES = [
    (lambda s, ids: flz.get_entities("planet", flexilims_session=s), UNDEFINED_PLANET),
    (
        lambda s, ids: flz.get_entity("planet", name="mars", flexilims_session=s),
        UNDEFINED_PLANET,
    ),
    (
        lambda s, ids: flz.get_entities("sesion", flexilims_session=s),
        "Type 'sesion' is not defined in the lab settings (did you mean session?).",
    ),
    (
        lambda s, ids: flz.get_children(ids["mouse"], "planet", flexilims_session=s),
        UNDEFINED_PLANET,
    ),
    (
        lambda s, ids: flz.get_children(
            None, "planet", parent_name=MOUSE, flexilims_session=s
        ),
        UNDEFINED_PLANET,
    ),
    (
        lambda s, ids: flz.get_id("mars", datatype="planet", flexilims_session=s),
        UNDEFINED_PLANET,
    ),
    (
        lambda s, ids: flz.get_entity(id="123", flexilims_session=s),
        "please provide a valid hexadecimal value for id",
    ),
    (
        lambda s, ids: flz.get_datasets("123", flexilims_session=s),
        "id not valid, please provide a hexadecimal value",
    ),
    (
        lambda s, ids: flz.get_datasets_recursively(
            origin_id="123", flexilims_session=s
        ),
        "id not valid, please provide a hexadecimal value",
    ),
    (
        lambda s, ids: flz.get_entities("mouse", id="12", flexilims_session=s),
        "please provide a valid hexadecimal value for id",
    ),
]


@pytest.mark.parametrize("index", range(len(READ_MISTAKES)))
def test_reads_refuse_in_flexiznam_words(flz_session, mouse, index):
    """The store's typed refusals of a read become flexiznam errors: the
    undefined type named with the defined ones (from the error's fields, the
    same in-process and over HTTP), never the Flexilims trailer."""
    read, message = READ_MISTAKES[index]
    with pytest.raises(FlexiznamError) as raised:
        read(flz_session, {"mouse": mouse["id"]})
    assert message in str(raised.value)
    assert "If you have 'null'" not in str(raised.value)
    assert isinstance(raised.value.__cause__, StoreError)
    # Lab code written for the Flexilims client catches IOError around reads.
    assert isinstance(raised.value, OSError)


def test_other_relations_link_entities(flz_session, mouse, day):
    sample = flz.add_sample(
        mouse["id"], other_relations=[day["id"]], flexilims_session=flz_session
    )
    assert sample["customEntities"] == [day["id"]]
