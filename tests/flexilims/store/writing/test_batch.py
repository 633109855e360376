"""The batch endpoint (ours): creations and updates in one transaction, over the
in-process session (SQLite and PostgreSQL) and over HTTP."""

import pytest
import sqlalchemy as sa

from flexilims import LocalSession
from flexilims.errors import BadRequest, Forbidden, OperationFailed
from flexilims.protocol import METHODS
from flexilims.store import models as m
from flexilims.store.accounts import Accounts

API = "/flexilims/api/"


def rows(store) -> dict:
    """Every row of every table: what a refused batch must leave untouched."""
    found = {}
    with store.engine.connect() as conn:
        for table in m.metadata.sorted_tables:
            result = conn.execute(sa.select(table)).all()
            found[table.name] = sorted(repr(tuple(row)) for row in result)
    return found


@pytest.fixture
def session(store, project):
    return LocalSession(store, project_id=project.id, username="tester")


@pytest.fixture
def mouse(session):
    return session.post(
        "mouse", "M1", {"genealogy": ["M1"], "path": "test/M1"}, strict_validation=False
    )


def tree(mouse_id: str, recordings: int = 2, datasets: int = 3) -> list[dict]:
    """A session, its recordings and their datasets, children by ref."""
    operations = [
        {
            "op": "create",
            "ref": "s",
            "type": "session",
            "name": "M1_S20210420",
            "origin_id": mouse_id,
            "attributes": {"date": "2021-04-20", "genealogy": ["M1", "S20210420"]},
        }
    ]
    for r in range(recordings):
        operations.append(
            {
                "ref": f"r{r}",
                "type": "recording",
                "name": f"M1_S20210420_R{r}",
                "origin_ref": "s",
                "attributes": {"protocol": "retinotopy"},
            }
        )
        for d in range(datasets):
            operations.append(
                {
                    "type": "dataset",
                    "name": f"M1_S20210420_R{r}_d{d}",
                    "origin_ref": f"r{r}",
                    "attributes": {
                        "path": f"test/M1/S20210420/R{r}",
                        "dataset_type": "camera",
                        "is_raw": "yes",
                        "Created": "2021-04-20 10:00:00",
                        "tags": [],
                    },
                }
            )
    return operations


def test_batch_is_a_post_endpoint():
    assert METHODS["batch"] == "POST"


def test_creates_a_tree_in_one_request(session, mouse):
    reply = session.batch(tree(mouse["id"]))
    assert (reply["created"], reply["updated"], reply["skipped"]) == (9, 0, 0)
    assert [r["index"] for r in reply["results"]] == list(range(9))
    assert {r["status"] for r in reply["results"]} == {"created"}
    by_name = {e["name"]: e for e in session.get("dataset")}
    assert len(by_name) == 6
    recordings = {e["name"]: e for e in session.get("recording")}
    day = session.get("session")[0]
    assert day["origin_id"] == mouse["id"]
    assert recordings["M1_S20210420_R1"]["origin_id"] == day["id"]
    dataset = by_name["M1_S20210420_R1_d2"]
    assert dataset["origin_id"] == recordings["M1_S20210420_R1"]["id"]
    # the save rules: keys lower-cased, empty lists stored as null
    assert dataset["attributes"]["created"] == "2021-04-20 10:00:00"
    assert dataset["attributes"]["tags"] is None
    assert dataset["createdBy"] == "tester"
    ids = sorted(e["incrementalId"] for e in by_name.values())
    assert ids == [f"DATASET{n:07d}" for n in range(1, 7)]
    result = reply["results"][-1]
    assert result["id"] == dataset["id"] and result["name"] == dataset["name"]


def test_attribute_queries_find_batch_created_entities(session, mouse):
    session.batch(tree(mouse["id"]))
    found = session.get("dataset", query_key="dataset_type", query_value="camera")
    assert len(found) == 6


