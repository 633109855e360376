"""The lab's conventions on values, one rule in one place.

The Python API (:mod:`flexiznam.api.hierarchy`) and ``check-yaml``
(:mod:`flexiznam.camp.check`) apply the same rules: a session's ``date`` is a
date (``YYYY-MM-DD``), a dataset's ``created`` a date and time, a ``path`` is
not empty, and attributes are values the database can store (text, numbers,
booleans, lists and mappings of them). Values Python has a plain form for
(dates, paths, numpy numbers) are written in that form.
"""

import datetime
import json
import math
import sys
from pathlib import PurePath

from ..errors import FlexilimsError

#: How ``created`` is written.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class ValidationError(FlexilimsError, ValueError):
    """A value that breaks the lab's conventions; nothing was sent."""


def session_date(value) -> str:
    """A session's date as ``YYYY-MM-DD``.

    Parameters
    ----------
    value : str, datetime.date or datetime.datetime
        ``2021-04-20`` (or ``20210420``), or a date.

    Raises
    ------
    ValidationError
        Not a real date (``2024-13-45``, ``yesterday``).
    """
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValidationError(
        f"date {value!r} is not a date: give a datetime.date or text like "
        "2021-04-20 (year-month-day)."
    )


def timestamp(value) -> str:
    """A dataset's ``created`` as ``YYYY-MM-DD HH:MM:SS``.

    Parameters
    ----------
    value : str, datetime.datetime or datetime.date
        ``2021-05-24 14:56:41`` (any ISO 8601 date and time, or a date), or
        a datetime.

    Raises
    ------
    ValidationError
        Not a real date and time (``yesterday``, ``2021-02-30 10:00:00``).
    """
    if isinstance(value, datetime.datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time()).strftime(TIME_FORMAT)
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value.strip()).strftime(TIME_FORMAT)
        except ValueError:
            pass
    raise ValidationError(
        f"created {value!r} is not a date and time: give a datetime or text like "
        "2021-05-24 14:56:41."
    )


def data_path(value) -> str:
    """A ``path`` as text, refusing an empty one.

    Raises
    ------
    ValidationError
        None, or empty or blank text.
    """
    if isinstance(value, PurePath):
        value = value.as_posix()
    if not isinstance(value, str) or not value.strip() or value == ".":
        raise ValidationError(
            f"path {value!r} is empty: give the data's folder or file, relative "
            "to the data root."
        )
    return value


def plain_value(value, place: str):
    """``value`` as the database stores it: dates and times as ISO text,
    paths as text, tuples and arrays as lists, numpy numbers as numbers.

    Raises
    ------
    ValidationError
        A value the database cannot store (an object, a set, NaN...), naming
        where it is.
    """
    if isinstance(value, dict):
        return {key: plain_value(item, f"{place}.{key}") for key, item in value.items()}
    # A numpy value exists only once numpy is loaded: no need to load it here.
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [plain_value(item, f"{place}[{i}]") for i, item in enumerate(value)]
    if numpy is not None and isinstance(value, numpy.generic):
        value = value.item()
    if isinstance(value, datetime.datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            f"attribute {place} is {value}: the database stores numbers only "
            "(use None for no value)."
        )
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ValidationError(
        f"attribute {place} is a {type(value).__name__}, which the database "
        "cannot store: use text, numbers, booleans, lists or mappings of them."
    )


def attributes(value, what: str = "attributes") -> dict:
    """Attributes as the database stores them (see :func:`plain_value`).

    Raises
    ------
    ValidationError
        Not a mapping of text keys, or a value the database cannot store.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            f"{what} must be a dict of names and values, not a "
            f"{type(value).__name__} ({_shown(value)})."
        )
    for key in value:
        if not isinstance(key, str):
            raise ValidationError(
                f"{what}: the name {key!r} is not text; attribute names are text."
            )
    plain = {key: plain_value(item, key) for key, item in value.items()}
    json.dumps(plain, allow_nan=False)
    return plain


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"
