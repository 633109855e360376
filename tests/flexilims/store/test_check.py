"""``flexilims check``: each kind of damage is found, reported, and repaired
by ``--fix`` when a mechanical repair is safe; on both backends."""

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flexilims import LocalSession
from flexilims.cli import cli
from flexilims.store import db
from flexilims.store import models as m
from flexilims.store.check import KINDS, check


@pytest.fixture
def session(store, project):
    return LocalSession(store, project_id=project.id)


def healthy_tree(session) -> dict:
    """mouse > session > recording > dataset, named by the genealogy rule."""
    mouse = session.post("mouse", "M1", {"sex": "F"})
    day = session.post("session", "M1_S1", {"date": "d"}, origin_id=mouse["id"])
    rec = session.post(
        "recording",
        "M1_S1_R1",
        {"recording_type": "two_photon"},
        origin_id=day["id"],
    )
    data = session.post(
        "dataset", "M1_S1_R1_ds", {"path": "M1/S1/R1"}, origin_id=rec["id"]
    )
    return {"mouse": mouse, "session": day, "recording": rec, "dataset": data}


def raw_write(store, *statements) -> None:
    """Damage the database behind the store's back, its checks switched off
    (foreign keys on SQLite, triggers of constraints on PostgreSQL)."""
    with store.engine.connect() as conn:
        if store.is_postgres:
            with conn.begin():
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                for statement, values in statements:
                    conn.execute(statement, values)
            return
        # No BEGIN: the pragma only works outside a transaction.
        conn = conn.execution_options(**{db.READ: True})
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for statement, values in statements:
            conn.execute(statement, values)
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")
    store.engine.dispose()


def found(report) -> dict:
    return {kind: len(items) for kind, items in report.problems.items() if items}


def test_a_sound_database_passes(store, session, tmp_path):
    healthy_tree(session)
    (tmp_path / "M1" / "S1" / "R1").mkdir(parents=True)
    report = check(store, data_roots=[tmp_path])
    assert report.ok and found(report) == {} and report.entities == 4
    assert report.skipped == []
    assert check(store).skipped  # no data root: paths are not checked


def test_every_kind_of_damage_is_found_and_repaired_where_safe(
    store, session, tmp_path, snapshot
):
    tree = healthy_tree(session)
    e, av = m.entities, m.attribute_values
    loose = session.post("mouse", "M2", {"sex": "M"})
    a = session.post("sample", "A", {})
    b = session.post("sample", "A_B", {}, origin_id=a["id"])
    escapes = session.post(
        "dataset", "M1_S1_R1_up", {"path": "up"}, origin_id=tree["recording"]["id"]
    )
    shadow = "../../etc/shadow"  # the store refuses it: written by another server
    raw_write(
        store,
        (
            sa.update(e)
            .where(e.c.id == escapes["id"])
            .values(attributes={"path": shadow}),
            {},
        ),
        (
            sa.update(av)
            .where(av.c.entity_id == escapes["id"], av.c.key == "path")
            .values(value=shadow, value_prefix=shadow),
            {},
        ),
        # an orphan
        (sa.update(e).where(e.c.id == loose["id"]).values(origin_id="f" * 24), {}),
        # a loop of two
        (sa.update(e).where(e.c.id == a["id"]).values(origin_id=b["id"]), {}),
        # index rows that disagree: one missing, one wrong
        (sa.delete(av).where(av.c.entity_id == tree["mouse"]["id"]), {}),
        (
            sa.update(av)
            .where(av.c.entity_id == tree["session"]["id"])
            .values(value="x", value_prefix="x"),
            {},
        ),
        # a counter behind
        (
            sa.update(m.counters).where(m.counters.c.name == "dataset").values(value=0),
            {},
        ),
        # a name that breaks the genealogy convention
        (sa.update(e).where(e.c.id == tree["dataset"]["id"]).values(name="stray"), {}),
        # a value the lab settings refuse (written behind the store's back)
        (
            sa.update(e)
            .where(e.c.id == tree["recording"]["id"])
            .values(attributes={"recording_type": "humpy"}),
            {},
        ),
    )
    report = check(store, data_roots=[tmp_path])
    assert found(report) == {
        "orphans": 1,
        "parent_loops": 2,
        "index": 3,  # mouse and session, and the recording written behind
        "counters": 1,
        "genealogy": 2,  # stray, and A below A_B
        "lab_settings": 2,  # humpy, and a path leading outside the data root
        "dataset_paths": 2,  # M1/S1/R1 absent, ../../etc/shadow not probed
    }
    refused = " ".join(p.message for p in report.problems["lab_settings"])
    assert "'humpy' is not a valid value" in refused
    assert "'../../etc/shadow' is not a valid value for path" in refused
    shadow = [p for p in report.problems["dataset_paths"] if p.subject == escapes["id"]]
    assert "not a path inside the data root" in shadow[0].message
    assert not report.ok

    before = snapshot(store)
    assert check(store).problems["index"]  # a plain check writes nothing
    assert snapshot(store) == before

    fixed = check(store, data_roots=[tmp_path], fix=True)
    assert fixed.fixed == {"index": 3, "counters": 1}
    after = check(store, data_roots=[tmp_path])
    assert found(after) == {
        "orphans": 1,
        "parent_loops": 2,
        "genealogy": 2,
        "lab_settings": 2,
        "dataset_paths": 2,
    }
    # The repaired index serves queries again, and new datasets get fresh ids.
    assert session.get("mouse", query_key="sex", query_value="F")[0]["name"] == "M1"
    new = session.post(
        "dataset", "M1_S1_R1_new", {"path": "p"}, origin_id=tree["recording"]["id"]
    )
    assert new["incrementalId"] == "DATASET0000003"


def test_too_deep_chains_are_reported(store, session):
    parent = session.post("sample", "S", {})
    name = "S"
    for _ in range(40):
        name += "_x"
        parent = session.post("sample", name, {}, origin_id=parent["id"])
    report = check(store)
    # Entities with more than 32 ancestors: 33 to 40.
    assert len(report.problems["too_deep"]) == 8
    assert not report.problems["parent_loops"]


def test_the_command_reports_and_exits_non_zero(database_url, store, session, tmp_path):
    tree = healthy_tree(session)
    run = CliRunner().invoke
    result = run(cli, ["check", "--database", database_url])
    assert result.exit_code == 0, result.output
    assert "skipped dataset_paths" in result.output
    for kind in KINDS:
        assert f"{kind}: ok" in result.output
    raw_write(
        store,
        (sa.update(m.counters).where(m.counters.c.name == "mouse").values(value=0), {}),
    )
    result = run(
        cli, ["check", "--database", database_url, "--data-root", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "counters: 1 (the counter is behind" in result.output
    assert "repairable: run `flexilims check --fix`" in result.output
    assert "dataset_paths: 1" in result.output and "needs a person" in result.output
    (tmp_path / "M1" / "S1" / "R1").mkdir(parents=True)
    result = run(
        cli,
        ["check", "--fix", "--database", database_url, "--data-root", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "fixed: 1" in result.output
    assert run(cli, ["check", "--database", database_url]).exit_code == 0
    assert tree
