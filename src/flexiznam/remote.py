"""Sessions on a flexilims server: password, token reuse and project lookup.

The password comes from the argument, else the system keyring, else the
secrets file (``secret_password.yml`` in the flexiznam folder, readable only
by its owner), else a prompt. The day's token is kept in a token file under a
file lock, so that many processes started together log in once.
"""

import getpass
import json
import os
import re
import stat
import time
from pathlib import Path

import keyring
import yaml
from filelock import FileLock, Timeout

import flexilims
from flexilims.errors import Forbidden

from .config import config_dir
from .errors import ConfigurationError, FlexilimsError

SECRETS_FILE = "secret_password.yml"
KEYRING_SERVICE = "flexilims"


def _service(url: str) -> str:
    return f"{KEYRING_SERVICE}:{url}"


def keyring_password(url: str, username: str) -> str | None:
    """The password stored in the system keyring, if there is a keyring."""
    try:
        return keyring.get_password(_service(url), username)
    except Exception:  # no usable keyring backend on this machine
        return None


def secrets_file() -> Path:
    return config_dir() / SECRETS_FILE


def file_password(username: str) -> str | None:
    """The password of ``username`` in the secrets file, if it has one.

    Raises
    ------
    ConfigurationError
        if the file can be read by other users.
    """
    path = secrets_file()
    if not path.exists():
        return None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"{path} can be read by other users: run `chmod 600 {path}`."
        )
    secrets = yaml.safe_load(path.read_text()) or {}
    return (secrets.get(KEYRING_SERVICE) or {}).get(username)


def store_password(url: str, username: str, password: str) -> str:
    """Keep a password in the keyring, or else in the secrets file (mode 600).

    Returns
    -------
    str
        Where it was stored.
    """
    try:
        keyring.set_password(_service(url), username, password)
        return "the system keyring"
    except Exception:  # no usable keyring: fall back to the owner-only file
        pass
    path = secrets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    secrets = yaml.safe_load(path.read_text()) if path.exists() else {}
    secrets = secrets or {}
    secrets.setdefault(KEYRING_SERVICE, {})[username] = password
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        yaml.safe_dump(secrets, stream)
    os.chmod(path, 0o600)
    return str(path)


def find_password(url: str, username: str) -> str | None:
    """The stored password: keyring first, then the secrets file."""
    return keyring_password(url, username) or file_password(username)


def token_file(url: str, username: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", url).strip("_")
    return config_dir() / "tokens" / f"{slug}_{username}.json"


def _today() -> str:
    return time.strftime("%Y-%m-%d")


def _read_token(path: Path) -> str | None:
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return saved.get("token") if saved.get("date") == _today() else None


def _write_token(path: Path, token: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump({"token": token, "date": _today()}, stream)


def remote_session(
    config: dict, project, username: str, password=None, reuse_token=True, timeout=10
):
    """A :class:`flexilims.Flexilims` client on the configured server.

    Parameters
    ----------
    config : dict
        flexiznam settings; ``flexilims_url`` is the server.
    project : str or None
        Project name or id.
    username : str
        Who to log in as.
    password : str, optional
        Else found as the module docstring says.
    reuse_token : bool
        Use (and share) the day's token of the token file; False logs in
        anew and leaves the token file alone.
    timeout : float
        Seconds to wait for the token file's lock.

    Raises
    ------
    FlexilimsError
        If another process held the token file's lock for ``timeout`` seconds.
    """
    url = config["flexilims_url"]
    if not url.endswith("/"):
        url += "/"
    password = password or find_password(url, username)
    if not reuse_token:
        return _log_in(url, project, username, password)
    path = token_file(url, username)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path) + ".lock", timeout=timeout)
    try:
        lock.acquire()
    except Timeout as error:
        raise FlexilimsError(
            f"Waited {timeout} s for {lock.lock_file}: another process is logging "
            f"in as {username}. Retry, pass a longer timeout, or reuse_token=False."
        ) from error
    try:
        token = _read_token(path)
        session = None
        if token is not None:
            try:
                session = flexilims.open_session(
                    url, project, username=username, password=password, token=token
                )
            except Forbidden:
                session = None
        if session is None:
            session = _log_in(url, project, username, password)
        if session.token != token:
            _write_token(path, session.token)
    finally:
        lock.release()
    return session


def _log_in(url: str, project, username: str, password):
    """A client with a new token (asking for the password if none is known)."""
    if password is None:
        password = getpass.getpass(f"Password of {username} on {url}: ")
    return flexilims.open_session(url, project, username=username, password=password)
