"""Reading and writing the Flexilims project JSON one root at a time."""

import io
import json

import orjson
import pytest

from flexilims.store.files import dumpfile

TEXTS = [
    "{}",
    ' \n{"a": {"x": NaN, "y": [1, -Infinity, 1e400]},'
    ' "b" : {"c": 18446744073709551617}}\n',
    '\ufeff{"é": {"z": "\\u00e9 ✓ \\ud83d\\ude00", "w": "\\udfff"}}',
    '{"a": 1, "b": "x", "c": [], "d": null, "e": 12345}',
    '{"dup": {"n": 1}, "x": {"dup": 1, "dup": 2}}',
]


@pytest.fixture
def tiny_reads(monkeypatch):
    """Read 5 bytes at a time, so that every value straddles reads."""
    monkeypatch.setattr(dumpfile, "READ_SIZE", 5)


@pytest.mark.parametrize("text", TEXTS)
def test_roots_are_what_json_load_reads(text, tiny_reads):
    roots = list(dumpfile.read_roots(io.BytesIO(text.encode())))
    expected = list(json.loads(text.encode()).items())
    assert repr(roots) == repr(expected)


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"a": {"b": 1}',
        '{"a": 1,}',
        "[1, 2",
        '{"a": 1} x',
        '{"a" 1}',
        "",
        '{"a": {"b": 1},\n "c":\n  {"d": tru}}',
        '{"a": "unterminated',
    ],
)
def test_invalid_json_is_located_in_the_whole_file(text, tiny_reads):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as error:
        list(dumpfile.read_roots(io.BytesIO(text.encode())))
    assert str(error.value) == str(expected.value)
    assert (error.value.lineno, error.value.colno) == (
        expected.value.lineno,
        expected.value.colno,
    )


def test_json_that_is_not_an_object(tiny_reads):
    with pytest.raises(dumpfile.NotAnObject):
        list(dumpfile.read_roots(io.BytesIO(b'[{"a": 1}]')))


def test_bytes_that_are_not_utf8():
    with pytest.raises(UnicodeDecodeError):
        list(dumpfile.read_roots(io.BytesIO(b'{"a": "\xff"}')))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"M1": {"id": "x", "children": {"S": {"a": [1, {"b": None}], "children": {}}}}},
        {"M2 é": {"children": {}, "s": "a\nb"}, "M3": {"children": {}}},
    ],
)
def test_written_roots_are_the_bytes_of_one_dump(data):
    stream = io.BytesIO()
    assert dumpfile.write_roots(stream, data.items()) == len(data)
    assert stream.getvalue() == orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
