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
from filelock import FileLock

from flexilims.client import Flexilims
from flexilims.errors import Forbidden
from flexilims.writes import is_hex_id

from .config import config_dir
from .errors import ConfigurationError

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


def _project_hex(projects: list[dict], client, project_id, config: dict) -> str | None:
    if project_id is None:
        return None
    project_id = (config.get("project_ids") or {}).get(project_id, project_id)
    if is_hex_id(project_id):
        return project_id
    for project in projects:
        if project.get("name") == project_id:
            return project["uuid"]
    raise ConfigurationError(
        f"No project named '{project_id}' on {client.base_url} for "
        f"{client.username}: check the name, or add it to project_ids in the config."
    )


def remote_session(config: dict, project_id, username: str, password=None):
    """A :class:`flexilims.Flexilims` client on the configured server.

    Parameters
    ----------
    config : dict
        flexiznam settings; ``flexilims_url`` is the server.
    project_id : str or None
        Project name or id.
    username : str
        Who to log in as.
    password : str, optional
        Else found as the module docstring says.
    """
    url = config["flexilims_url"]
    if not url.endswith("/"):
        url += "/"
    password = password or find_password(url, username)
    path = token_file(url, username)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=120):
        token = _read_token(path)
        if token is not None:
            client = Flexilims(username, password, base_url=url, token=token)
            try:
                projects = client.get_project_info()
            except Forbidden:
                token = None
        if token is None:
            if password is None:
                password = getpass.getpass(f"Password of {username} on {url}: ")
            client = Flexilims(username, password, base_url=url)
            _write_token(path, client.token)
            projects = client.get_project_info()
    client.project_id = _project_hex(projects, client, project_id, config)
    return client
