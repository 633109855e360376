"""A PgBouncer of the test's own in transaction mode (a config in a temporary
folder, a free port on 127.0.0.1) in front of the test PostgreSQL server."""

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from servers import free_port


def pgbouncer_bin() -> str | None:
    """The ``pgbouncer`` program (Debian's package puts it in /usr/sbin)."""
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )


class OwnPgBouncer:
    """PgBouncer in ``pool_mode = transaction`` before the server of ``url``.

    It forwards every database name to that server, lets the server's user in
    without a password (``auth_type = trust``, as the server behind it trusts
    loopback), keeps at most
    ``pool_size`` server connections per database and user, and ignores the
    ``options`` startup parameter it cannot pass on (the statement and lock
    timeouts then come from the database's own settings). PgBouncer refuses
    to run as root: then it runs as the ``postgres`` user.
    """

    def __init__(self, url: str, pool_size: int = 2):
        program = pgbouncer_bin()
        if program is None:
            raise RuntimeError("pgbouncer is not installed")
        server = sa.engine.make_url(url)
        self.server_user = server.username or "postgres"
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="flexilims-pgbouncer-"))
        users = self.folder / "users.txt"
        users.write_text(f'"{self.server_user}" ""\n')
        config = self.folder / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host={server.host or '127.0.0.1'} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {users}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 500\n"
            "ignore_startup_parameters = options\n"
            f"logfile = {self.folder / 'log'}\n"
            f"pidfile = {self.folder / 'pid'}\n"
        )
        command = [program, "-d", str(config)]
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.folder, config, users):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while not (self.folder / "pid").exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start: {self.log()}")
            time.sleep(0.05)

    def url(self, database: str) -> str:
        return f"postgresql://{self.server_user}@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.folder / "log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        try:
            pid = int((self.folder / "pid").read_text())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
