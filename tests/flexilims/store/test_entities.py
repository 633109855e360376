import os

import pytest

from flexilims.store.entities import new_id
from flexilims.writes import is_hex_id


def test_ids_of_one_process_increase_so_same_millisecond_entities_keep_their_order():
    ids = [new_id() for _ in range(1000)]
    assert all(is_hex_id(i) for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_process_makes_ids_of_its_own():
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, new_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    theirs = os.read(read, 24).decode()
    ours = new_id()
    assert is_hex_id(theirs) and theirs != ours
    assert theirs[8:18] != ours[8:18]


def test_the_schema_head_is_alembics():
    """A database at db.HEAD skips Alembic: HEAD must be the newest migration."""
    from alembic.script import ScriptDirectory

    from flexilims.store import db

    script = ScriptDirectory.from_config(db.alembic_config(None))
    assert script.get_current_head() == db.HEAD
