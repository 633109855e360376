"""What ``import flexiznam.main`` and a first call load: a new Python process
pays for pandas, SQLAlchemy, Alembic and requests only when a call needs
them (start-up time is part of every script a lab runs)."""

import pytest

import flexiznam.main as flz
from flexilims import LocalSession
from flexilims.store import db
from loading import run_and_list_modules, run_commands_and_list_modules

#: Libraries that cost tens to hundreds of milliseconds to import.
HEAVY = ("pandas", "numpy", "sqlalchemy", "alembic", "mako", "requests")


def loaded_after(code: str) -> set[str]:
    """The heavy libraries a fresh interpreter has loaded after ``code``."""
    return set(HEAVY) & run_and_list_modules(code)[0]


def test_importing_the_api_loads_no_heavy_library():
    assert loaded_after("import flexiznam.main") == set()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_session_on_a_current_database_loads_neither_alembic_nor_requests(
    config_dir, project
):
    """The config names the test's SQLite database, migrated (at db.HEAD)."""
    engine_loaded = loaded_after(
        "import flexiznam.main as flz\n"
        "session = flz.get_flexilims_session('test')\n"
        "assert session.get('mouse') == []"
    )
    assert engine_loaded == {"sqlalchemy"}
    with_frames = loaded_after(
        "import flexiznam.main as flz\n"
        "session = flz.get_flexilims_session('test')\n"
        "assert flz.get_entities('mouse', flexilims_session=session).empty"
    )
    assert with_frames == {"sqlalchemy", "pandas", "numpy"}


def test_the_test_database_is_at_head(sqlite_url):
    """The premise of the test above: the database needs no migration."""
    engine = db.create_engine(sqlite_url)
    assert db.schema_is_current(engine)
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_loaded_libraries_are_out_of_the_collectors_way(config_dir, project):
    """Once a session is open and pandas loaded, full garbage collections walk
    the objects made since, not the libraries' (a full pass over those costs
    tens of milliseconds and made p99 several times the median)."""
    probe = (
        "import gc, flexiznam.main as flz\n"
        "session = flz.get_flexilims_session('test')\n"
        "flz.get_entities('mouse', flexilims_session=session)\n"
        "print(gc.get_freeze_count(), len(gc.get_objects()))"
    )
    frozen, walked = map(int, run_and_list_modules(probe)[1].split())
    assert walked < frozen / 10


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_commands_load_no_pandas(flz_cli, flz_session):
    """On the embedded database and on a server: the tree, ``show`` and every
    listing (a table, CSV or JSON) need no pandas; a command on a server
    loads no SQLAlchemy (the config's database_url is not parsed)."""
    flz.add_mouse("M1", "test", flexilims_session=flz_session)
    remote = not isinstance(flz_session, LocalSession)
    commands = [
        ("tree", "test"),
        ("tree", "--csv"),
        ("show", "M1"),
        ("show", "M1", "--json"),
        ("ls",),
        ("ls", "--json"),
        ("ls", "mouse"),
        ("ls", "mouse", "--csv"),
        ("find", "M", "--where", 'genealogy=["M1"]'),
        ("history",),
        ("history", "M1", "--csv"),
        ("history", "M1", "--json"),
        ("trash", "list"),
    ]
    expected = {"requests"} if remote else {"sqlalchemy"}
    loaded = run_commands_and_list_modules("flexiznam.cli:cli", commands, HEAVY)
    for args, (heavy, _) in zip(commands, loaded, strict=True):
        assert heavy == expected, args
    # The premise: the lab API's frames do load pandas.
    assert {"pandas", "numpy"} <= loaded_after(
        "import flexiznam.main as flz\n"
        "assert flz.get_entities('mouse', project_id='test').empty is False"
    )
