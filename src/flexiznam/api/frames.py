"""Entities as pandas objects, built column by column.

``pandas.DataFrame(rows)`` on a list of dicts runs every column through
pandas' general type inference, which costs most of a one-entity look-up.
Entities hold JSON values (str, int, float, bool, None, lists and dicts), and
for these the dtype pandas infers follows a short table
(:func:`_typed_column`); building the typed arrays directly gives the same
frame in a fraction of the time. A column outside the table (strings mixed
with numbers, integers beyond 64 bits...) sends the whole frame through
``pandas.DataFrame(rows)``. The tests compare both on generated entities.

pandas is imported on first use: ``import flexiznam.main`` does not load it.
"""

import functools
import math

from flexilims import memory

#: The integers pandas keeps as int64 (larger ones become uint64 or objects).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: The integers a float64 holds exactly: beyond, the table steps aside.
_EXACT_IN_FLOAT = 2**53
_NONE = type(None)


@functools.cache
def _libraries():
    """pandas, numpy, and the dtype pandas gives a column of strings, as it
    infers it when first used (``str`` in pandas 3; None where it keeps them
    as objects, as pandas 2 does: every frame then takes pandas' own path)."""
    import numpy as np
    import pandas as pd

    string_dtype = pd.DataFrame([{"a": "text"}]).dtypes["a"]
    memory.settled("pandas")
    if pd.api.types.is_object_dtype(string_dtype):
        string_dtype = None
    return pd, np, string_dtype


def _objects(np, values: list):
    """A one-dimensional object array of ``values`` (lists stay elements)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _is_null(value) -> bool:
    return value is None or (type(value) is float and math.isnan(value))


def _strings(string_dtype, values: list):
    """``pandas.array(values, dtype=string_dtype)``, by the array type's own
    constructor (``pandas.array`` first works out which type to call).
    ``_from_sequence`` is part of pandas' documented ExtensionArray
    interface, despite its underscore."""
    array_type = string_dtype.construct_array_type()
    return array_type._from_sequence(values, dtype=string_dtype)  # noqa: SLF001


def _typed_column(values: list):
    """The array pandas infers for a column of JSON values (absent keys as
    NaN), or None when the column is outside the table."""
    pd, np, string_dtype = _libraries()
    types = set(map(type, values))
    if types == {str}:
        return _strings(string_dtype, values)
    if types == {int}:
        if _INT64_MIN <= min(values) and max(values) <= _INT64_MAX:
            return np.array(values, dtype=np.int64)
        return None
    if types == {bool}:
        return np.array(values, dtype=bool)
    if list in types or dict in types or types == {_NONE}:
        return _objects(np, values)
    nulls = sum(1 for value in values if _is_null(value))
    if str in types and types <= {str, float, _NONE}:
        strings = sum(1 for value in values if type(value) is str)
        if nulls + strings < len(values):
            return None
        return _strings(string_dtype, values)
    if types <= {int, float, _NONE} and nulls < len(values):
        integers = (value for value in values if type(value) is int)
        if all(abs(value) <= _EXACT_IN_FLOAT for value in integers):
            return np.array(
                [math.nan if value is None else value for value in values],
                dtype=np.float64,
            )
    return None


def _frame(pd, string_dtype, arrays: dict, index):
    """``pandas.DataFrame(arrays, index=index)`` for typed, equally long
    ``arrays`` (the column names, being text, of the strings' dtype).

    pandas' ``DataFrame._from_arrays`` without its checks takes half the
    time of the public constructor, which checks and converts every column
    again: the arrays here are already as pandas makes them. Where a pandas
    version lacks it, the public constructor.
    """
    from_arrays = getattr(pd.DataFrame, "_from_arrays", None)
    if from_arrays is None:
        return pd.DataFrame(arrays, index=index, copy=False)
    return from_arrays(
        list(arrays.values()),
        columns=pd.Index(list(arrays), dtype=string_dtype),
        index=index,
        verify_integrity=False,
    )


def entity_frame(rows: list[dict], index_by_name: bool = False):
    """``pandas.DataFrame(rows)``, and with ``index_by_name`` indexed by the
    ``name`` column (kept as a column too, the index unnamed).

    Parameters
    ----------
    rows : list of dict
        One flat dict per entity (fields and attributes side by side).
    index_by_name : bool
        Index the rows by their ``name``.
    """
    pd, np, string_dtype = _libraries()
    if rows and string_dtype is not None:
        arrays = {}
        for key in dict.fromkeys(key for row in rows for key in row):
            column = _typed_column([row.get(key, math.nan) for row in rows])
            if column is None:
                break
            arrays[key] = column
        else:
            if not index_by_name:
                return _frame(pd, string_dtype, arrays, pd.RangeIndex(len(rows)))
            names = arrays.get("name")
            if names is not None and names.dtype == string_dtype:
                return _frame(pd, string_dtype, arrays, pd.Index(names))
    frame = pd.DataFrame(rows)
    if index_by_name and len(frame):
        frame = frame.set_index("name", drop=False)
        frame.index.name = None
    return frame


def _scalar(np, value):
    """A value as a one-row column would hold it, and that column's dtype
    (None: outside the table)."""
    kind = type(value)
    if kind is str:
        return value, "str"
    if kind is int:
        if _INT64_MIN <= value <= _INT64_MAX:
            return np.int64(value), "int64"
        return None, None
    if kind is float:
        return np.float64(value), "float64"
    if kind is bool:
        return np.bool_(value), "bool"
    if kind is list or kind is dict or value is None:
        return value, "object"
    return None, None


def entity_series(row: dict):
    """``pandas.DataFrame([row]).iloc[0]``: one entity as a Series named 0."""
    pd, np, string_dtype = _libraries()
    if string_dtype is not None:
        values, kinds = [], set()
        for value in row.values():
            value, kind = _scalar(np, value)
            if kind is None:
                break
            values.append(value)
            kinds.add(kind)
        else:
            # Columns of several dtypes give a row of objects; of one dtype (or
            # of int64 and float64), a row of that dtype: left to pandas.
            if len(kinds) > 1 and kinds != {"int64", "float64"}:
                return pd.Series(
                    _objects(np, values),
                    index=pd.Index(list(row)),
                    dtype=object,
                    name=0,
                    copy=False,
                )
    return pd.DataFrame([row]).iloc[0]
