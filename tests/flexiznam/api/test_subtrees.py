"""Subtrees (flexiznam's later API): get_datasets_recursively,
get_child_dataset and delete_recursively, over both session kinds, both
backends, and a client that has only the Flexilims protocol."""

import warnings
from pathlib import Path

import pytest

import flexiznam.main as flz
from flexilims.store import labsettings
from flexilims.store.writing import trash
from flexiznam.errors import FlexilimsError
from flexiznam.schema import Dataset, HarpData, ScanimageData

UNKNOWN_ID = "0123456789abcdef01234567"


def dataset(session, parent, dataset_type, path, **kwargs):
    return flz.add_dataset(
        parent["id"], dataset_type, "2021-04-20 10:00:00", path,
        flexilims_session=session, **kwargs,
    )  # fmt: skip


def allow_datasets_below_datasets(store):
    """Lab settings of a lab that derives datasets from datasets (the default
    settings refuse a dataset below a dataset)."""
    with store.write() as conn:
        settings = labsettings.read_settings(conn)
        settings["datatypes"]["dataset"]["allowed_parents"].append("dataset")
        labsettings.write_settings(conn, settings)


@pytest.fixture
def tree(flz_session, store):
    """Two mice; the first has sessions, recordings, a sample and datasets at
    several depths (one dataset below another)."""
    allow_datasets_below_datasets(store)
    s = flz_session
    t = {"mouse": flz.add_mouse("M1", "test", flexilims_session=s)}
    t["day"] = flz.add_experimental_session("M1", "2021-04-20", flexilims_session=s)
    t["day2"] = flz.add_experimental_session("M1", "2021-04-21", flexilims_session=s)
    t["retino"] = flz.add_recording(
        t["day"]["id"], "two_photon", "retinotopy", flexilims_session=s
    )
    t["spont"] = flz.add_recording(
        t["day"]["id"], "ephys", "spont", flexilims_session=s
    )
    t["retino2"] = flz.add_recording(
        t["day2"]["id"], "two_photon", "retinotopy", flexilims_session=s
    )
    t["scan0"] = dataset(s, t["retino"], "scanimage", "M1/S1/scan0")
    t["scan1"] = dataset(s, t["retino"], "scanimage", "M1/S1/scan1")
    t["rois"] = dataset(s, t["retino"], "suite2p_rois", "M1/S1/rois", is_raw="no")
    t["traces"] = dataset(s, t["rois"], "suite2p_traces", "M1/S1/traces", is_raw="no")
    t["ephys"] = dataset(s, t["spont"], "ephys", "M1/S1/ephys")
    t["scan2"] = dataset(s, t["retino2"], "scanimage", "M1/S2/scan0")
    t["harp"] = dataset(s, t["day"], "harp", "M1/S1/harp")
    t["sample"] = flz.add_sample(t["mouse"]["id"], flexilims_session=s)
    t["slide"] = dataset(s, t["sample"], "microscopy", "M1/slide.png")
    flz.add_mouse("M2", "test", flexilims_session=s)
    day = flz.add_experimental_session("M2", "2021-04-20", flexilims_session=s)
    t["other_scan"] = dataset(s, day, "scanimage", "M2/scan")
    return t


def names(result):
    """``{parent name: [dataset names]}`` of a get_datasets_recursively result."""
    return {parent: [ds.name for ds in datasets] for parent, datasets in result.items()}


def by_name(tree, *keys):
    return [tree[key]["name"] for key in keys]


# -------------------------------------------------- get_datasets_recursively


def test_every_dataset_below_the_origin_by_direct_parent(flz_session, tree):
    t = tree
    result = flz.get_datasets_recursively(
        origin_id=t["mouse"]["id"], flexilims_session=flz_session
    )
    assert names(result) == {
        t["retino"]["id"]: by_name(t, "scan0", "scan1", "rois"),
        t["rois"]["id"]: by_name(t, "traces"),
        t["spont"]["id"]: by_name(t, "ephys"),
        t["retino2"]["id"]: by_name(t, "scan2"),
        t["day"]["id"]: by_name(t, "harp"),
        t["sample"]["id"]: by_name(t, "slide"),
    }
    scan0 = result[t["retino"]["id"]][0]
    assert isinstance(scan0, ScanimageData)
    assert scan0.id == t["scan0"]["id"]
    assert scan0.origin_id == t["retino"]["id"]
    assert scan0.path == Path("M1/S1/scan0")
    assert scan0.flexilims_session is flz_session
    assert isinstance(result[t["day"]["id"]][0], HarpData)


