"""Configuration: ``config.yml`` in the flexiznam folder.

The folder is ``~/.flexiznam`` unless ``FLEXIZNAM_CONFIG_DIR`` names another.
Every setting is declared once in :data:`SETTINGS`, with its default and help;
nothing is read at import time: call :func:`load_config`.
"""

import copy
import difflib
import functools
import getpass
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml

from flexilims import settings as flexilims_settings

from .errors import ConfigurationError

CONFIG_DIR_ENV = flexilims_settings.HOME_ENV
CONFIG_FILE = "config.yml"


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS = (
    Setting(
        "flexilims_username",
        None,
        "Your user name on the lab database (default: your login name).",
    ),
    Setting(
        "flexilims_url",
        None,
        "Base URL of a Flexilims-protocol server, ending in /flexilims/api/. "
        "Leave empty to use the embedded database of database_url.",
    ),
    Setting(
        "database_url",
        None,
        "Database of the embedded store when flexilims_url is empty "
        "(default: sqlite:///<config folder>/flexilims.db; or postgresql://...).",
    ),
    Setting(
        "project_ids",
        {},
        "Project names and their 24-hex database ids; names not listed are "
        "looked up in the database.",
    ),
    Setting(
        "default_project",
        None,
        "Project of the flexiznam commands (ls, find, show, tree...) when they "
        "are given no --project.",
    ),
    Setting(
        "offline_mode",
        False,
        "Work on the embedded database of database_url even when flexilims_url "
        "is set (get_flexilims_session's offline_mode overrides it).",
    ),
    Setting(
        "data_root",
        {"raw": "~/flexiznam_data/raw", "processed": "~/flexiznam_data/processed"},
        "Folders that dataset paths are relative to: raw data and processed data.",
    ),
    Setting(
        "project_paths",
        {},
        "Projects whose data lives elsewhere than data_root: project name -> "
        "{raw: folder, processed: folder}.",
    ),
    Setting(
        "datatypes",
        ["mouse", "session", "recording", "sample", "dataset"],
        "Entity types of the lab's hierarchy.",
    ),
    Setting(
        "dataset_types",
        [
            "scanimage",
            "camera",
            "ephys",
            "onix",
            "harp",
            "microscopy",
            "sequencing",
            "visstim",
            "suite2p_rois",
            "suite2p_traces",
            "deeplabcut",
        ],
        "Dataset types add_dataset accepts.",
    ),
    Setting(
        "microscopy_extensions",
        [".czi", ".png", ".gif", ".tif", ".tiff"],
        "File extensions detected as microscopy datasets.",
    ),
    Setting(
        "sequencing_extensions",
        [".fastq", ".fastq.gz", ".bam"],
        "File extensions detected as sequencing datasets.",
    ),
    Setting(
        "mcms_username",
        None,
        "Your user name on the colony management system, if the lab uses one.",
    ),
    Setting(
        "colony",
        {"file": None, "name_column": "Animal_name", "columns": {}},
        "Colony records for add_mouse: 'file' is a CSV or XLSX export of the "
        "colony database, 'name_column' the column holding the animal name, "
        "'columns' maps colony columns to mouse attributes (empty: all columns).",
    ),
)

DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def config_dir() -> Path:
    """The flexiznam folder: ``$FLEXIZNAM_CONFIG_DIR`` or ``~/.flexiznam``
    (shared with flexilims, whose embedded database lives there)."""
    return flexilims_settings.home()


def _config_dir_text() -> str:
    return str(flexilims_settings.home())


def config_file() -> Path:
    return _config_file(_config_dir_text())


@functools.lru_cache(maxsize=16)
def _config_file(folder: str) -> Path:
    return Path(folder) / CONFIG_FILE


def _merge(defaults: dict, values: dict) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def read_file(path: Path) -> dict:
    """The settings written in a config file (an empty dict if there is none)."""
    stamp = _stamp(path)
    return {} if stamp is None else copy.deepcopy(_parse_file(path, stamp))


@functools.lru_cache(maxsize=16)
def _parse_file(path: Path, stamp: int) -> dict:
    """Parse a config file; cached while its modification time is unchanged."""
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigurationError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(values, dict):
        raise ConfigurationError(f"{path} must hold a mapping of settings.")
    return values


def load_config() -> dict:
    """The settings: the config file over the defaults, with derived defaults.

    Returns
    -------
    dict
        Every setting of :data:`SETTINGS`; ``database_url`` and
        ``flexilims_username`` filled in when the file leaves them empty. A
        copy: changing it changes nothing else.
    """
    return copy.deepcopy(current_config())


def current_config() -> dict:
    """The settings as :func:`load_config` gives them, without the copy.

    For code that reads settings many times a second (paths of datasets);
    the result is shared, so it must not be changed. Re-read when the file
    changes.
    """
    path = config_file()
    return _settings(path, _stamp(path))


#: Settings whose value is a mapping with these keys only.
FIXED_KEYS = {
    "data_root": ("raw", "processed"),
    "colony": ("file", "name_column", "columns"),
}


def unknown_settings(values: dict) -> list[tuple[str, str | None]]:
    """Settings of a config file that flexiznam does not know (typos, most
    often), each with the closest known name, if one is close."""
    found = []

    def check(place, mapping, known):
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                found.append((f"{place}{key}", f"{place}{close[0]}" if close else None))

    check("", values, list(DEFAULTS))
    for name, keys in FIXED_KEYS.items():
        if isinstance(values.get(name), dict):
            check(f"{name}.", values[name], keys)
    return found


