"""The one write path (flexilims.store.writing.changes), on both backends: no loop of
parents by any way in, walks that end on a database that holds one, deletes
bounded by the user's projects, no lost update, a version for every write."""

import random
import re
import threading

import pytest
import sqlalchemy as sa

from databases import new_postgres_database
from flexilims import BadRequest, Forbidden, LocalSession
from flexilims.errors import NameTaken, OperationFailed
from flexilims.store import Actor, Store, db, new_id
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.store.files.transfer import import_project
from flexilims.store.inserts import COPY_FROM_ROWS, InsertBatch
from flexilims.store.writing import rows, trash
from flexilims.store.writing.changes import Operation

LOOP = "cannot move below"
ALICE = Actor("alice", "Alice", is_admin=True)


@pytest.fixture
def session(store, project):
    return LocalSession(store, project_id=project.id, username="alice")


@pytest.fixture
def family(session):
    """mouse > session > recording > dataset, and a second mouse."""
    mouse = session.post("mouse", "M1", {"sex": "F"})
    day = session.post("session", "M1_S1", {"date": "d"}, origin_id=mouse["id"])
    rec = session.post("recording", "M1_S1_R1", {}, origin_id=day["id"])
    data = session.post("dataset", "M1_S1_R1_D1", {"path": "p"}, origin_id=rec["id"])
    other = session.post("mouse", "M2", {})
    return {"mouse": mouse, "day": day, "rec": rec, "data": data, "other": other}


def make_loop(store, first, second):
    """Put ``first`` below ``second`` behind the rules' back (another server
    made this database), making a loop when ``second`` is below ``first``."""
    with store.write() as conn:
        conn.execute(
            sa.update(m.entities)
            .where(m.entities.c.id == first["id"])
            .values(origin_id=second["id"])
        )


def versions(store, entity_id) -> list:
    with store.read() as conn:
        return conn.execute(
            sa.select(m.history)
            .where(m.history.c.entity_id == entity_id)
            .order_by(m.history.c.id)
        ).all()


# ------------------------------------------------------------------ loops


def test_no_way_in_moves_an_entity_below_its_own_descendant(
    store, session, family, snapshot
):
    mouse, day = family["mouse"], family["day"]
    before = snapshot(store)
    with pytest.raises(BadRequest, match=LOOP):
        session.update_one(
            mouse["id"],
            "mouse",
            origin_id=family["data"]["id"],
            strict_validation=False,
        )
    move = {"op": "update", "type": "mouse", "id": mouse["id"], "origin_id": day["id"]}
    with pytest.raises(BadRequest, match=LOOP) as error:
        session.batch([move])
    assert error.value.index == 0 and error.value.field == "origin_id"
    # Two moves of one batch that make a loop together.
    other = family["other"]
    pair = [
        {"op": "update", "type": "mouse", "id": other["id"], "origin_id": mouse["id"]},
        {"op": "update", "type": "mouse", "id": mouse["id"], "origin_id": other["id"]},
    ]
    with pytest.raises(BadRequest, match=LOOP) as error:
        session.batch(pair)
    assert error.value.index == 1
    # A conflicting creation that would move the existing entity below itself.
    update = {
        "type": "mouse",
        "name": "M1",
        "origin_id": family["rec"]["id"],
        "conflicts": "update",
    }
    with pytest.raises(BadRequest, match=LOOP):
        session.batch([update])
    assert snapshot(store) == before


def test_a_revert_cannot_make_a_loop(store, session, family):
    first, second = family["mouse"], family["other"]
    session.update_one(
        first["id"], "mouse", origin_id=second["id"], strict_validation=False
    )
    created, below = versions(store, first["id"])
    session.revert(first["id"], created.id)
    session.update_one(
        second["id"], "mouse", origin_id=first["id"], strict_validation=False
    )
    with pytest.raises(BadRequest, match=LOOP):
        session.revert(first["id"], below.id)


