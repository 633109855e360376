"""The quick YAML writer and reader agree with PyYAML, or step aside."""

import math
import random

import pytest
import yaml

from flexiznam.camp import dump
from flexiznam.camp.acquisition_yaml import parse
from flexiznam.camp.quick_yaml import Unsupported, dumps, loads

SCALARS = [
    "yes",
    "No",
    "on",
    "y",
    "null",
    "~",
    "",
    " leading",
    "trailing ",
    "a: b",
    "a #b",
    "#c",
    "- x",
    "-x",
    "2021-04-20",
    "2021-04-20 10:00:00",
    "12:30",
    "0x1F",
    "012",
    "1_000",
    "+1",
    ".inf",
    "NaN",
    "é à",
    "tab\there",
    "new\nline",
    "quote'd",
    "'",
    "''",
    'double"quoted',
    "back\\slash",
    "/absolute/path",
    "R182159_retinotopy",
    "overview_zoom1_00001_00001.tif",
    "a - b",
    "a (b)",
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
    "=",
    "<<",
    "\u2028",
    "\x85",
    "\x00",
    1,
    -1,
    0,
    10**30,
    1.5,
    -0.0,
    1e-05,
    -1e20,
    1e16,
    0.1,
    float("inf"),
    float("-inf"),
    True,
    False,
    None,
    [],
    {},
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
    if isinstance(first, list | tuple):
        return (
            isinstance(second, list)
            and len(first) == len(second)
            and all(same(a, b) for a, b in zip(first, second, strict=True))
        )
    return first == second and type(first) is type(second)


def random_value(rng: random.Random, depth: int):
    kind = rng.random()
    if depth > 3 or kind < 0.5:
        return rng.choice(SCALARS)
    if kind < 0.75:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        str(rng.choice(SCALARS)): random_value(rng, depth + 1)
        for _ in range(rng.randint(0, 4))
    }


@pytest.mark.parametrize("seed", range(300))
def test_random_plain_data_round_trips(seed):
    rng = random.Random(seed)
    data = {f"k{i}": random_value(rng, 0) for i in range(rng.randint(1, 6))}
    text = dumps(data)
    assert same(yaml.safe_load(text), data)
    assert same(loads(text), data)


def test_every_scalar_as_value_key_and_item():
    data = {
        "values": {f"k{i}": value for i, value in enumerate(SCALARS)},
        "keys": {str(value): i for i, value in enumerate(SCALARS)},
        "items": SCALARS,
        "nested": [[1, [2, []]], [{"a": [{"b": {}}]}], {"c": [[]]}],
    }
    text = dumps(data)
    assert same(yaml.safe_load(text), data)
    assert same(loads(text), data)


def test_an_acquisition_reads_quickly_and_the_same(acquisition):
    text = dump(acquisition)
    assert loads(text) == yaml.safe_load(text) == acquisition


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n\n# a comment line\nb:\n    c: deeper indentation\n    d:\n    - x\n",
        "a:\n  - 1\n  - - 2\n",
        "a:\n  -\n    - 1\n  - b: 1\n    c:\n    - 2\n",
        "'quoted key': \"double\\n\"\nb: 'it''s'\n",
        "a: 1\nb:\nc: {}\n",
    ],
)
def test_texts_of_the_subset_written_by_hand(text):
    assert yaml.safe_load(text) == parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1 # a comment after a value\n",
        "a: [1, 2]\n",
        "a: {b: 1}\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "when: 2021-04-20\n",
        "octal: 012\n",
        "hex: 0x1F\n",
        "under: 1_000\n",
        "tilde: ~\n",
        "word: Null\n",
        "flag: yes\n",
        "flag: True\n",
        "text: |\n  two\n  lines\n",
        "folded: >\n  one\n  line\n",
        "---\na: 1\n",
        "a:\n\t- 1\n",
        "a: 1\r\nb: 2\r\n",
        "a: 1   \n",
        "1: a\n",
        "a:\n  - - 1\n",
        "a:\n  -  1\n",
        "- 1\n- 2\n",
        "a: b: c\n",
        "a: 'unclosed\n",
        'a: "\\x41"\n',
        "a: 1e5\n",
        "a: +1\n",
        "a: .5\n",
        "a:\n  b: 1\n c: 2\n",
        "? complex key\n: value\n",
        "<<: {a: 1}\n",
        "",
        "# only a comment\n",
    ],
)
def test_other_texts_go_to_pyyaml(text):
    with pytest.raises(Unsupported):
        loads(text)
    try:
        expected = yaml.safe_load(text)
    except yaml.YAMLError:
        with pytest.raises(yaml.YAMLError):
            parse(text)
        return
    assert same(parse(text), expected)


def test_dumps_refuses_other_values():
    with pytest.raises(Unsupported):
        dumps({"a": object()})
    with pytest.raises(Unsupported):
        dumps({1: "a"})
