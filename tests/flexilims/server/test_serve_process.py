"""``flexilims serve`` as a real process tree: workers die with their parent,
HTTPS with a Secure cookie, and the warning about SQLite and several workers."""

import datetime
import os
import signal
import socket
import time
import warnings
from pathlib import Path

import pytest
import requests

from servers import API, ServerProcess

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def is_python(pid: int) -> bool:
    """Whether a process runs Python (a uvicorn worker), not, say, a shell."""
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


#: Process trees and TLS do not depend on the database: SQLite only.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ON_SQLITE
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc (Linux)")
def test_workers_exit_when_their_parent_is_killed(database_url, store):
    process = ServerProcess(database_url, "--workers", "2")
    parent = process.process.pid
    workers = []
    try:
        workers = [pid for pid in children(parent) if is_python(pid)]
        assert len(workers) >= 2
        assert requests.get(process.base_url + "health", timeout=10).ok
        os.kill(parent, signal.SIGKILL)
        process.process.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            any(alive(pid) for pid in workers) or port_open(process.port)
        ):
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)]
        assert not port_open(process.port)
    finally:
        process.stop()
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@ON_SQLITE
def test_serve_says_where_the_api_and_the_web_interface_answer(database_url, store):
    process = ServerProcess(database_url)
    try:
        lines = [process.process.stderr.readline().rstrip("\n") for _ in range(3)]
        root = f"http://127.0.0.1:{process.port}"
        assert lines == [
            f"Serving {database_url}",
            f"  API:           {root}{API}",
            f"  web interface: {root}/",
        ]
        assert requests.get(root + API + "health", timeout=10).ok
        page = requests.get(root + "/", timeout=10)
        assert page.ok and "Log in" in page.text
    finally:
        process.stop()


def test_several_workers_on_sqlite_are_warned_about(sqlite_url):
    process = ServerProcess(sqlite_url, "--workers", "2")
    process.process.terminate()
    process.process.wait(timeout=15)
    output = process.process.stderr.read()
    process.stop()
    assert "Warning: 2 workers on SQLite. SQLite allows one writer at a time" in output


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, made here."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@ON_SQLITE
def test_https_serves_a_secure_cookie_and_http_does_not(
    database_url, store, make_user, project, tmp_path
):
    user = make_user("jane", projects=["test"])
    cert, key = self_signed(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        secure = ServerProcess(
            database_url,
            "--ssl-certfile",
            str(cert),
            "--ssl-keyfile",
            str(key),
            https=True,
        )
    plain = ServerProcess(database_url)
    try:
        assert secure.base_url.startswith("https://")
        reply = requests.post(
            secure.base_url + "authenticate",
            auth=(user.username, user.password),
            verify=str(cert),
        )
        assert reply.status_code == 200
        cookie = reply.headers["Set-Cookie"]
        assert "flexilims_token=" in cookie and "Secure" in cookie
        token = reply.text
        listed = requests.get(
            secure.base_url + "projects",
            headers={"Authorization": f"Bearer {token}"},
            verify=str(cert),
        )
        assert [p["name"] for p in listed.json()] == ["test"]
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(secure.base_url + "health")  # not trusted without the cert
        reply = requests.post(
            plain.base_url + "authenticate", auth=(user.username, user.password)
        )
        assert reply.status_code == 200 and "Secure" not in reply.headers["Set-Cookie"]
    finally:
        # Its idle TLS connections would hold a graceful stop for 10 s.
        secure.process.kill()
        secure.stop()
        plain.stop()


def test_serve_refuses_half_a_tls_configuration(tmp_path):
    from click.testing import CliRunner

    from flexilims.cli import cli

    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    result = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(cert)])
    assert result.exit_code == 2
    assert "give both --ssl-certfile and --ssl-keyfile" in result.output
    assert API