def test_walks_end_on_a_database_that_holds_a_loop(store, session, family, snapshot):
    mouse, day = family["mouse"], family["day"]
    make_loop(store, mouse, day)
    below = session.get_descendants(mouse["id"])
    assert sorted(e["name"] for e in below) == [
        "M1_S1",
        "M1_S1_R1",
        "M1_S1_R1_D1",
    ]
    before = snapshot(store)
    with pytest.raises(BadRequest, match="is in a loop of parents"):
        session.delete(mouse["id"])
    with pytest.raises(BadRequest, match="form a loop"):
        session.update_one(
            family["other"]["id"], "mouse", origin_id=day["id"], strict_validation=False
        )
    assert snapshot(store) == before
    # Moving one entity of the loop out of it mends the hierarchy.
    session.update_one(
        mouse["id"], "mouse", origin_id=family["other"]["id"], strict_validation=False
    )
    assert session.delete(family["other"]["id"]) == "deleted successfully null"
    assert session.get("mouse") == []


def test_an_import_whose_origin_is_in_the_database_cannot_loop(store, project, family):
    dump = {"S9": {"type": "session", "origin_id": family["mouse"]["id"]}}
    assert import_project(store, dump, project.id, progress=False)["entities"] == 1


# --------------------------------------------------------------- deletes


def test_a_delete_stays_inside_the_users_projects(store, project, family, snapshot):
    accounts = Accounts(store)
    other = accounts.create_project("other")
    accounts.add_user("both", "x")
    accounts.add_user("only", "x")
    accounts.add_member("both", "test")
    accounts.add_member("both", "other")
    accounts.add_member("only", "test")
    both = LocalSession(store, project_id=other.id, username="both")
    for name in ("B1", "B2"):
        both.post("session", name, {}, origin_id=family["mouse"]["id"])
    only = LocalSession(store, project_id=project.id, username="only")
    before = snapshot(store)
    with pytest.raises(Forbidden) as error:
        only.delete(family["mouse"]["id"])
    assert "2 entities below mouse M1 belong to a project you cannot write" in (
        error.value.message
    )
    assert "(2 in project other)" in error.value.message
    assert snapshot(store) == before
    assert both.delete(family["mouse"]["id"]) == "deleted successfully null"


# ----------------------------------------------------------- lost updates


