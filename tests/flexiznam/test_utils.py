"""flexiznam.utils: cleaning nested dictionaries for YAML, and the differences
between two series. (Cleaning datasets with ``format_dataset`` is tested with
real datasets in schema/test_schema_detection.py.)"""

import pathlib

import numpy as np
import pandas as pd
import pytest
import yaml

from flexiznam.utils import clean_dictionary_recursively, compare_series


def test_clean_dictionary_pops_keys_at_any_depth_in_place(tmp_path):
    data = {
        "a": tmp_path,
        "drop": 1,
        "nested": {"drop": 2, "b": [tmp_path, np.int64(3)]},
        "items": [{"drop": 3, "keep": 4}],
    }
    cleaned = clean_dictionary_recursively(data, keys=["drop"])
    assert cleaned is data
    assert data == {
        "a": str(tmp_path),
        "nested": {"b": [str(tmp_path), 3]},
        "items": [{"keep": 4}],
    }


def test_one_key_may_be_given_as_text():
    data = {"drop": 1, "dr": 2, "o": {"drop": 3}}
    assert clean_dictionary_recursively(data, keys="drop") == {"dr": 2, "o": {}}


def test_paths_become_text_unless_asked_not_to(tmp_path):
    windows = pathlib.PureWindowsPath("C:/data/m1")
    data = {"p": tmp_path, "w": windows, "t": (tmp_path, "x")}
    assert clean_dictionary_recursively(dict(data)) == {
        "p": str(tmp_path),
        "w": str(windows),
        "t": (str(tmp_path), "x"),
    }
    kept = clean_dictionary_recursively(dict(data), path2string=False)
    assert kept["p"] == tmp_path and kept["t"] == (tmp_path, "x")


def test_numpy_scalars_become_python_values_that_yaml_writes():
    data = {
        "i": np.int32(3),
        "f": np.float64(0.5),
        "b": np.bool_(True),
        "s": np.str_("x"),
        "deep": {"list": [np.uint8(7)]},
    }
    cleaned = clean_dictionary_recursively(data)
    assert cleaned == {"i": 3, "f": 0.5, "b": True, "s": "x", "deep": {"list": [7]}}
    assert [type(cleaned[k]) for k in "ifbs"] == [int, float, bool, str]
    assert yaml.safe_load(yaml.safe_dump(cleaned)) == cleaned


def test_sequence_types_and_other_values_are_kept():
    data = {"t": (1, 2), "l": [1, (2, 3)], "n": None, "s": "text", "e": {}}
    assert clean_dictionary_recursively(data) == {
        "t": (1, 2),
        "l": [1, (2, 3)],
        "n": None,
        "s": "text",
        "e": {},
    }
    assert isinstance(data["t"], tuple) and isinstance(data["l"][1], tuple)


def test_cleaning_something_that_is_not_a_dictionary_fails():
    with pytest.raises(AttributeError):
        clean_dictionary_recursively([1, 2])


def test_compare_series_lists_differences_and_one_sided_keys():
    first = pd.Series({"a": 1, "b": [1, 2], "c": None, "d": "x"})
    second = pd.Series({"a": 1, "b": [1, 3], "c": float("nan"), "e": "y"})
    diff = compare_series(first, second, series_name=("online", "yaml"))
    assert list(diff.columns) == ["online", "yaml"]
    assert list(diff.index) == ["b", "d", "e"]
    assert diff.loc["b"].tolist() == [[1, 2], [1, 3]]
    assert diff.loc["d", "yaml"] is None and diff.loc["e", "online"] is None
    assert diff.loc["d", "online"] == "x" and diff.loc["e", "yaml"] == "y"


def test_compare_series_of_equal_series_is_empty():
    values = {"a": 1, "b": "x", "c": [1, 2], "d": {"k": 1}, "e": np.array([1, 2])}
    diff = compare_series(pd.Series(values), pd.Series(dict(values)))
    assert diff.empty and list(diff.columns) == ["first", "second"]
    assert compare_series(pd.Series(dtype=object), pd.Series(dtype=object)).empty


def test_compare_series_compares_values_not_types():
    first = pd.Series({"int": 1, "text": "1", "array": np.array([1, 2])})
    second = pd.Series({"int": 1.0, "text": 1, "array": np.array([1, 2, 3])})
    diff = compare_series(first, second)
    assert list(diff.index) == ["text", "array"]


@pytest.mark.parametrize(
    "missing",
    [None, float("nan"), np.float32("nan"), np.float64("nan"), pd.NA, pd.NaT],
    ids=repr,
)
def test_compare_series_counts_every_missing_value_as_equal(missing):
    for other in (None, float("nan"), missing):
        assert compare_series(pd.Series({"a": missing}), pd.Series({"a": other})).empty
    diff = compare_series(pd.Series({"a": missing}), pd.Series({"a": 0}))
    assert list(diff.index) == ["a"]


def test_compare_series_keeps_the_order_of_the_first_then_the_second():
    first = pd.Series({"z": 1, "a": 1})
    second = pd.Series({"m": 2, "z": 2})
    assert list(compare_series(first, second).index) == ["z", "a", "m"]
