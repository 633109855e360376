"""Mouse details from the lab's colony records.

A colony management system exports its animals as CSV or XLSX; ``colony.file``
in the config points at that export. :func:`lookup_mouse` finds one animal in
it and turns its row into mouse attributes.
"""

import logging
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigurationError, FlexilimsError, NameNotUniqueError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("flexiznam")


def _attribute_name(column: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", str(column).strip().lower()).strip("_")


def _attribute_value(value):
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else str(value)
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, str):
        return value.strip()
    return value


def read_colony_file(path: Path, name_column: str | None = None) -> "pd.DataFrame":
    """Read a colony export (CSV, or XLSX/XLS through openpyxl).

    Parameters
    ----------
    path : Path
        The export.
    name_column : str, optional
        A column read as text, as written (animal names such as ``007``
        would otherwise become numbers).

    Raises
    ------
    ConfigurationError
        The file does not exist or cannot be read as a table.
    """
    import pandas as pd

    if not path.exists():
        raise ConfigurationError(
            f"The colony file {path} does not exist: fix `colony: file:` in the config."
        )
    dtype = {name_column: str} if name_column else None
    try:
        if path.suffix.lower() in (".xlsx", ".xls", ".xlsm"):
            return pd.read_excel(path, dtype=dtype)
        return pd.read_csv(path, dtype=dtype)
    except (ValueError, zipfile.BadZipFile) as error:
        raise ConfigurationError(
            f"Cannot read the colony file {path} ({error}): export it again as "
            "CSV or XLSX, or fix `colony: file:` in the config."
        ) from error


def lookup_mouse(animal_name: str, config: dict) -> dict | None:
    """The attributes of one animal from the colony export.

    Parameters
    ----------
    animal_name : str
        Name of the animal in the colony records.
    config : dict
        flexiznam settings (``colony``: ``file``, ``name_column``, ``columns``).

    Returns
    -------
    dict or None
        Attributes of the mouse, or None when no colony file is configured
        (a message then says how to configure one).

    Raises
    ------
    ConfigurationError
        The file is missing or unreadable, or lacks a configured column.
    FlexilimsError
        No animal of that name in the file.
    NameNotUniqueError
        Several animals of that name.
    """
    colony = config.get("colony") or {}
    if not colony.get("file"):
        log.warning(
            "No colony records configured: the mouse is added with the attributes "
            "given. To fill them from your colony database, set `colony: file:` in "
            "~/.flexiznam/config.yml to a CSV or XLSX export of it."
        )
        return None
    path = Path(colony["file"]).expanduser()
    name_column = colony.get("name_column") or "Animal_name"
    table = read_colony_file(path, name_column)
    if name_column not in table.columns:
        raise ConfigurationError(
            f"The colony file {path} has no column '{name_column}' "
            f"(it has {', '.join(map(str, table.columns))}): "
            "set `colony: name_column:`."
        )
    rows = table[table[name_column].astype(str).str.strip() == str(animal_name)]
    if rows.empty:
        raise FlexilimsError(
            f"Mouse {animal_name} is not in the colony file {path}. Pass "
            "mcms_animal_name= if the colony knows it under another name."
        )
    if len(rows) > 1:
        raise NameNotUniqueError(
            f"{len(rows)} animals are named {animal_name} in the colony file {path}."
        )
    row = rows.iloc[0]
    mapping = colony.get("columns") or {
        column: _attribute_name(column) for column in table.columns
    }
    absent = [column for column in mapping if column not in row.index]
    if absent:
        raise ConfigurationError(
            f"The colony file {path} has no column '{absent[0]}' "
            f"(it has {', '.join(map(str, table.columns))}): "
            "fix `colony: columns:`."
        )
    attributes = {}
    for column, attribute in mapping.items():
        value = _attribute_value(row[column])
        if value is not None:
            attributes[attribute] = value
    return attributes