@pytest.mark.parametrize(
    "change, message",
    [
        ({"attributes": {"is_raw": "maybe"}}, "'maybe' is not a valid value"),
        ({"attributes": {"is_raw": "yes"}}, "'path' is a necessary attribute"),
        ({"type": "unicorn"}, "type provided is not defined"),
        ({"name": ""}, "Please provide a name for the new dataset"),
        ({"name": "M1_S20210420_R0_d0"}, "Sample M1_S20210420_R0_d0 already exist"),
        ({"attributes": {"bad key": 1, "path": "x"}}, "not a valid attribute name"),
        ({"attributes": {"path": "x", "v": float("nan")}}, "not a valid value for v"),
        ({"origin_ref": None, "origin_id": "f" * 24}, "origin not found"),
        ({"other_relations": ["e" * 24]}, "other_relations: no entity with id"),
    ],
)
def test_a_refused_operation_writes_nothing_and_is_named(
    session, store, mouse, change, message
):
    operations = tree(mouse["id"], recordings=3, datasets=4)
    index = len(operations) - 2
    operations[index] = {**operations[index], **change}
    if operations[index].get("origin_ref") is None:
        operations[index].pop("origin_ref", None)
    before = rows(store)
    with pytest.raises(BadRequest) as error:
        session.batch(operations)
    assert f"Batch failed at operation {index} (create " in error.value.message
    assert message in error.value.message
    assert rows(store) == before


def test_nan_makes_the_whole_batch_fail_before_sending(session, store, mouse):
    operations = tree(mouse["id"])
    operations[3]["attributes"]["ratio"] = float("inf")
    before = rows(store)
    with pytest.raises((BadRequest, ValueError)):
        session.batch(operations)
    assert rows(store) == before


@pytest.mark.parametrize(
    "operation, message",
    [
        ("not an object", "an operation must be a JSON object"),
        ({"op": "delete"}, "op must be 'create' or 'update'"),
        ({"type": "dataset", "color": 1}, "'color' is not a field of a create"),
        ({"ref": "s", "type": "dataset"}, "ref 's' is already the ref of operation 0"),
        ({"type": "dataset", "origin_ref": "zz"}, "origin_ref 'zz' is not the ref"),
        (
            {"type": "dataset", "origin_ref": "s", "origin_id": "a" * 24},
            "give origin_id or origin_ref, not both",
        ),
        ({"type": "dataset", "conflicts": "maybe"}, "conflicts must be one of"),
        ({"type": "dataset", "other_relations": 3}, "other_relations is not valid"),
    ],
)
def test_malformed_operations_are_refused_with_their_index(
    session, store, mouse, operation, message
):
    operations = tree(mouse["id"], recordings=1, datasets=1) + [operation]
    before = rows(store)
    with pytest.raises(BadRequest) as error:
        session.batch(operations)
    assert f"Batch failed at operation {len(operations) - 1}: " in error.value.message
    assert message in error.value.message
    assert rows(store) == before


def test_operations_must_be_a_list(session):
    with pytest.raises(BadRequest, match="must be a list"):
        session.batch({"op": "create"})


def test_an_empty_batch_does_nothing(session):
    assert session.batch([]) == {
        "created": 0,
        "updated": 0,
        "skipped": 0,
        "results": [],
    }


def test_unknown_conflicts_mode(session, mouse):
    with pytest.raises(BadRequest, match="conflicts must be one of"):
        session.batch(tree(mouse["id"]), conflicts="append")


def test_two_creations_of_one_name_are_refused(session, store, mouse):
    operations = tree(mouse["id"], recordings=1, datasets=1)
    operations.append(dict(operations[-1]))
    before = rows(store)
    with pytest.raises(BadRequest, match="operation 3 .*already exist"):
        session.batch(operations, conflicts="skip")
    assert rows(store) == before


def test_skip_keeps_existing_entities_and_adds_what_is_new(session, mouse):
    session.batch(tree(mouse["id"], recordings=1, datasets=2))
    before = {e["name"]: e for e in session.get("dataset")}
    reply = session.batch(tree(mouse["id"], recordings=2, datasets=2), conflicts="skip")
    assert (reply["created"], reply["skipped"]) == (3, 4)
    after = {e["name"]: e for e in session.get("dataset")}
    for name, entity in before.items():
        assert after[name] == entity
    day = session.get("session")[0]
    new_recording = session.get("recording", name="M1_S20210420_R1")[0]
    assert new_recording["origin_id"] == day["id"]
    statuses = [r["status"] for r in reply["results"]]
    assert statuses[:4] == ["skipped"] * 4


