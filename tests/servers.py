"""``flexilims serve`` in a child process on 127.0.0.1, for tests that need a
real server (imported by the conftest files)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

API = "/flexilims/api/"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``flexilims serve`` in a child process, on a free port of 127.0.0.1.

    Its standard error is kept in ``log`` when given (a server that runs
    long must not fill a pipe nobody reads), else in a pipe for the test.
    """

    def __init__(
        self,
        database_url: str,
        *args: str,
        env: dict | None = None,
        https=False,
        log: Path | None = None,
    ):
        self.port = free_port()
        self.log = log
        scheme = "https" if https else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}{API}"
        command = [sys.executable, "-m", "flexilims.cli", "serve"]
        command += ["--database", database_url, "--port", str(self.port)]
        command += ["--no-access-log", *args]
        stderr = open(log, "a") if log else subprocess.PIPE
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        if log:
            stderr.close()
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.errors()}")
            try:
                reply = requests.get(
                    self.base_url + "openapi.json", timeout=1, verify=False
                )
                if reply.ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not start within {timeout} s")

    def errors(self) -> str:
        """What the server wrote to its standard error."""
        return self.log.read_text() if self.log else self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
