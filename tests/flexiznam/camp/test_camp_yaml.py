"""The acquisition YAML format: writing, reading, walking."""

import math

import pytest
import yaml
from camp_setup import MOUSE, PROJECT

from flexiznam.camp import FORMAT_VERSION, dump, load, walk, write
from flexiznam.camp.acquisition_yaml import key_lines
from flexiznam.errors import SyncYmlError
from flexiznam.schema import Dataset

TRICKY = [
    "yes",
    "No",
    "on",
    "null",
    "~",
    "",
    " leading",
    "trailing ",
    "a: b",
    "a #b",
    "#c",
    "- x",
    "2021-04-20",
    "12:30",
    "0x1F",
    "1_000",
    "+1",
    ".inf",
    "NaN",
    "é à",
    "tab\there",
    "new\nline",
    "quote'd",
    'double"quoted',
    "back\\slash",
    "/absolute/path",
    "R182159_retinotopy",
    "a - b",
    "!tag",
    "&anchor",
    "*alias",
    "%x",
    "@x",
    "{x}",
    "[x]",
    "x,y",
    "?x",
    "|",
    ">",
    "\u2028",
    1,
    -1,
    0,
    1.5,
    1e-05,
    -1e20,
    0.1,
    10**30,
    float("inf"),
    True,
    False,
    None,
    [],
    {},
    [1, [2, []], {"a": []}],
    {"k": {"j": [{"x": 1, "y": [1, 2]}, {}]}},
]


def same(first, second) -> bool:
    if isinstance(first, float) and math.isnan(first):
        return isinstance(second, float) and math.isnan(second)
    if isinstance(first, dict):
        return (
            isinstance(second, dict)
            and list(first) == list(second)
            and all(same(first[key], second[key]) for key in first)
        )
    if isinstance(first, list):
        return (
            isinstance(second, list)
            and len(first) == len(second)
            and all(same(a, b) for a, b in zip(first, second, strict=True))
        )
    return first == second and type(first) is type(second)


def test_dump_writes_values_that_read_back_the_same():
    data = {
        "version": 1,
        "children": {f"k{i}": {"v": v, "l": [v, v]} for i, v in enumerate(TRICKY)},
        "yes": "key that reads as a boolean",
        "": "empty key",
        "a list": [{"m": 1, "n": [{"o": None}]}, [1, 2]],
    }
    text = dump(data)
    assert text.startswith("# flexiznam acquisition YAML, version 1")
    assert same(yaml.safe_load(text), data)


def test_dump_falls_back_to_pyyaml_for_other_values():
    data = {"version": 1, "when": __import__("datetime").date(2021, 4, 20)}
    assert yaml.safe_load(dump(data)) == data


def test_write_and_load_round_trip(tmp_path, acquisition):
    path = write(acquisition, tmp_path / "acquisition.yml")
    source = load(path)
    assert source.data == acquisition
    assert source.file == path and source.text == path.read_text()
    assert load(acquisition).data is acquisition
    assert load(source) is source


def test_datasets_round_trip_through_the_schema(acquisition):
    datasets = [node for node in walk(acquisition) if node.type == "dataset"]
    assert len(datasets) == 8
    for node in datasets:
        fields = {key: value for key, value in node.data.items() if key != "type"}
        dataset = Dataset.from_yaml(fields, name=node.short_name)
        assert dataset.is_valid(), dataset.is_valid(return_reason=True)
        again = dataset.format(mode="yaml")
        again.pop("genealogy")
        assert again == fields


def test_load_errors(tmp_path):
    with pytest.raises(SyncYmlError, match="Cannot read"):
        load(tmp_path / "nothing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 1\nchildren: [unclosed\n")
    with pytest.raises(SyncYmlError, match="is not valid YAML"):
        load(broken)


def test_key_lines():
    text = "version: 1\nchildren:\n  S1:\n    type: session\n    children:\n      R1:\n"
    lines = key_lines(text)
    assert lines[("version",)] == 1
    assert lines[("children", "S1")] == 3
    assert lines[("children", "S1", "children", "R1")] == 6
    assert key_lines("a: [") == {}


def test_walk_gives_parents_first_in_file_order(acquisition):
    nodes = list(walk(acquisition))
    chains = [node.chain for node in nodes]
    assert chains[0] == ("S20210513",)
    assert chains[1] == ("S20210513", "R182159_retinotopy")
    for index, node in enumerate(nodes):
        if node.parent is not None:
            assert chains.index(node.parent.chain) < index
    recording = nodes[1]
    assert recording.place == "S20210513 > R182159_retinotopy"
    assert recording.full_name(MOUSE) == f"{MOUSE}_S20210513_R182159_retinotopy"
    assert recording.keys == ("children", "S20210513", "children", recording.chain[1])
    assert list(walk("not a mapping")) == []
    assert list(walk({"children": {"a": "b", "c": {"children": 3}}})) != []


def test_the_format_version(acquisition):
    assert acquisition["version"] == FORMAT_VERSION == 1
    assert list(acquisition) == ["version", "project", "origin", "children"]
    assert (acquisition["project"], acquisition["origin"]) == (PROJECT, MOUSE)
