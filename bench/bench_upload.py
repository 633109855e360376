"""Benchmark of the acquisition YAML workflow (issue 4).

Generates a session folder of 50 recordings holding 2,000 dataset files
(per recording: 30 ScanImage acquisitions of one TIFF each, two cameras with
their timestamps and metadata, one HARP binary with its csv files), then
times:

- ``create_yaml`` on that folder, YAML file written (target: under 3 s);
- ``upload`` of that YAML into the embedded SQLite store, through the
  in-process session (target: under 2 s);
- ``upload`` through the HTTP server on loopback (target: under 10 s), when
  :mod:`flexilims.server` is there (see :func:`bench_http_upload`).

Run: ``python bench/bench_upload.py [--recordings 50] [--files 2000]``.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "flexiznam"))

from acquisition import make_camera, make_harp, make_scanimage  # noqa: E402

PROJECT = "bench"
MOUSE = "PZAH6.4b"
SESSION = "S20210513"

#: Files per recording besides the ScanImage TIFFs: 2 cameras x 3 + HARP 1 + 3.
OTHER_FILES = 10


def configure(root: Path, database_url: str) -> None:
    """A flexiznam folder whose config points at ``root`` and the database."""
    folder = root / "flexiznam_config"
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "database_url": database_url,
        "flexilims_username": "bench",
        "data_root": {"raw": str(root / "raw"), "processed": str(root / "processed")},
    }
    (folder / "config.yml").write_text(yaml.safe_dump(config))
    os.environ["FLEXIZNAM_CONFIG_DIR"] = str(folder)


def make_folder(root: Path, recordings: int, files: int) -> tuple[Path, int]:
    """The session folder; returns it and the number of files written."""
    session = root / "raw" / PROJECT / MOUSE / SESSION
    tiffs = max(1, files // recordings - OTHER_FILES)
    written = 0
    for index in range(recordings):
        folder = session / f"R{100000 + index * 100:06d}_protocol{index % 3}"
        for acquisition in range(1, tiffs + 1):
            written += len(
                make_scanimage(
                    folder, acquisition=acquisition, n_files=1, frames_per_file=1
                )
            )
        written += len(make_camera(folder, camera="face_camera"))
        written += len(make_camera(folder, camera="eye_camera"))
        written += len(make_harp(folder, prefix=folder.name))
    return session, written


#: CPU seconds of the last :func:`timed` call (this process only).
CPU = {"last": 0.0}


def timed(function, *args, **kwargs):
    """Wall-clock seconds of a call (and its CPU seconds in ``CPU['last']``)."""
    cpu = time.process_time()
    start = time.perf_counter()
    result = function(*args, **kwargs)
    CPU["last"] = time.process_time() - cpu
    return time.perf_counter() - start, result


def bench_create_yaml(session_folder: Path, outfile: Path) -> float:
    """Seconds for ``create_yaml`` with the file written."""
    from flexiznam.camp import create_yaml

    seconds, _ = timed(create_yaml, session_folder, PROJECT, MOUSE, outfile=outfile)
    return seconds


def bench_local_upload(yaml_file: Path, database_url: str) -> tuple[float, dict]:
    """Seconds for ``upload`` into the store through the in-process session."""
    import flexiznam.main as flz
    from flexilims import LocalSession, Store
    from flexilims.store.accounts import Accounts
    from flexiznam.camp import upload

    store = Store.open(database_url)
    project = Accounts(store).create_project(PROJECT)
    session = LocalSession(store, project_id=project.id, username="bench")
    flz.add_entity(
        "mouse",
        MOUSE,
        attributes={"genealogy": [MOUSE], "path": f"{PROJECT}/{MOUSE}"},
        flexilims_session=session,
    )
    seconds, report = timed(
        upload, yaml_file, flexilims_session=session, progress=False
    )
    store.engine.dispose()
    return seconds, report.counts()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_http_upload(yaml_file: Path, database_url: str) -> tuple[float, dict] | None:
    """Seconds for ``upload`` through ``flexilims serve`` on loopback.

    HTTP FIGURE: runs only when :mod:`flexilims.server` exists (the server of
    the REST protocol); returns None otherwise. The server runs in a child
    process on a fresh database; the upload goes through
    :class:`flexilims.Flexilims`, one batch request.
    """
    try:
        import requests

        import flexilims.server  # noqa: F401
        from flexilims import Flexilims, Store
        from flexilims.store.accounts import Accounts
    except ImportError:
        return None
    import flexiznam.main as flz
    from flexiznam.camp import upload

    store = Store.open(database_url)
    accounts = Accounts(store)
    project = accounts.create_project(PROJECT)
    accounts.add_user("bench", "bench-password", full_name="Bench Mark")
    accounts.add_member("bench", PROJECT)
    store.engine.dispose()
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/flexilims/api/"
    command = [sys.executable, "-m", "flexilims.cli", "serve", "--database"]
    command += [database_url, "--port", str(port), "--no-access-log"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base_url + "openapi.json", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        session = Flexilims(
            "bench", "bench-password", project_id=project.id, base_url=base_url
        )
        flz.add_entity(
            "mouse",
            MOUSE,
            attributes={"genealogy": [MOUSE], "path": f"{PROJECT}/{MOUSE}"},
            flexilims_session=session,
        )
        seconds, report = timed(
            upload, yaml_file, flexilims_session=session, progress=False
        )
        return seconds, report.counts()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recordings", type=int, default=50)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--no-http", action="store_true", help="Skip the HTTP run.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        configure(root, f"sqlite:///{root / 'unused.db'}")
        start = time.perf_counter()
        session_folder, files = make_folder(root, options.recordings, options.files)
        print(
            f"generated {options.recordings} recordings, {files} files in "
            f"{time.perf_counter() - start:.1f} s"
        )
        yaml_file = root / "acquisition.yml"
        seconds = bench_create_yaml(session_folder, yaml_file)
        data = yaml.load(yaml_file.read_text(), Loader=yaml.CSafeLoader)
        entities = _count(data.get("children"))
        print(
            f"create-yaml: {seconds:.2f} s (CPU {CPU['last']:.2f} s; {entities} "
            f"entities, {yaml_file.stat().st_size // 1024} kB of YAML; target < 3 s)"
        )
        seconds, counts = bench_local_upload(yaml_file, f"sqlite:///{root / 'l.db'}")
        print(
            f"upload, SQLite in-process: {seconds:.2f} s (CPU {CPU['last']:.2f} s; "
            f"{counts}; target < 2 s)"
        )
        if not options.no_http:
            result = bench_http_upload(yaml_file, f"sqlite:///{root / 'http.db'}")
            if result is None:
                print("upload, HTTP: skipped (no flexilims.server)")
            else:
                seconds, counts = result
                print(
                    f"upload, HTTP loopback (SQLite): {seconds:.2f} s  ({counts}; "
                    "target < 10 s)"
                )


def _count(children) -> int:
    if not isinstance(children, dict):
        return 0
    return sum(
        1 + _count(node.get("children") if isinstance(node, dict) else None)
        for node in children.values()
    )


if __name__ == "__main__":
    main()
