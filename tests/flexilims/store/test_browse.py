"""The browsing queries and what keeps them right: entity counts and the name
index follow every kind of write (save, batch, update, rename, move, delete,
restore, import), on both backends."""

import pytest
import sqlalchemy as sa

from flexilims.errors import BadRequest, ProjectNotFound
from flexilims.store import Actor, browse, new_id
from flexilims.store import models as m
from flexilims.store.files.transfer import export_project, import_project
from flexilims.store.writing import trash

JANE = Actor("jane", "Jane Doe", project_ids=frozenset())


@pytest.fixture
def jane(store, project):
    return Actor("jane", "Jane Doe", project_ids=frozenset({project.id}))


@pytest.fixture
def save(store, project, jane):
    def make(datatype, name, attributes=None, origin=None):
        return store.save(
            jane,
            datatype=datatype,
            name=name,
            project_id=project.id,
            attributes=attributes or {},
            origin_id=origin,
        )

    return make


def true_counts(store, project_id) -> list[dict]:
    """Counts computed from the entities themselves, to compare with the
    table the triggers keep."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(m.entities.c.type, m.entities.c.attributes).where(
                m.entities.c.project_id == project_id
            )
        ).all()
    found: dict[tuple, int] = {}
    for datatype, attributes in rows:
        kind = (attributes or {}).get(f"{datatype}_type")
        kind = kind[:100] if isinstance(kind, str) else ""
        found[(datatype, kind)] = found.get((datatype, kind), 0) + 1
    return [{"type": t, "kind": k, "count": n} for (t, k), n in sorted(found.items())]


def names_found(store, jane, project, text) -> list[str]:
    return sorted(e["name"] for e in browse.names_like(store, jane, project.id, text))


def test_counts_and_name_index_follow_every_write(store, project, jane, save):
    mouse = save("mouse", "PZAH6.4b")
    day = save("session", "PZAH6.4b_S1", {"date": "2021-05-13"}, mouse["id"])
    rec = save("recording", "R1", {"recording_type": "two_photon"}, day["id"])
    save("dataset", "R1_scan", {"path": "p", "dataset_type": "scanimage"}, rec["id"])
    save("dataset", "R1_cam", {"path": "q", "dataset_type": "camera"}, rec["id"])
    check = lambda: browse.counts(store, jane, project.id)  # noqa: E731
    assert check() == true_counts(store, project.id)
    assert {"type": "dataset", "kind": "camera", "count": 1} in check()
    store.update_one(
        jane,
        datatype="recording",
        entity_id=rec["id"],
        attributes={"recording_type": "widefield"},
    )
    store.update_many(
        jane,
        datatype="dataset",
        project_id=project.id,
        update_key="dataset_type",
        update_value="suite2p",
    )
    assert check() == true_counts(store, project.id)
    assert {"type": "dataset", "kind": "suite2p", "count": 2} in check()
    store.update_one(jane, datatype="session", entity_id=day["id"], name="renamed_S1")
    assert names_found(store, jane, project, "PZAH6") == ["PZAH6.4b"]
    assert names_found(store, jane, project, "med_S") == ["renamed_S1"]
    store.delete(jane, day["id"])
    assert (
        check()
        == true_counts(store, project.id)
        == [{"type": "mouse", "kind": "", "count": 1}]
    )
    assert names_found(store, jane, project, "R1_") == []
    (batch,) = trash.batches(store)
    trash.restore(store, batch["batch"])
    assert check() == true_counts(store, project.id)
    assert names_found(store, jane, project, "R1_") == ["R1_cam", "R1_scan"]
    dump = export_project(store, project.name)
    stack = list(dump.values())
    while stack:  # the same entities under new ids, as from another database
        entity = stack.pop()
        entity["id"] = new_id()
        for child in entity["children"].values():
            child["origin_id"] = entity["id"]
        entity["customEntities"] = []
        stack.extend(entity["children"].values())
    imported = import_project(store, dump, "copy")
    admin = Actor("root", "Root", is_admin=True)
    assert browse.counts(store, admin, imported["project_id"]) == true_counts(
        store, imported["project_id"]
    )
    copy = browse.project(store, admin, "copy")
    assert names_found(store, admin, copy, "R1_") == ["R1_cam", "R1_scan"]


def test_months_tree_links_ancestors(store, project, jane, save):
    mouse = save("mouse", "M1")
    sessions = [
        save("session", f"M1_S{i}", {"date": f"2021-{i:02d}-03"}, mouse["id"])
        for i in range(1, 7)
    ]
    save("session", "M1_undated", {"date": "unknown"}, mouse["id"])
    months = browse.months(store, jane, project.id, "session", "date", span=4)
    assert months == [("2021-03", 1), ("2021-04", 1), ("2021-05", 1), ("2021-06", 1)]
    level = browse.tree_level(store, jane, parent_id=mouse["id"], offset=2, limit=3)
    assert [e["name"] for e in level["entities"]] == ["M1_S3", "M1_S4", "M1_S5"]
    assert level["total"] == 7
    top = browse.tree_level(store, jane, project_id=project.id)
    assert top["entities"][0]["children"] == {"session": 7}
    rec = store.save(
        jane,
        datatype="recording",
        name="R",
        project_id=project.id,
        attributes={},
        origin_id=sessions[0]["id"],
        other_relations=[mouse["id"]],
    )
    assert [a["name"] for a in browse.ancestors(store, jane, rec["id"])] == [
        "M1",
        "M1_S1",
    ]
    assert [e["name"] for e in browse.links(store, jane, rec["id"])["to"]] == ["M1"]
    assert [e["name"] for e in browse.links(store, jane, mouse["id"])["from"]] == ["R"]
    assert browse.descendant_counts(store, jane, mouse["id"]) == {
        "recording": 1,
        "session": 7,
    }


def test_outsiders_see_nothing(store, project, save):
    mouse = save("mouse", "M1")
    for call in (
        lambda: browse.project(store, JANE, "test"),
        lambda: browse.counts(store, JANE, project.id),
        lambda: browse.tree_level(store, JANE, project_id=project.id),
        lambda: browse.search(store, JANE, project.id, browse.Search(type="mouse")),
    ):
        with pytest.raises(ProjectNotFound):
            call()
    assert browse.tree_level(store, JANE, parent_id=mouse["id"])["entities"] == []
    assert browse.ancestors(store, JANE, mouse["id"]) == []
    assert browse.project_totals(store, JANE) == {}


def test_search_filters_combine(store, project, jane, save):
    for i in range(12):
        save("sample", f"slice_{i:02d}", {"stain": "dapi" if i % 3 else "gfp", "n": i})
    search = browse.Search(type="sample", attributes=[("stain", "gfp")])
    found = browse.search(store, jane, project.id, search)
    assert [e["name"] for e in found["entities"]] == [
        "slice_00",
        "slice_03",
        "slice_06",
        "slice_09",
    ]
    search = browse.Search(name="ICE_0", attributes=[("stain", "dapi"), ("n", "4")])
    found = browse.search(store, jane, project.id, search)
    assert [e["name"] for e in found["entities"]] == ["slice_04"]
    assert found["total"] == 1
    with pytest.raises(BadRequest, match="at least 3"):
        browse.search(store, jane, project.id, browse.Search(name="sl"))
    odd = browse.Search(name='%_"\\')
    assert browse.search(store, jane, project.id, odd)["entities"] == []
    page = browse.search(store, jane, project.id, browse.Search(), offset=10, limit=5)
    assert [e["name"] for e in page["entities"]] == ["slice_10", "slice_11"]


def test_many_matches_read_in_order_give_the_same_page(
    store, project, jane, save, monkeypatch
):
    """Past SCAN_FROM matches, a search reads the project in result order
    instead of sorting every match: the pages are the same."""
    for i in range(30):
        save("sample", f"s_{i:02d}%_x", {"stain": "dapi" if i % 2 else "gfp"})
        save("session", f"d_{i:02d}_x", {"stain": "dapi"})
    searches = [
        browse.Search(attributes=[("stain", "dapi")]),
        browse.Search(name="%_x"),
        browse.Search(name="%_X", type="sample", attributes=[("stain", "dapi")]),
    ]
    expected = [
        browse.search(store, jane, project.id, s, offset=5, limit=10) for s in searches
    ]
    monkeypatch.setattr(browse, "SCAN_FROM", 0)
    for search, before in zip(searches, expected, strict=True):
        after = browse.search(store, jane, project.id, search, offset=5, limit=10)
        assert after == before and after["entities"], search