def test_datasets_filtered_by_type_and_attributes(flz_session, tree):
    t = tree
    scans = flz.get_datasets_recursively(
        origin_id=t["mouse"]["id"],
        dataset_type="scanimage",
        flexilims_session=flz_session,
    )
    assert names(scans) == {
        t["retino"]["id"]: by_name(t, "scan0", "scan1"),
        t["retino2"]["id"]: by_name(t, "scan2"),
    }
    processed = flz.get_datasets_recursively(
        origin_id=t["mouse"]["id"],
        filter_datasets={"is_raw": "no"},
        flexilims_session=flz_session,
    )
    assert names(processed) == {
        t["retino"]["id"]: by_name(t, "rois"),
        t["rois"]["id"]: by_name(t, "traces"),
    }
    nothing = flz.get_datasets_recursively(
        origin_id=t["mouse"]["id"],
        filter_datasets={"no_such_attribute": 1},
        flexilims_session=flz_session,
    )
    assert nothing == {}


def test_datasets_filtered_by_their_parents(flz_session, tree):
    t = tree
    retinotopy = flz.get_datasets_recursively(
        origin_id=t["mouse"]["id"],
        parent_type="recording",
        filter_parents={"protocol": "retinotopy"},
        flexilims_session=flz_session,
    )
    assert names(retinotopy) == {
        t["retino"]["id"]: by_name(t, "scan0", "scan1", "rois"),
        t["retino2"]["id"]: by_name(t, "scan2"),
    }
    below_datasets = flz.get_datasets_recursively(
        origin_id=t["mouse"]["id"], parent_type="dataset", flexilims_session=flz_session
    )
    assert names(below_datasets) == {t["rois"]["id"]: by_name(t, "traces")}
    on_day = flz.get_datasets_recursively(
        origin_id=t["day"]["id"], parent_type="session", flexilims_session=flz_session
    )
    assert names(on_day) == {t["day"]["id"]: by_name(t, "harp")}


def test_the_origin_by_id_name_or_series_gives_the_same(flz_session, tree):
    t = tree
    by_id = flz.get_datasets_recursively(
        origin_id=t["day"]["id"], flexilims_session=flz_session
    )
    by_name_ = flz.get_datasets_recursively(
        origin_name=t["day"]["name"], flexilims_session=flz_session
    )
    series = flz.get_entity("session", id=t["day"]["id"], flexilims_session=flz_session)
    by_series = flz.get_datasets_recursively(
        origin_series=series, flexilims_session=flz_session
    )
    row = flz.get_children(t["mouse"]["id"], "session", flexilims_session=flz_session)
    by_row = flz.get_datasets_recursively(
        origin_series=row.loc[t["day"]["name"]],
        parent_type="session",
        flexilims_session=flz_session,
    )
    assert names(by_id) == names(by_name_) == names(by_series)
    assert set(names(by_id)) == {t["retino"]["id"], t["rois"]["id"]} | {
        t["spont"]["id"],
        t["day"]["id"],
    }
    assert names(by_row) == {t["day"]["id"]: by_name(t, "harp")}


def test_return_paths_gives_full_paths(flz_session, tree, tmp_path):
    t = tree
    paths = flz.get_datasets_recursively(
        origin_id=t["retino"]["id"], return_paths=True, flexilims_session=flz_session
    )
    assert paths == {
        t["retino"]["id"]: [
            tmp_path / "raw/M1/S1/scan0",
            tmp_path / "raw/M1/S1/scan1",
            tmp_path / "processed/M1/S1/rois",
        ],
        t["rois"]["id"]: [tmp_path / "processed/M1/S1/traces"],
    }
    datasets = flz.get_datasets_recursively(
        origin_id=t["retino"]["id"], flexilims_session=flz_session
    )
    assert {
        parent: [ds.path_full for ds in found] for parent, found in datasets.items()
    } == paths


def test_one_request_whatever_the_depth(flz_session, tree, requests_of):
    t = tree
    sent = requests_of(flz_session)
    flz.get_datasets_recursively(
        origin_id=t["mouse"]["id"],
        parent_type="recording",
        filter_parents={"recording_type": "two_photon"},
        dataset_type="scanimage",
        flexilims_session=flz_session,
    )
    assert sent == [("GET", "get-descendants")]
    sent.clear()
    series = flz.get_entity("mouse", id=t["mouse"]["id"], flexilims_session=flz_session)
    sent.clear()
    flz.get_datasets_recursively(
        origin_series=series, parent_type="mouse", flexilims_session=flz_session
    )
    assert sent == [("GET", "get-descendants")]


def test_a_client_without_get_descendants_gets_the_same(
    flz_session, protocol_only_client, tree
):
    t = tree
    for kwargs in ({}, {"parent_type": "recording", "dataset_type": "scanimage"}):
        ours = flz.get_datasets_recursively(
            origin_id=t["mouse"]["id"], flexilims_session=flz_session, **kwargs
        )
        theirs = flz.get_datasets_recursively(
            origin_id=t["mouse"]["id"], flexilims_session=protocol_only_client, **kwargs
        )
        assert names(theirs) == names(ours)