def test_update_merges_and_overwrite_clears(session, store, mouse):
    session.batch(tree(mouse["id"], recordings=1, datasets=1))
    dataset = session.get("dataset")[0]
    notes = {"notes": "keep me"}
    session.update_one(dataset["id"], "dataset", attributes=notes, strict_validation=0)
    changed = tree(mouse["id"], recordings=1, datasets=1)
    changed[-1]["attributes"]["dataset_type"] = "scanimage"
    reply = session.batch(changed, conflicts="update")
    assert reply["updated"] == 3 and reply["created"] == 0
    updated = session.get("dataset", id=dataset["id"])[0]
    assert updated["attributes"]["dataset_type"] == "scanimage"
    assert updated["attributes"]["notes"] == "keep me"
    assert updated["incrementalId"] == dataset["incrementalId"]
    session.batch(changed, conflicts="overwrite")
    overwritten = session.get("dataset", id=dataset["id"])[0]
    assert overwritten["attributes"]["notes"] is None
    assert overwritten["attributes"]["dataset_type"] == "scanimage"
    with store.engine.connect() as conn:
        history = conn.execute(
            sa.select(m.history).where(m.history.c.entity_id == dataset["id"])
        ).all()
    assert [h.action for h in history] == ["create", "update", "update", "update"]
    assert history[0].before is None
    assert history[0].after["attributes"]["dataset_type"] == "camera"
    assert history[2].before["attributes"]["dataset_type"] == "camera"
    assert history[2].after["attributes"]["dataset_type"] == "scanimage"


def test_operation_conflicts_win_over_the_batch(session, mouse):
    session.batch(tree(mouse["id"], recordings=1, datasets=1))
    operations = tree(mouse["id"], recordings=1, datasets=1)
    for operation in operations:
        operation["conflicts"] = "skip"
    reply = session.batch(operations, conflicts="abort")
    assert reply["skipped"] == 3


def test_update_operations(session, store, mouse):
    reply = session.batch(tree(mouse["id"], recordings=2, datasets=1))
    ids = {r["name"]: r["id"] for r in reply["results"]}
    dataset_id = ids["M1_S20210420_R0_d0"]
    operations = [
        {
            "op": "update",
            "type": "dataset",
            "id": dataset_id,
            "name": "M1_S20210420_R1_moved",
            "origin_id": ids["M1_S20210420_R1"],
            "attributes": {"notes": "moved", "created": ""},
            "other_relations": [mouse["id"]],
        },
        {
            "op": "create",
            "ref": "extra",
            "type": "recording",
            "name": "M1_S20210420_R9",
            "origin_id": ids["M1_S20210420"],
        },
        {
            "op": "update",
            "type": "dataset",
            "id": ids["M1_S20210420_R1_d0"],
            "origin_ref": "extra",
        },
    ]
    reply = session.batch(operations)
    assert (reply["created"], reply["updated"]) == (1, 2)
    assert reply["results"][0]["name"] == "M1_S20210420_R1_moved"
    moved = session.get("dataset", id=dataset_id)[0]
    assert moved["name"] == "M1_S20210420_R1_moved"
    assert moved["origin_id"] == ids["M1_S20210420_R1"]
    assert moved["attributes"]["notes"] == "moved"
    assert moved["attributes"]["created"] == "2021-04-20 10:00:00"  # "" ignored
    other = session.get("dataset", id=ids["M1_S20210420_R1_d0"])[0]
    assert other["origin_id"] == reply["results"][1]["id"]
    with store.engine.connect() as conn:
        links = conn.execute(sa.select(m.entity_links)).all()
    assert [(link.entity_id, link.linked_id) for link in links] == [
        (dataset_id, mouse["id"])
    ]


def test_allow_nulls_writes_empty_strings(session, mouse):
    reply = session.batch(tree(mouse["id"], recordings=1, datasets=1))
    dataset_id = reply["results"][-1]["id"]
    update = [
        {"op": "update", "type": "dataset", "id": dataset_id, "attributes": {"x": ""}}
    ]
    session.batch(update, allow_nulls=True)
    assert session.get("dataset", id=dataset_id)[0]["attributes"]["x"] == ""


@pytest.mark.parametrize(
    "change, message",
    [
        ({"id": "nothex"}, "please provide a valid hexadecimal value for id"),
        ({"id": "f" * 24}, "No dataset with id"),
        ({"type": "recording"}, "is a dataset, not a recording"),
        ({"name": "M1_S20210420_R1_d0"}, "Sample M1_S20210420_R1_d0 already exist"),
        ({"name": " "}, "The new name is empty"),
        ({"origin_id": "nothex"}, "valid hexadecimal value for origin_id"),
        ({"origin_id": "f" * 24}, "origin not found"),
        ({"attributes": {"is_raw": "maybe"}}, "'maybe' is not a valid value"),
        ({"attributes": "text"}, "attributes must be a JSON object"),
        ({"other_relations": ["c" * 24]}, "other_relations: no entity"),
        ({"conflicts": "skip"}, "'conflicts' is not a field of a update"),
    ],
)
def test_refused_updates(session, store, mouse, change, message):
    reply = session.batch(tree(mouse["id"], recordings=2, datasets=1))
    dataset_id = reply["results"][2]["id"]
    operation = {"op": "update", "type": "dataset", "id": dataset_id, **change}
    before = rows(store)
    with pytest.raises(BadRequest) as error:
        session.batch([operation])
    assert "Batch failed at operation 0" in error.value.message
    assert message in error.value.message
    assert rows(store) == before


