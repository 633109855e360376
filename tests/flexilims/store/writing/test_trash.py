"""The trash: deleted entities come back as they were, or are purged."""

import pytest
import sqlalchemy as sa

from flexilims import BadRequest, LocalSession
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.store.writing import trash


@pytest.fixture
def session(store, project):
    return LocalSession(store, project_id=project.id)


def everything(store) -> dict:
    """Every entity, link and attribute index row, for comparisons."""
    with store.read() as conn:
        return {
            "entities": sorted(
                tuple(row) for row in conn.execute(sa.select(m.entities))
            ),
            "links": sorted(tuple(r) for r in conn.execute(sa.select(m.entity_links))),
            "index": sorted(
                tuple(r) for r in conn.execute(sa.select(m.attribute_values))
            ),
        }


def only_batch(store) -> str:
    (batch,) = trash.batches(store)
    return batch["batch"]


def test_restore_puts_back_entities_links_and_index(store, session):
    mouse = session.post("mouse", "m1", {"sex": "F", "genealogy": ["m1"]})
    first = session.post("session", "s1", {"date": "d"}, origin_id=mouse["id"])
    recording = session.post("recording", "r1", {}, origin_id=first["id"])
    outside = session.post("sample", "outside", {}, other_relations=[recording["id"]])
    session.post(
        "dataset",
        "ds",
        {"path": "p"},
        origin_id=recording["id"],
        other_relations=[mouse["id"], outside["id"]],
    )
    snapshot = everything(store)
    session.delete(first["id"])
    assert everything(store) != snapshot
    (batch,) = trash.batches(store)
    assert batch["count"] == 3 and batch["root"] == "session s1"
    assert batch["project"] == session.project_id and batch["deleted_by"] == "local"
    assert trash.restore(store, batch["batch"]) == {"restored": 3, "links_dropped": 0}
    assert everything(store) == snapshot
    assert trash.batches(store) == []
    with store.read() as conn:
        actions = conn.execute(
            sa.select(m.history.c.action, sa.func.count()).group_by(m.history.c.action)
        ).all()
    assert dict(actions) == {"create": 5, "delete": 3, "restore": 3}
    # The restored entities work as before.
    assert session.get("dataset", query_key="path", query_value="p")[0]["name"] == "ds"
    assert session.delete(first["id"]) == "deleted successfully null"


def test_links_to_entities_gone_since_are_dropped(store, session):
    mouse = session.post("mouse", "m1", {})
    other = session.post("mouse", "m2", {})
    session.post(
        "sample", "s", {}, origin_id=mouse["id"], other_relations=[other["id"]]
    )
    session.delete(mouse["id"])
    batch = only_batch(store)
    session.delete(other["id"])
    assert trash.restore(store, batch) == {"restored": 2, "links_dropped": 1}
    assert session.get("sample", name="s")[0]["origin_id"] == mouse["id"]


def test_restore_refuses_taken_names_and_missing_parents(store, session):
    mouse = session.post("mouse", "m1", {})
    child = session.post("sample", "s1", {}, origin_id=mouse["id"])
    session.delete(child["id"])
    child_batch = only_batch(store)
    session.delete(mouse["id"])
    mouse_batch = next(
        b["batch"] for b in trash.batches(store) if b["batch"] != child_batch
    )
    with pytest.raises(BadRequest, match=f"parent {mouse['id']} of sample s1"):
        trash.restore(store, child_batch)
    session.post("mouse", "m1", {})
    snapshot = everything(store)
    with pytest.raises(BadRequest, match="Mouse m1 already exist in the project test"):
        trash.restore(store, mouse_batch)
    assert everything(store) == snapshot
    assert len(trash.batches(store)) == 2
    session.delete(session.get("mouse", name="m1")[0]["id"])
    trash.restore(store, mouse_batch)
    trash.restore(store, child_batch)
    assert [e["name"] for e in session.get_children(mouse["id"])] == ["s1"]


def test_restore_errors(store, session):
    with pytest.raises(BadRequest, match="No batch nope in the trash"):
        trash.restore(store, "nope")


def test_batches_by_project_and_purge(store, session, project):
    other = Accounts(store).create_project("other")
    there = LocalSession(store, project_id=other.id)
    for name in ("a", "b"):
        session.delete(session.post("mouse", name, {})["id"])
    there.delete(there.post("mouse", "c", {})["id"])
    assert len(trash.batches(store)) == 3
    assert [b["root"] for b in trash.batches(store, other.id)] == ["mouse c"]
    mine = trash.batches(store, project.id)
    assert sorted(b["root"] for b in mine) == ["mouse a", "mouse b"]
    assert trash.purge(store, mine[0]["batch"]) == 1
    with pytest.raises(BadRequest, match="No batch"):
        trash.purge(store, mine[0]["batch"])
    assert trash.purge(store, before=0) == 0
    assert trash.purge(store, before=10**15) == 2
    assert trash.batches(store) == []
    with pytest.raises(BadRequest, match="Say which batch"):
        trash.purge(store)
    assert trash.format_time(0)[:4] in ("1970", "1969")
