"""Entities as DataFrames and Series: the frames flexiznam builds column by
column are exactly those of ``pandas.DataFrame(rows)``, for any JSON values."""

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flexiznam.main as flz
from flexiznam.api.frames import entity_frame, entity_series

FIELDS = {
    "id": "6650a1b2c3d4e5f601234567",
    "type": "dataset",
    "incrementalId": "DATASET0000001",
    "createdBy": "tester",
    "dateCreated": 1_700_000_000_000,
    "dateUpdated": 1_700_000_000_001,
    "project": "6650a1b2c3d4e5f601234500",
    "origin_id": None,
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=3), children, max_size=3),
    ),
    max_leaves=6,
)
#: Few attribute names, so that rows share columns and miss some.
attributes = st.dictionaries(
    st.sampled_from(["path", "is_raw", "n", "genealogy", "size", "note"]),
    json_values,
    max_size=5,
)


def row(number: int, attributes: dict) -> dict:
    return {**FIELDS, "name": f"E{number}", **attributes}


def reference_frame(rows, index_by_name):
    frame = pd.DataFrame(rows)
    if index_by_name and len(frame):
        frame = frame.set_index("name", drop=False)
        frame.index.name = None
    return frame


def assert_same_frame(built, expected):
    pd.testing.assert_frame_equal(
        built, expected, check_exact=True, check_index_type=True
    )
    assert list(built.columns) == list(expected.columns)
    assert built.columns.dtype == expected.columns.dtype
    assert list(built.dtypes) == list(expected.dtypes)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(attributes, max_size=6), st.booleans())
def test_frames_are_those_of_pandas(rows_attributes, index_by_name):
    rows = [row(number, values) for number, values in enumerate(rows_attributes)]
    assert_same_frame(
        entity_frame(rows, index_by_name), reference_frame(rows, index_by_name)
    )


@settings(max_examples=300, deadline=None)
@given(attributes)
def test_one_entity_is_the_row_pandas_gives(values):
    entity = row(0, values)
    built, expected = entity_series(entity), pd.DataFrame([entity]).iloc[0]
    pd.testing.assert_series_equal(built, expected, check_exact=True)
    assert built.name == expected.name and built.index.dtype == expected.index.dtype
    # Element by element: numpy scalars where pandas gives them.
    for mine, theirs in zip(built, expected, strict=True):
        assert type(mine) is type(theirs)
        if not (isinstance(mine, float) and math.isnan(mine)):
            assert mine == theirs


@pytest.mark.parametrize(
    "values",
    [
        [{"a": "x"}, {"a": None}, {"b": 1}],  # strings and nulls: str, NaN
        [{"a": 1}, {"a": None}],  # integers and null: float64
        [{"a": 2**63}],  # uint64 in pandas: pandas' own path
        [{"a": "x"}, {"a": 1}],  # mixed: objects
        [{"a": [1, 2]}, {"a": [3, 4]}],  # lists of one length stay elements
        [{"a": True}, {}],  # booleans and a missing value: objects
        [{"a": None}, {}],  # nothing but nulls
    ],
)
def test_columns_at_the_edges_of_the_table(values):
    rows = [row(number, attributes) for number, attributes in enumerate(values)]
    assert_same_frame(entity_frame(rows, True), reference_frame(rows, True))
    assert_same_frame(entity_frame(rows), reference_frame(rows, False))


def test_no_entity_gives_an_empty_frame():
    assert_same_frame(entity_frame([]), pd.DataFrame([]))
    assert_same_frame(entity_frame([], index_by_name=True), pd.DataFrame([]))


def test_get_entities_and_get_entity_give_pandas_frames(flz_session):
    """Through the API, on a real database: indexed by name, typed columns."""
    mouse = flz.add_mouse(
        "M1",
        "test",
        flexilims_session=flz_session,
        attributes={"sex": "F", "weight": 21.5, "litter": 3, "tags": ["a", "b"]},
    )
    flz.add_mouse("M2", "test", flexilims_session=flz_session)
    found = flz.get_entities("mouse", flexilims_session=flz_session)
    replies = flz.get_entities(
        "mouse", flexilims_session=flz_session, format_reply=False
    )
    flat = [
        {**{k: v for k, v in reply.items() if k != "attributes"}, **reply["attributes"]}
        for reply in replies
    ]
    assert_same_frame(found, reference_frame(flat, True))
    assert list(found.index) == ["M1", "M2"]
    assert found["weight"].dtype == "float64"  # M2 has none: NaN
    assert found.loc["M1", "tags"] == ["a", "b"]
    one = flz.get_entity("mouse", name="M1", flexilims_session=flz_session)
    assert one.name == 0 and one["id"] == mouse["id"] and one["litter"] == 3
    assert isinstance(one["dateCreated"], type(found["dateCreated"].iloc[0]))