def test_concurrent_update_one_and_update_many_lose_nothing(store, project):
    """Writers of update-one (each its own attribute) and of update-many (each
    its own attribute, on every mouse) at once: every acknowledged value is in
    the final state, and each version's ``before`` is the previous ``after``."""
    session = LocalSession(store, project_id=project.id)
    mice = [session.post("mouse", f"M{i}", {})["id"] for i in range(8)]
    acknowledged: dict[tuple, int] = {}
    errors = []
    lock = threading.Lock()

    def one(writer: int):
        rng = random.Random(writer)
        local = LocalSession(store, project_id=project.id)
        try:
            for value in range(30):
                mouse = rng.choice(mice)
                local.update_one(
                    mouse,
                    "mouse",
                    attributes={f"one{writer}": value},
                    strict_validation=False,
                )
                with lock:
                    acknowledged[(mouse, f"one{writer}")] = value
        except Exception as error:  # noqa: BLE001 (reported by the test)
            errors.append(error)

    def many(writer: int):
        local = LocalSession(store, project_id=project.id)
        try:
            for value in range(10):
                local.update_many(
                    "mouse", f"many{writer}", str(value), strict_validation=False
                )
                with lock:
                    for mouse in mice:
                        acknowledged[(mouse, f"many{writer}")] = str(value)
        except Exception as error:  # noqa: BLE001 (reported by the test)
            errors.append(error)

    threads = [threading.Thread(target=one, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=many, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = {e["id"]: e["attributes"] for e in session.get("mouse")}
    lost = {
        key: value
        for key, value in acknowledged.items()
        if final[key[0]].get(key[1]) != value
    }
    assert lost == {}
    assert len(acknowledged) > 8
    for mouse in mice:
        chain = versions(store, mouse)
        for earlier, later in zip(chain, chain[1:], strict=False):
            assert later.before == earlier.after


# ---------------------------------------------------------------- history


def test_every_write_leaves_a_version(store, session, project, family):
    data = family["data"]
    session.update_one(
        data["id"], "dataset", attributes={"n": 1}, strict_validation=False
    )
    stamp = session.get("dataset", id=data["id"])[0]["dateUpdated"]
    session.update_one(
        data["id"], "dataset", attributes={"n": 1}, strict_validation=False
    )
    session.update_one(data["id"], "dataset", attributes={}, strict_validation=False)
    assert session.get("dataset", id=data["id"])[0]["dateUpdated"] == stamp
    session.delete(family["rec"]["id"])
    (batch,) = trash.batches(store)
    trash.restore(store, batch["batch"])
    session.delete(family["rec"]["id"])
    trash.purge(store, trash.batches(store)[0]["batch"])
    assert [row.action for row in versions(store, data["id"])] == [
        "create",
        "update",
        "delete",
        "restore",
        "delete",
        "purge",
    ]
    dump = {"M9": {"type": "mouse"}}
    import_project(store, dump, project.id, progress=False, created_by="Importer")
    (imported,) = session.get("mouse", name="M9")
    (row,) = versions(store, imported["id"])
    assert (row.action, row.changed_by, row.before) == ("import", "Importer", None)


def test_revert_makes_the_entity_as_it_was(store, session, family):
    mouse = family["mouse"]
    session.update_one(
        mouse["id"],
        "mouse",
        attributes={"sex": "M", "cage": 3},
        strict_validation=False,
    )
    session.update_one(
        mouse["id"],
        "mouse",
        name="M1b",
        origin_id=family["other"]["id"],
        strict_validation=False,
    )
    first = versions(store, mouse["id"])[0]
    reverted = session.revert(mouse["id"], first.id)
    assert reverted["name"] == "M1" and reverted["origin_id"] is None
    assert reverted["attributes"] == {"sex": "F"}
    assert session.get("mouse", id=mouse["id"])[0]["attributes"] == {"sex": "F"}
    history = session.history(id=mouse["id"])
    assert [v["action"] for v in history] == ["revert", "update", "update", "create"]
    assert history[0]["changes"] == {
        "name": ["M1b", "M1"],
        "origin_id": [family["other"]["id"], None],
        "attributes.sex": ["M", "F"],
        "attributes.cage": [3, None],
    }
    with pytest.raises(BadRequest, match="has no version"):
        session.revert(mouse["id"], versions(store, family["day"]["id"])[0].id)
    session.delete(family["data"]["id"])
    deletion = versions(store, family["data"]["id"])[-1].id
    with pytest.raises(BadRequest, match="is the delete of entity"):
        session.revert(family["data"]["id"], deletion)


def test_history_pages_and_rights(store, session, project, family):
    page = session.history(project_id=project.id, limit=3)
    assert len(page) == 3 and page[0]["version"] > page[-1]["version"]
    rest = session.history(project_id=project.id, before=page[-1]["version"])
    assert [v["version"] for v in rest] == sorted(
        (v["version"] for v in rest), reverse=True
    )
    assert len(page) + len(rest) == 5
    Accounts(store).add_user("eve", "x")
    eve = LocalSession(store, username="eve")
    with pytest.raises(Forbidden):
        eve.history(project_id=project.id)
    assert eve.history(id=family["mouse"]["id"]) == []
    with pytest.raises(BadRequest, match="give the id of an entity or of a project"):
        session.history()


# ------------------------------------------------------------ parent types


def test_allowed_parents_on_every_write(store, session, family, snapshot):
    before = snapshot(store)
    mouse, day = family["mouse"], family["day"]
    with pytest.raises(BadRequest, match="A recording cannot be below a mouse"):
        session.post("recording", "R", {}, origin_id=mouse["id"])
    with pytest.raises(BadRequest, match="A dataset cannot be below a dataset"):
        session.post("dataset", "D", {"path": "p"}, origin_id=family["data"]["id"])
    second = session.post("session", "M1_S2", {}, origin_id=mouse["id"])
    before = snapshot(store)
    with pytest.raises(BadRequest, match="A session cannot be below a session"):
        session.update_one(
            day["id"], "session", origin_id=second["id"], strict_validation=False
        )
    move = {
        "op": "update",
        "type": "recording",
        "id": family["rec"]["id"],
        "origin_id": mouse["id"],
    }
    with pytest.raises(BadRequest, match="A recording cannot be below a mouse"):
        session.batch([move])
    assert snapshot(store) == before
    # Roots are always fine, and a type without allowed_parents takes any parent.
    session.post("recording", "R", {})
    session.post("mouse", "below", {}, origin_id=family["data"]["id"])


# ---------------------------------------------------------- names claimed

#: Names that only an exact comparison tells apart: prefixes of each other,
#: case, accents, and long names equal up to 63 characters (PostgreSQL's
#: ``name`` type, which an array of names must not be cast to).
TRICKY = ["M1", "M10", "m1", "Mé", "Me", "M1 ", "x" * 300, "x" * 299 + "y"]


def test_a_batch_finds_the_names_already_present(store, session, monkeypatch):
    """Creations of names already there are skipped, exactly those (by
    project and type), however many look-ups it takes."""
    monkeypatch.setattr(rows, "CHUNK", 3)
    present = TRICKY[::2]
    session.batch([{"type": "mouse", "name": name} for name in present])
    session.post("session", "M10", {}, strict_validation=False)
    other = Accounts(store).create_project("other")
    LocalSession(store, project_id=other.id, username="alice").post("mouse", "m1", {})
    before = {e["name"]: e["id"] for e in session.get("mouse")}
    reply = session.batch(
        [{"type": "mouse", "name": name} for name in TRICKY], conflicts="skip"
    )
    statuses = {r["name"]: r["status"] for r in reply["results"]}
    assert statuses == {
        name: "skipped" if name in present else "created" for name in TRICKY
    }
    ids = {r["name"]: r["id"] for r in reply["results"]}
    assert {name: ids[name] for name in present} == before
    with pytest.raises(BadRequest, match="already exist"):
        session.batch([{"type": "mouse", "name": "x" * 300}])


def test_an_import_finds_the_names_already_present(store, project, snapshot):
    session = LocalSession(store, project_id=project.id, username="alice")
    session.post("mouse", "x" * 299 + "y", {})
    dump = {
        name: {"type": "mouse", "name": name, "attributes": {}}
        for name in ("x" * 300, "x" * 299 + "y")
    }
    before = snapshot(store)
    with pytest.raises(BadRequest, match="already exist"):
        import_project(store, dump, "test", progress=False)
    assert snapshot(store) == before


@pytest.fixture
def fresh_postgres():
    """A new, migrated PostgreSQL database: its store (no statistics yet)."""
    with new_postgres_database("flexilims_test_plan") as url:
        store = Store.open(url)
        yield store
        store.engine.dispose()


def plans(conn, query, params) -> list[str]:
    """The plans PostgreSQL makes for a query of the store, with the values
    known (custom plan) and unknown (generic plan, as for a prepared
    statement), sent by the store's engine as it sends the query."""

    def explain(conn, cursor, statement, parameters, context, executemany):
        return "EXPLAIN " + statement, parameters

    found = []
    for mode in ("force_custom_plan", "force_generic_plan"):
        conn.exec_driver_sql(f"SET LOCAL plan_cache_mode = {mode}")
        sa.event.listen(conn, "before_cursor_execute", explain, retval=True)
        try:
            found.append("\n".join(conn.execute(query, params).scalars()))
        finally:
            sa.event.remove(conn, "before_cursor_execute", explain)
    return found


def test_look_ups_by_name_and_id_probe_an_index(fresh_postgres):
    """With no statistics (a large import's own rows) and after ANALYZE, with
    the values known or not (prepared statements), the names of a chunk are
    looked up one index probe each (the unique (project, type, name) index,
    or the name index filtered by project and type), never by scanning the
    type's entities nor through the pg_trgm index; ids one probe of the
    primary key each."""
    store = fresh_postgres
    project = Accounts(store).create_project("test")
    names = [f"M{i}_S20210505_R{i % 4}_D{i % 5}" for i in range(3000)]
    entities = [
        {
            "id": new_id(),
            "project_id": project.id,
            "type": "dataset",
            "name": name,
            "incremental_id": f"DATASET{i:07d}",
            "attributes": {"path": name},
            "created_by": "me",
            "date_created": i,
            "date_updated": i,
            "origin_id": None,
        }
        for i, name in enumerate(names)
    ]
    params = {"project_id": project.id, "type": "dataset", "names": names[-500:]}
    ids = {"ids": sorted(entity["id"] for entity in entities[-500:])}

    def assert_index_probes(conn):
        for plan in plans(conn, rows.NAMED_POSTGRES, params):
            assert plan.startswith("Nested Loop"), plan
            probes = set(re.findall(r"Index Scan using (\w+) on entities", plan))
            assert probes, plan
            assert probes <= {"uq_entities_project_id_type_name", "ix_entities_name"}
            for other in ("Seq Scan", "Hash", "Bitmap", "date_created"):
                assert other not in plan, plan
        for query in (rows.ENTITIES_LOCKED_POSTGRES, rows.IDS_POSTGRES):
            for plan in plans(conn, query, ids):
                assert plan.startswith("Nested Loop"), plan
                assert re.search(r"Index (Only )?Scan using pk_entities", plan), plan
                for other in ("Seq Scan", "Hash", "Bitmap"):
                    assert other not in plan, plan

    with store.write() as conn:
        conn.execute(m.entities.insert(), entities)
        assert_index_probes(conn)
    with store.write() as conn:
        conn.exec_driver_sql("ANALYZE entities")
        assert_index_probes(conn)
        found = conn.execute(rows.NAMED_POSTGRES, params).all()
        by_id = conn.execute(rows.ENTITIES_LOCKED_POSTGRES, ids).all()
        assert rows.existing(conn, ids["ids"] + ["0" * 24]) == set(ids["ids"])
    assert sorted(row.name for row in found) == sorted(names[-500:])
    assert [row.id for row in by_id] == ids["ids"]


def column_statistics(store) -> int:
    with store.read() as conn:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM pg_statistic WHERE starelid = 'entities'::regclass"
        ).scalar()


def test_a_large_batch_renews_the_statistics_a_failed_one_does_not(fresh_postgres):
    """A table grown by thousands of rows within a minute is still "a few
    rows" to the planner until autovacuum's next pass: name look-ups were
    then planned as a walk of every entity of the type per name (0.6 s to
    12 s per batch of 5,000 from 10,000 entities on)."""
    store = fresh_postgres
    project = Accounts(store).create_project("lab")
    session = LocalSession(store, project_id=project.id, username="jane")

    def mice(prefix, count):
        return [{"type": "mouse", "name": f"{prefix}{i}"} for i in range(count)]

    session.batch(mice("small", db.ANALYZE_AFTER_ROWS - 1))
    assert column_statistics(store) == 0
    with pytest.raises(BadRequest):
        session.batch(mice("failed", db.ANALYZE_AFTER_ROWS) + mice("small", 1))
    assert column_statistics(store) == 0
    session.batch(mice("large", db.ANALYZE_AFTER_ROWS))
    assert column_statistics(store) > 0


def test_a_failed_analyze_leaves_the_committed_batch_and_is_logged(
    fresh_postgres, monkeypatch, caplog
):
    """The batch has committed when its ``ANALYZE`` runs: another session
    holding the table's statistics lock makes that ``ANALYZE`` time out, and
    the batch still answers as written."""
    monkeypatch.setenv("FLEXILIMS_LOCK_TIMEOUT_SECONDS", "0.5")
    store = Store.open(fresh_postgres.engine.url.render_as_string(hide_password=False))
    project = Accounts(store).create_project("lab")
    session = LocalSession(store, project_id=project.id, username="jane")
    mice = [{"type": "mouse", "name": f"m{i}"} for i in range(db.ANALYZE_AFTER_ROWS)]
    with fresh_postgres.engine.connect() as holder:
        holder.exec_driver_sql("BEGIN")
        holder.exec_driver_sql("LOCK TABLE entities IN SHARE UPDATE EXCLUSIVE MODE")
        reply = session.batch(mice)
        holder.exec_driver_sql("ROLLBACK")
    assert reply["created"] == db.ANALYZE_AFTER_ROWS
    assert len(session.get("mouse")) == db.ANALYZE_AFTER_ROWS
    assert "ANALYZE entities after a large write failed" in caplog.text
    assert column_statistics(store) == 0
    store.engine.dispose()


# ------------------------------------------------------- inserts in one batch


def test_a_name_taken_meanwhile_is_refused_in_the_protocol_words(
    store, project, session, snapshot
):
    """The rows of a write go in one batch (one statement on PostgreSQL);
    the unique name an other transaction took after the look-up is still
    refused as a name taken, and nothing of the batch is written."""
    session.post("mouse", "M9", {"sex": "F"})
    before = snapshot(store)
    row = {
        "id": new_id(),
        "project_id": project.id,
        "type": "mouse",
        "name": "M9",
        "incremental_id": "MOUSE9999999",
        "attributes": {"sex": "M"},
        "created_by": "alice",
        "date_created": 1,
        "date_updated": 1,
        "origin_id": None,
    }
    taken = "Sample M9 already exist in the project test"
    with pytest.raises(BadRequest, match=taken) as refused:
        with store.write() as conn:
            batch = InsertBatch(conn)
            rows.insert_entities(
                conn, [row], {project.id: project.name}, inserts=batch.add, batch=batch
            )
            batch.add(m.entity_links, [(row["id"], row["id"])])
            batch.flush()
    assert refused.value.code == "name_taken"
    assert refused.value.project == project.name
    assert snapshot(store) == before


def test_a_batch_refers_to_rows_of_its_earlier_tables(store, project, session):
    """Index rows, links and history rows of new entities go in the batch
    with them: the foreign keys hold when the batch is written."""
    mouse = session.post(
        "mouse", "M1", {"sex": "F", "weight": 20.5}, strict_validation=False
    )
    child = session.post(
        "session", "M1_S1", {"date": "d"}, origin_id=mouse["id"], other_relations=[]
    )
    with store.read() as conn:
        keys = conn.execute(
            sa.select(m.attribute_values.c.key, m.attribute_values.c.value)
            .where(m.attribute_values.c.entity_id == mouse["id"])
            .order_by(m.attribute_values.c.key)
        ).all()
        actions = conn.execute(
            sa.select(m.history.c.action).where(
                m.history.c.entity_id.in_([mouse["id"], child["id"]])
            )
        ).all()
    assert [tuple(key) for key in keys] == [("sex", "F"), ("weight", "20.5")]
    assert sorted(action for (action,) in actions) == ["create", "create"]


def test_incremental_ids_leave_no_gap_for_what_was_not_written(store, session):
    """The counter is bumped in the write's transaction (on PostgreSQL by
    the statement that inserts the entities): a refused save or batch, a dry
    run and a skipped creation take no number; every entity written takes
    the next one."""

    def creations(*names):
        return [{"op": "create", "type": "mouse", "name": n} for n in names]

    first = session.post("mouse", "N1", {})
    number = int(first["incrementalId"].removeprefix("MOUSE"))
    with pytest.raises(NameTaken):
        session.post("mouse", "N1", {})
    with pytest.raises(OperationFailed):
        session.batch(creations("N2", "N2"))
    dry = session.batch(creations("N2", "N3"), dry_run=True)
    assert dry["created"] == 2 and dry["problems"] == []
    skipping = session.batch(creations("N1", "N2"), conflicts="skip")
    assert (skipping["skipped"], skipping["created"]) == (1, 1)
    both = session.batch(creations("N3", "N4"))
    last = session.post("mouse", "N5", {})
    by_name = {e["name"]: e["incrementalId"] for e in session.get("mouse")}
    assert [by_name[f"N{i}"] for i in range(1, 6)] == [
        f"MOUSE{number + i:07d}" for i in range(5)
    ]
    assert both["created"] == 2 and last["incrementalId"] == by_name["N5"]
    with store.read() as conn:
        counter = conn.execute(
            sa.select(m.counters.c.value).where(m.counters.c.name == "mouse")
        ).scalar_one()
    assert counter == number + 4


@pytest.mark.parametrize("count", [1, 3, 150])
def test_incremental_ids_are_alike_in_the_reply_the_entity_and_its_history(
    store, session, count
):
    """Past seven digits too (on PostgreSQL the id is made by SQL in the
    statement that inserts the entity, or, for many rows, by a statement
    before their ``COPY``): the reply, the row and the history's record
    hold the id the Python rule makes."""
    with store.write() as conn:
        rows.raise_counters(conn, {"mouse": 9_999_999 - count // 2})
    names = [f"Big{i}" for i in range(count)]
    if count == 1:
        replies = [session.post("mouse", names[0], {"sex": "F"})]
    else:
        session.batch(
            [
                {"op": "create", "type": "mouse", "name": n, "attributes": {}}
                for n in names
            ]
        )
        replies = [session.get("mouse", name=n)[0] for n in names]
    start = 9_999_999 - count // 2
    expected = [f"MOUSE{n:07d}" for n in range(start + 1, start + count + 1)]
    assert [r["incrementalId"] for r in replies] == expected
    assert any(len(number) == len("MOUSE") + 8 for number in expected)
    for reply in replies:
        (record,) = versions(store, reply["id"])
        links = ("customEntities", "objects")
        assert record.after == {k: v for k, v in reply.items() if k not in links}


@pytest.mark.parametrize("count", [1, COPY_FROM_ROWS + 10])
def test_creations_begun_without_a_transaction_are_all_or_nothing(
    store, project, count
):
    """On PostgreSQL creations run their look-ups outside a transaction, and
    begin one only for a write of more than one statement (many rows go by
    COPY, a table at a time): a failure of the database at the last table,
    after the entities are in, still leaves nothing of the write."""
    if not store.is_postgres:
        pytest.skip("SQLite's writes take the write lock before any look-up")
    operations = [
        Operation(
            index=index,
            op="create",
            type="sample",
            name=f"S{index}",
            project_id=project.id,
            attributes={"sample_type": "slice"},
        )
        for index in range(count)
    ]
    with store.write() as conn:
        conn.exec_driver_sql(
            "CREATE FUNCTION refuse_last() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF NEW.after->>'name' = 'S{count - 1}' THEN "
            "RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse_last BEFORE INSERT ON history FOR EACH ROW "
            "EXECUTE FUNCTION refuse_last()"
        )
    try:
        with pytest.raises(sa.exc.DBAPIError, match="refused"):
            store.apply(ALICE, operations)
    finally:
        with store.write() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_last ON history")
            conn.exec_driver_sql("DROP FUNCTION refuse_last()")
    with store.read() as conn:
        for table in (m.entities, m.attribute_values, m.history):
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                == 0
            )
    saved = store.apply(ALICE, operations)
    assert [r["status"] for r in saved.results] == ["created"] * count


def test_a_save_sends_few_statements(store, project, session, sent_statements):
    """A save is a handful of statements: the project, the name, the parent
    and the lab settings' version in one look-up (the rules are cached), the
    counter, an insert per table, and the commit. On PostgreSQL, two and no
    transaction of their own (no BEGIN, no COMMIT): the look-up, and one
    statement that numbers the entity and inserts it with its index and
    history."""
    session.post("mouse", "M0", {})
    sent_statements.clear()
    commits = []

    def commit(conn):
        commits.append(conn)

    sa.event.listen(store.engine, "commit", commit)
    try:
        mouse = session.post("mouse", "M1", {"sex": "F"})
        # Below a parent: it is read by the same look-up.
        child = session.post("session", "M1_S1", {"date": "d"}, origin_id=mouse["id"])
    finally:
        sa.event.remove(store.engine, "commit", commit)
    assert len(commits) == (0 if store.is_postgres else 2)
    assert mouse["incrementalId"] == "MOUSE0000002"
    assert child["origin_id"] == mouse["id"]
    expected = 4 if store.is_postgres else 14
    assert len(sent_statements) == expected, sent_statements