def test_an_entity_cannot_be_its_own_origin(session, mouse):
    reply = session.batch(tree(mouse["id"], recordings=1, datasets=1))
    dataset_id = reply["results"][-1]["id"]
    operation = {"op": "update", "type": "dataset", "id": dataset_id}
    with pytest.raises(BadRequest, match="cannot move below .*: that is the entity"):
        session.batch([{**operation, "origin_id": dataset_id}])


def test_strict_validation(session, store, mouse):
    operations = tree(mouse["id"], recordings=1, datasets=1)
    before = rows(store)
    with pytest.raises(BadRequest, match="'tags' is not defined in lab settings"):
        session.batch(operations, strict_validation=True)
    assert rows(store) == before


def test_dry_run_lists_every_problem_and_writes_nothing(session, store, mouse):
    operations = tree(mouse["id"], recordings=2, datasets=2)
    operations[0]["attributes"]["bad key"] = 1
    operations[3]["attributes"]["is_raw"] = "maybe"
    operations[6]["attributes"].pop("path")
    before = rows(store)
    reply = session.batch(operations, dry_run=True)
    assert rows(store) == before
    assert [p["index"] for p in reply["problems"]] == [0, 3, 6]
    assert "not a valid attribute name" in reply["problems"][0]["message"]
    assert "is_raw" in reply["problems"][1]["message"]
    assert "necessary attribute" in reply["problems"][2]["message"]
    # the children of the refused session are still checked
    assert reply["created"] == len(operations) - 3


def test_dry_run_reports_names_taken(session, mouse):
    session.batch(tree(mouse["id"], recordings=1, datasets=1))
    reply = session.batch(tree(mouse["id"], recordings=1, datasets=1), dry_run=True)
    assert [p["index"] for p in reply["problems"]] == [0, 1, 2]
    skip = session.batch(
        tree(mouse["id"], recordings=1, datasets=1), conflicts="skip", dry_run=True
    )
    assert skip["problems"] == [] and skip["skipped"] == 3


def test_creations_need_a_project(store, mouse):
    session = LocalSession(store, project_id=None, username="tester")
    with pytest.raises(BadRequest, match="valid hexadecimal value for project_id"):
        session.batch(tree(mouse["id"]))


def test_members_only(store, project, mouse):
    accounts = Accounts(store)
    accounts.create_project("other")
    accounts.add_user("bob", "secret")
    accounts.add_member("bob", "other")
    bob = LocalSession(store, project_id=project.id, username="bob")
    for operations in (
        tree(mouse["id"]),
        [{"op": "update", "type": "mouse", "id": mouse["id"]}],
    ):
        with pytest.raises(
            OperationFailed, match="Batch failed at operation 0"
        ) as error:
            bob.batch(operations)
        assert isinstance(error.value.cause, Forbidden)
        assert error.value.status == 403 and error.value.index == 0


def test_many_entities_in_few_queries(session, store, mouse):
    statements = []

    def count(*args):
        statements.append(args)

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        reply = session.batch(tree(mouse["id"], recordings=20, datasets=50))
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)
    assert reply["created"] == 1 + 20 + 20 * 50
    assert len(statements) < 30


def test_batch_over_http(api, jane, project, store):
    mouse = LocalSession(store, project_id=project.id).post(
        "mouse", "M1", {"genealogy": ["M1"]}, strict_validation=False
    )
    reply = api.post(
        API + "batch",
        params={"project_id": project.id, "conflicts": "abort"},
        json={"operations": tree(mouse["id"])},
        headers=jane.headers,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["created"] == 9
    refused = api.post(
        API + "batch",
        params={"project_id": project.id},
        json={"operations": tree(mouse["id"])},
        headers=jane.headers,
    )
    assert refused.status_code == 400
    assert "Batch failed at operation 0 (create session M1_S20210420)" in refused.text
    extra = api.post(
        API + "batch",
        params={"project_id": project.id},
        json={"operations": [], "conflicts": "skip"},
        headers=jane.headers,
    )
    assert extra.status_code == 400 and "the body holds operations" in extra.text
    anonymous = api.post(API + "batch", json={"operations": []})
    assert anonymous.status_code == 403
