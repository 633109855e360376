"""Small helpers of the dataset classes: values, times, paths, sessions."""

import datetime
import math
import os
from pathlib import Path, PurePath

import numpy as np

from .. import main as flz
from ..api.paths import all_data_roots
from ..api.queries import RESERVED_NAMES
from ..config import current_config
from ..errors import ConfigurationError, DatasetError

#: How ``created`` is written.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: Attributes every dataset has; the others are its ``extra_attributes``.
BASE_ATTRIBUTES = ("path", "is_raw", "dataset_type", "created", "genealogy")

#: Fields of an entity that are not attributes.
ENTITY_FIELDS = RESERVED_NAMES


# ------------------------------------------------------------------ helpers


def is_missing(value) -> bool:
    """True for None and NaN (an attribute that has no value)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def plain(value):
    """A copy of ``value`` made of JSON/YAML types only.

    Paths become POSIX strings, tuples lists, numpy scalars Python numbers.
    """
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def created_time(path) -> str:
    """The modification time of ``path`` as a ``created`` string."""
    stamp = os.stat(path).st_mtime
    return datetime.datetime.fromtimestamp(stamp).strftime(TIME_FORMAT)


def now() -> str:
    """The current time as a ``created`` string."""
    return datetime.datetime.now().strftime(TIME_FORMAT)


def is_raw_flag(value) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("yes", "true", "raw"):
        return True
    if isinstance(value, str) and value.lower() in ("no", "false", "processed"):
        return False
    raise DatasetError(f"is_raw must be True/False or 'yes'/'no', not {value!r}")


def locate_folder(folder: Path, config: dict | None = None) -> tuple[Path, bool]:
    """Where ``folder`` lies: its path below a data root, and whether it is raw.

    Returns
    -------
    (Path, bool)
        The path relative to the raw data root (``True``) or the processed one
        (``False``); the absolute folder and ``True`` when it is under neither
        (or no configuration can be read).
    """
    relative, is_raw, _ = locate_folder_root(folder, config)
    return relative, is_raw


def locate_folder_root(
    folder: Path, config: dict | None = None
) -> tuple[Path, bool, str | None]:
    """:func:`locate_folder`, and the project whose own root holds the folder.

    The roots are ``data_root`` and those of ``project_paths``; the most
    specific one that holds the folder wins.

    Returns
    -------
    (Path, bool, str or None)
        The relative path, whether it is raw, and the project's name when the
        root is one of ``project_paths`` (None for ``data_root``).
    """
    folder = Path(folder).absolute()
    try:
        config = config or current_config()
        roots = all_data_roots(config)
    except ConfigurationError:
        return folder, True, None
    resolved = folder.resolve()
    for root, is_raw, project in roots:
        try:
            return resolved.relative_to(root.resolve()), is_raw, project
        except ValueError:
            continue
    return folder, True, None


def open_session(flexilims_session=None, project=None):
    """The given session, or a new one on ``project``."""
    if flexilims_session is not None:
        return flexilims_session
    if project is None:
        raise DatasetError("Give a flexilims_session or a project to reach flexilims.")
    return flz.get_flexilims_session(project)
