"""Many client processes appending under one recording of a 2-worker server."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flexiznam.main as flz
from flexilims import Flexilims
from flexilims.store.accounts import Accounts
from servers import ServerProcess

pytestmark = pytest.mark.slow

#: Client processes and datasets each of a run: ``FLEXIZNAM_TEST_APPENDS``
#: (``PROCESSESxDATASETS``) sets others, e.g. ``16x500``, the size first run
#: (minutes on two cores, where the default takes seconds).
APPENDS = os.environ.get("FLEXIZNAM_TEST_APPENDS", "8x100")
PROCESSES, DATASETS_EACH = (int(number) for number in APPENDS.split("x"))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_concurrent_appends_give_distinct_names_and_no_server_error(
    database_url, store, project, config_dir
):
    accounts = Accounts(store)
    accounts.add_user("tester", "tester-password", full_name="tester")
    accounts.add_member("tester", project.name)
    server = ServerProcess(database_url, "--workers", "2")
    try:
        session = Flexilims(
            "tester", "tester-password", project.id, base_url=server.base_url
        )
        flz.add_mouse("M1", project.name, flexilims_session=session)
        day = flz.add_experimental_session(
            "M1", "2021-04-20", flexilims_session=session
        )
        recording = flz.add_recording(
            day["id"], "two_photon", "retinotopy", flexilims_session=session
        )
        worker = Path(__file__).with_name("append_worker.py")
        start = time.monotonic()
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(worker),
                    server.base_url,
                    project.id,
                    recording["id"],
                    str(DATASETS_EACH),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        results = [json.loads(p.communicate(timeout=1800)[0]) for p in processes]
        elapsed = time.monotonic() - start
    finally:
        server.stop()
    errors = [error for result in results for error in result["errors"]]
    assert errors == []
    names = [name for result in results for name in result["created"]]
    assert len(names) == PROCESSES * DATASETS_EACH
    assert len(set(names)) == len(names)
    stored = session_names = None
    from flexilims import LocalSession

    stored = LocalSession(store, project_id=project.id).get(
        "dataset", origin_id=recording["id"]
    )
    session_names = {entity["name"] for entity in stored}
    assert len(stored) == PROCESSES * DATASETS_EACH
    assert session_names == set(names)
    print(f"{len(names)} datasets by {PROCESSES} processes in {elapsed:.1f} s")