def _folder_example(name: str, value) -> str:
    base = value if isinstance(value, str) and value else "/data"
    return f"{name}: {{raw: {base}/raw, processed: {base}/processed}}"


def check_config(config: dict, path: Path) -> None:
    """Refuse settings of the wrong kind, saying what to write instead.

    Raises
    ------
    ConfigurationError
        A setting whose value cannot be used (``data_root: /tmp/x``, a
        database URL that is a path...).
    """

    def refuse(message: str):
        raise ConfigurationError(f"{path}: {message}")

    roots = config["data_root"]
    if not isinstance(roots, dict) or not all(
        isinstance(roots.get(which), str) and roots[which]
        for which in ("raw", "processed")
    ):
        refuse(
            "data_root must hold a raw and a processed folder, e.g. "
            + _folder_example("data_root", roots)
        )
    for name in ("project_ids", "project_paths", "colony"):
        if not isinstance(config[name], dict):
            refuse(
                f"{name} must be a mapping (name: value lines), not {config[name]!r}"
            )
    for name in (
        "datatypes",
        "dataset_types",
        "microscopy_extensions",
        "sequencing_extensions",
    ):
        value = config[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            refuse(f"{name} must be a list of names, not {value!r}")
    if isinstance(config["flexilims_username"], int):
        config["flexilims_username"] = str(config["flexilims_username"])
    for name in (
        "flexilims_username",
        "flexilims_url",
        "database_url",
        "default_project",
    ):
        value = config[name]
        if value is not None and not isinstance(value, str):
            refuse(f"{name} must be text, not {value!r}")
    if not isinstance(config["offline_mode"], bool):
        refuse(f"offline_mode must be true or false, not {config['offline_mode']!r}")
    url = config["flexilims_url"]
    if url and not url.lower().startswith(("http://", "https://")):
        refuse(
            f"flexilims_url {url!r} is not a server's URL: it looks like "
            "http://server:8000/flexilims/api/ (a database goes in database_url)."
        )
    check_database_setting(config, path, parse=not url or config["offline_mode"])


def check_database_setting(config: dict, path: Path, parse: bool = True) -> None:
    """Refuse a ``database_url`` that names no database, saying which to use.

    Parameters
    ----------
    parse : bool
        False: only what needs no parsing (a path, no URL, ``postgres://``).
        :func:`check_config` parses it when the config's sessions open the
        database; a server's config (``flexilims_url``) has it parsed when a
        session opens it offline: parsing loads SQLAlchemy, a tenth of a
        second that every command on a server would pay.

    Raises
    ------
    ConfigurationError
        ``database_url`` is a path, a relative SQLite URL, or no URL.
    """
    check = flexilims_settings.check_database_url
    if not parse:
        check = flexilims_settings.check_database_url_form
    try:
        check(config["database_url"])
    except flexilims_settings.SettingError as error:
        raise ConfigurationError(f"{path}: database_url: {error}") from None


@functools.lru_cache(maxsize=16)
def _settings(path: Path, stamp: int | None) -> dict:
    values = {} if stamp is None else _parse_file(path, stamp)
    for name, close in unknown_settings(values):
        hint = f" (did you mean {close}?)" if close else ""
        warnings.warn(
            f"{path}: unknown setting {name!r}{hint}; it is ignored.", stacklevel=4
        )
    config = _merge(DEFAULTS, values)
    for name, default in DEFAULTS.items():
        if config[name] is None and isinstance(default, dict | list):
            config[name] = copy.deepcopy(default)  # an empty `name:` line
    if not config.get("database_url"):
        config["database_url"] = flexilims_settings.default_database_url()
    if not config.get("flexilims_username"):
        config["flexilims_username"] = getpass.getuser()
    check_config(config, path)
    return config


def write_config(update: bool = False) -> tuple[Path, list[str]]:
    """Write the defaults to the config file.

    Parameters
    ----------
    update : bool
        Add settings the file lacks (at any depth) and change no existing value.
        Without it, refuse to touch an existing file.

    Returns
    -------
    (Path, list of str)
        The file and the names of the settings added.
    """
    path = config_file()
    existing = read_file(path)
    if existing and not update:
        raise ConfigurationError(
            f"{path} exists already. Use `flexiznam config --update` to add new "
            "settings without changing yours."
        )
    added = [name for name in DEFAULTS if name not in existing]
    merged = _merge(DEFAULTS, existing)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# flexiznam settings. `flexiznam config --update` adds new ones.\n"]
    for setting in SETTINGS:
        lines.append(f"\n# {setting.help}\n")
        lines.append(
            yaml.safe_dump({setting.name: merged[setting.name]}, sort_keys=False)
        )
    for name, value in merged.items():
        if name not in DEFAULTS:
            lines.append(yaml.safe_dump({name: value}, sort_keys=False))
    path.write_text("".join(lines))
    return path, added


def data_root(is_raw: bool, config: dict | None = None) -> Path:
    """The raw or processed data root, with ``~`` expanded."""
    which = "raw" if is_raw else "processed"
    if config is not None:
        return Path(config["data_root"][which]).expanduser()
    path = config_file()
    return _data_roots(path, _stamp(path))[which]


@functools.lru_cache(maxsize=16)
def _data_roots(path: Path, stamp: int | None) -> dict[str, Path]:
    roots = _settings(path, stamp)["data_root"]
    return {which: Path(roots[which]).expanduser() for which in ("raw", "processed")}