def test_an_origin_without_datasets_gives_an_empty_dict(flz_session, tree):
    empty = flz.add_recording(
        tree["day2"]["id"], "widefield", "spont", flexilims_session=flz_session
    )
    assert (
        flz.get_datasets_recursively(
            origin_id=empty["id"], flexilims_session=flz_session
        )
        == {}
    )


@pytest.mark.parametrize(
    "origin, error, message",
    [
        ({}, AttributeError, "exactly one of origin_id"),
        ({"origin_id": "x", "origin_name": "y"}, AttributeError, "exactly one"),
        ({"origin_id": UNKNOWN_ID}, FlexilimsError, "Cannot find an entity with id"),
        ({"origin_name": "nobody"}, FlexilimsError, "Cannot find an entity named"),
        ({"origin_series": {"name": "x"}}, AttributeError, "origin_series has no id"),
        ({"origin_id": "not-hex"}, FlexilimsError, "hexadecimal"),
    ],
)
def test_bad_origins_are_refused(
    flz_session, tree, store, snapshot, origin, error, message
):
    before = snapshot(store)
    with pytest.raises(error, match=message):
        flz.get_datasets_recursively(flexilims_session=flz_session, **origin)
    assert snapshot(store) == before


# ---------------------------------------------------------- get_child_dataset


def test_get_child_dataset_gives_the_most_recent_and_warns(flz_session, tree):
    t = tree
    with pytest.warns(UserWarning, match="has 2 scanimage datasets") as caught:
        latest = flz.get_child_dataset(flz_session, t["retino"]["name"], "scanimage")
    assert t["scan1"]["name"] in str(caught[0].message)
    assert isinstance(latest, ScanimageData)
    assert latest.id == t["scan1"]["id"] and latest.name == t["scan1"]["name"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rois = flz.get_child_dataset(flz_session, t["retino"]["name"], "suite2p_rois")
    assert type(rois) is Dataset and rois.is_raw is False
    assert rois.flexilims_session is flz_session


def test_get_child_dataset_without_one_is_refused(flz_session, tree):
    with pytest.raises(ValueError, match="has no camera dataset"):
        flz.get_child_dataset(flz_session, tree["retino"]["name"], "camera")
    # Only direct children count.
    with pytest.raises(ValueError, match="has no scanimage dataset"):
        flz.get_child_dataset(flz_session, tree["day"]["name"], "scanimage")
    with pytest.raises(FlexilimsError, match="Cannot find an entity named nobody"):
        flz.get_child_dataset(flz_session, "nobody", "scanimage")


# --------------------------------------------------------- delete_recursively


def subtree_ids(tree):
    keys = ["day", "retino", "spont", "scan0", "scan1", "rois", "traces", "ephys"]
    return {tree[key]["id"] for key in keys + ["harp"]}


def exists(session, entity_id) -> bool:
    return bool(session.get(None, id=entity_id))


def test_delete_recursively_lists_without_deleting(flz_session, tree, store, snapshot):
    before = snapshot(store)
    ids = flz.delete_recursively(tree["day"]["id"], flz_session)
    assert ids[0] == tree["day"]["id"]
    assert set(ids) == subtree_ids(tree) and len(ids) == len(set(ids))
    # Parents before their children.
    assert ids.index(tree["rois"]["id"]) < ids.index(tree["traces"]["id"])
    assert snapshot(store) == before


def test_delete_recursively_moves_the_subtree_to_the_trash_in_one_request(
    flz_session, tree, store, requests_of
):
    sent = requests_of(flz_session)
    ids = flz.delete_recursively(tree["day"]["id"], flz_session, do_it=True)
    assert [request for request in sent if request[0] == "DELETE"] == [
        ("DELETE", "delete")
    ]
    assert len(sent) == 3
    assert not any(exists(flz_session, entity_id) for entity_id in ids)
    assert exists(flz_session, tree["day2"]["id"])
    assert exists(flz_session, tree["slide"]["id"])
    (batch,) = trash.batches(store)
    assert batch["count"] == len(ids)
    assert batch["root"] == f"session {tree['day']['name']}"


def test_a_client_without_get_descendants_deletes_each_entity(
    flz_session, protocol_only_client, tree, requests_of
):
    sent = requests_of(flz_session)
    ids = flz.delete_recursively(tree["day"]["id"], protocol_only_client, do_it=True)
    assert set(ids) == subtree_ids(tree)
    assert sent.count(("DELETE", "delete")) == len(ids)
    assert not any(exists(flz_session, entity_id) for entity_id in ids)
    assert exists(flz_session, tree["day2"]["id"])


@pytest.mark.parametrize(
    "source, error",
    [(UNKNOWN_ID, FlexilimsError), ("not-hex", FlexilimsError)],
)
def test_delete_recursively_of_nothing_is_refused(
    flz_session, tree, store, snapshot, source, error
):
    before = snapshot(store)
    with pytest.raises(error):
        flz.delete_recursively(source, flz_session, do_it=True)
    assert snapshot(store) == before
