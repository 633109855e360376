"""A PostgreSQL server of the test's own (initdb in a temporary folder, a free
port on 127.0.0.1), for tests that stop, start or freeze their database. The
machine's shared server is never touched."""

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from servers import free_port


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL programs (newest version), or of an
    ``initdb`` on PATH; None if there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class OwnPostgres:
    """initdb, start, stop, freeze and thaw a private PostgreSQL server.

    PostgreSQL refuses to run as root: when the tests run as root, its files
    belong to the ``postgres`` user and its programs run as that user.
    """

    def __init__(self):
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's programs (initdb) are not installed")
        self.folder = Path(tempfile.mkdtemp(prefix="flexilims-own-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.folder.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    @property
    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def processes(self) -> list[int]:
        """The postmaster and its children (from /proc)."""
        postmaster = self.postmaster_pid
        found = [postmaster]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == postmaster:
                    found.append(int(entry.name))
        return found

    def freeze(self, everything: bool = False) -> None:
        """SIGSTOP the postmaster (no new connection is answered), or with
        ``everything`` each of its processes too (no query is answered)."""
        self.frozen = self.processes() if everything else [self.postmaster_pid]
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in getattr(self, "frozen", [self.postmaster_pid]):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def destroy(self) -> None:
        try:
            self.thaw()
            self.stop("immediate")
        except (OSError, subprocess.CalledProcessError):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
