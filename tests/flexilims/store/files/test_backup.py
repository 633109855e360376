"""``flexilims backup`` and ``restore``: every row of every table comes back
(tokens and failed logins left out), files are owner-only, a database with
data is only replaced when told; on both backends."""

import os
import secrets
import stat
import threading

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from flexilims import AuthenticationFailed, LocalSession
from flexilims.cli import cli
from flexilims.store import Store, db, labsettings
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.store.files.backup import LEFT_OUT, backup
from flexilims.store.writing import trash


@pytest.fixture
def second_url(database_url, tmp_path):
    """Another empty database of the same backend, to restore into."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"flexilims_restore_{secrets.token_hex(4)}"
    admin = sa.create_engine(
        db.create_engine(os.environ["FLEXILIMS_TEST_POSTGRES_URL"]).url,
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield (
        sa.engine.make_url(database_url)
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def fill(store) -> None:
    """Something in every table: users, memberships, projects, entities,
    links, index rows, history, trash, counters, tokens, failed logins and
    an idempotency key."""
    accounts = Accounts(store)
    project = accounts.create_project("lab")
    accounts.create_project("other")
    accounts.add_user("jane", "pw", "Jane Doe")
    accounts.add_user("root", "pw", is_admin=True)
    accounts.add_member("jane", "lab")
    accounts.authenticate("jane", "pw")
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate("jane", "wrong", client="10.0.0.1")
    session = LocalSession(store, project_id=project.id, username="jane")
    mouse = session.post("mouse", "M1", {"sex": "F", "genealogy": ["M1"]})
    day = session.post("session", "M1_S1", {"date": "d"}, origin_id=mouse["id"])
    session.post(
        "dataset",
        "M1_S1_ds",
        {"path": "a/b", "nested": {"x": [1, 2.5, None, "é"]}},
        origin_id=day["id"],
        other_relations=[mouse["id"]],
        strict_validation=False,
    )
    session.update_one(mouse["id"], "mouse", attributes={"sex": "M"})
    gone = session.post("sample", "M1_brain", {}, origin_id=mouse["id"])
    session.delete(gone["id"])
    from flexilims import dispatch
    from flexilims.store.idempotency import IdempotentRequest

    body = {"operations": [{"type": "mouse", "name": "M2", "attributes": {}}]}
    keyed = IdempotentRequest("jane", "k1", "batch", {"project_id": project.id}, body)
    dispatch.call(
        store, session.actor, "batch", {"project_id": project.id}, body, keyed
    )
    assert trash.batches(store)


def kept(snapshot: dict) -> dict:
    return {name: rows for name, rows in snapshot.items() if name not in LEFT_OUT}


def test_round_trip_keeps_every_row_and_leaves_tokens_out(
    database_url, store, second_url, tmp_path, snapshot
):
    database_snapshot = snapshot
    fill(store)
    original = database_snapshot(store)
    assert all(original[name] for name in LEFT_OUT)
    assert all(rows for rows in kept(original).values())  # every table has rows
    file = tmp_path / "lab.backup"
    run = CliRunner().invoke
    result = run(cli, ["backup", str(file), "--database", database_url])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*partial"))

    result = run(cli, ["restore", str(file), "--database", second_url])
    assert result.exit_code == 0, result.output
    restored = Store.open(second_url)
    try:
        copy = database_snapshot(restored)
        assert kept(copy) == kept(original)
        assert all(not copy[name] for name in LEFT_OUT)
        # The restored database works: users log in, counters go on.
        accounts = Accounts(restored)
        assert accounts.authenticate("jane", "pw")
        session = LocalSession(restored, username="jane")
        project = accounts.project("lab").id
        new = session.post("mouse", "M3", {}, project_id=project)
        assert new["incrementalId"] == "MOUSE0000003"
    finally:
        restored.engine.dispose()

    # Restoring over data needs --force, and then replaces it.
    result = run(cli, ["restore", str(file), "--database", second_url])
    assert result.exit_code == 1
    assert "holds data already" in result.output and "--force" in result.output
    result = run(cli, ["restore", str(file), "--force", "--database", second_url])
    assert result.exit_code == 0, result.output
    again = Store.open(second_url)
    try:
        assert kept(database_snapshot(again)) == kept(original)
    finally:
        again.engine.dispose()


def test_backup_while_writes_go_on_is_consistent(
    database_url, store, tmp_path, second_url
):
    """Batches of 50 are written during the backup: the backup holds whole
    batches only (one state of the database)."""
    project = Accounts(store).create_project("lab")
    session = LocalSession(store, project_id=project.id)
    stop = threading.Event()
    written = []

    def write():
        while not stop.is_set():
            n = len(written)
            ops = [{"type": "mouse", "name": f"M{n}_{i}"} for i in range(50)]
            session.batch(ops)
            written.append(n)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        while len(written) < 3:
            stop.wait(0.01)
        files = [backup(database_url, tmp_path / f"b{i}") for i in range(3)]
    finally:
        stop.set()
        thread.join()
    counts = []
    for file in files:
        CliRunner().invoke(
            cli, ["restore", str(file), "--force", "--database", second_url]
        )
        engine = db.create_engine(second_url)
        with engine.connect() as conn:
            counts.append(
                conn.execute(
                    sa.select(sa.func.count()).select_from(m.entities)
                ).scalar()
            )
            # The counter of mice (the other row is the lab settings' version).
            counters = (
                conn.execute(
                    sa.select(m.counters.c.value).where(
                        m.counters.c.name != labsettings.VERSION
                    )
                )
                .scalars()
                .all()
            )
        engine.dispose()
        assert counts[-1] % 50 == 0 and counts[-1] >= 150
        assert counters == [counts[-1]]


def test_restore_refuses_what_is_no_backup_and_the_other_backend(
    database_url, store, tmp_path
):
    junk = tmp_path / "junk"
    junk.write_text("hello")
    result = CliRunner().invoke(cli, ["restore", str(junk), "--database", database_url])
    assert result.exit_code == 1 and "is not a flexilims backup" in result.output
    other = tmp_path / "other"
    if database_url.startswith("sqlite"):
        other.write_bytes(b"PGDMP" + bytes(100))
        expected = "is a postgresql backup and the database is sqlite"
    else:
        other.write_bytes(b"SQLite format 3\x00" + bytes(100))
        expected = "is a sqlite backup and the database is postgresql"
    result = CliRunner().invoke(
        cli, ["restore", str(other), "--database", database_url]
    )
    assert result.exit_code == 1 and expected in result.output


def test_a_missing_pg_dump_is_named(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(
        cli, ["backup", str(tmp_path / "x"), "--database", postgres_url]
    )
    assert result.exit_code == 1
    assert "pg_dump is not installed" in result.output
    assert not (tmp_path / "x").exists()


def test_the_sqlite_file_and_its_journal_are_owner_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'flexilims.db'}"
    store = Store.open(url)
    try:
        Accounts(store).create_project("p")
        with store.engine.connect() as conn:  # keep the WAL open
            conn.exec_driver_sql("SELECT 1")
            files = sorted((tmp_path / "new").iterdir())
            assert [f.name for f in files] == [
                "flexilims.db",
                "flexilims.db-shm",
                "flexilims.db-wal",
            ]
            for file in files:
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        store.engine.dispose()
