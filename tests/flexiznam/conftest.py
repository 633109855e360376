"""Fixtures of the flexiznam tests: a configured flexiznam folder and a session,
in-process or over HTTP to a real server process."""

import pytest
import yaml

from flexilims import Flexilims, LocalSession
from flexilims.store.accounts import Accounts
from servers import ServerProcess

TRANSPORTS = ["local", "http"]


@pytest.fixture
def config_dir(tmp_path, monkeypatch, database_url):
    """A flexiznam folder whose config points at the test database and data roots."""
    folder = tmp_path / "flexiznam_config"
    folder.mkdir()
    config = {
        "database_url": database_url,
        "flexilims_username": "tester",
        "data_root": {
            "raw": str(tmp_path / "raw"),
            "processed": str(tmp_path / "processed"),
        },
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("FLEXIZNAM_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def servers():
    """One server process per database, started when first needed."""
    running: dict[str, ServerProcess] = {}

    def server_for(database_url: str) -> str:
        if database_url not in running:
            running[database_url] = ServerProcess(database_url)
        return running[database_url].base_url

    yield server_for
    for process in running.values():
        process.stop()


@pytest.fixture(params=TRANSPORTS)
def flz_session(request, store, project, config_dir, database_url):
    """A session on the test project as user ``tester``, with flexiznam
    configured: the in-process session, or the HTTP client of a real server."""
    if request.param == "local":
        return LocalSession(store, project_id=project.id, username="tester")
    accounts = Accounts(store)
    accounts.add_user("tester", "tester-password", full_name="tester")
    accounts.add_member("tester", project.name)
    base_url = request.getfixturevalue("servers")(database_url)
    return Flexilims("tester", "tester-password", project.id, base_url=base_url)
