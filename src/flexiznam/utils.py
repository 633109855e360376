"""Small helpers used across flexiznam."""

import pathlib

import numpy as np
import pandas as pd


def clean_dictionary_recursively(
    dictionary, keys=(), path2string=True, format_dataset=False
):
    """Recursively clean a dictionary inplace

    Parameters
    ----------
    dictionary : dict
        dict (of dict), modified in place and returned.
    keys : list
        list of keys to pop from the dictionary, at any depth.
    path2string : bool
        replace pathlib.Path object by their string representation (default True)
    format_dataset : bool
        replace flexiznam.schema.Dataset instances by their yaml representation
        (default False)

    Returns
    -------
    dict
        The same dictionary, cleaned.
    """
    if isinstance(keys, str):
        keys = [keys]
    dataset_class = _dataset_class() if format_dataset else None
    for key in keys:
        dictionary.pop(key, None)
    for key, value in list(dictionary.items()):
        dictionary[key] = _clean_value(value, keys, path2string, dataset_class)
    return dictionary


def _dataset_class():
    from .schema import Dataset

    return Dataset


def _clean_value(value, keys, path2string, dataset_class):
    if dataset_class is not None and isinstance(value, dataset_class):
        value = value.format(mode="yaml")
    if isinstance(value, dict):
        return clean_dictionary_recursively(
            value, keys, path2string, dataset_class is not None
        )
    if isinstance(value, list | tuple):
        return type(value)(
            _clean_value(item, keys, path2string, dataset_class) for item in value
        )
    if path2string and isinstance(value, pathlib.PurePath):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _missing(value) -> bool:
    """None, or a missing scalar of any kind (NaN of every float type, NA, NaT)."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _same(first, second) -> bool:
    first_missing, second_missing = _missing(first), _missing(second)
    if first_missing or second_missing:
        return first_missing and second_missing
    try:
        equal = first == second
        return bool(np.all(equal)) if not isinstance(equal, bool) else equal
    except (TypeError, ValueError):
        return False


def compare_series(first_series, second_series, series_name=("first", "second")):
    """Compare two series and return a dataframe of differences

    Indices present in one series only count as differences, with None on the
    other side; missing values (None, NaN, ``pd.NA``, ``NaT``) count as equal.

    Parameters
    ----------
    first_series : pandas.Series
        first series to compare.
    second_series : pandas.Series
        second series to compare.
    series_name : tuple of str
        names of the two columns of the output.

    Returns
    -------
    pandas.DataFrame
        DataFrame of differences, one row per differing index.
    """
    rows, index = [], []
    first_keys, second_keys = list(first_series.index), list(second_series.index)
    for key in first_keys + [k for k in second_keys if k not in first_keys]:
        first = first_series[key] if key in first_keys else None
        second = second_series[key] if key in second_keys else None
        if key in first_keys and key in second_keys and _same(first, second):
            continue
        index.append(key)
        rows.append([first, second])
    return pd.DataFrame(rows, index=index, columns=list(series_name), dtype=object)
