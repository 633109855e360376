"""The write rules on plain values (flexilims.writes), one rule at a time."""

import math

import pytest

from flexilims.errors import NULL_HINT, BadRequest
from flexilims.writes import (
    AttributeRule,
    Limits,
    TypeRules,
    as_id_list,
    check_name,
    check_no_loop,
    check_parent_type,
    check_size,
    checked_attributes,
    in_key_order,
    is_hex_id,
    lower_keys,
    merged_attributes,
    same_json,
    stored_attributes,
    stored_value,
    validate_attributes,
)

LIMITS = Limits()


def refusal(call, *args, **kwargs) -> BadRequest:
    with pytest.raises(BadRequest) as error:
        call(*args, **kwargs)
    return error.value


def test_hex_ids():
    assert is_hex_id("6094f7212597df357fa24a8c")
    for bad in ("6094F7212597DF357FA24A8C", "6094f7212597df357fa24a8", None, 12,
                "6094f7212597df357fa24a8c\n", "zz94f7212597df357fa24a8c"):  # fmt: skip
        assert not is_hex_id(bad), bad


@pytest.mark.parametrize(
    "name, message",
    [
        (None, "Please provide a name for the new mouse."),
        ("  ", "Please provide a name for the new mouse."),
        (3, "Please provide a name for the new mouse."),
        ("x" * 501, "The name is 501 characters long; names have at most 500."),
        ("a\x00b", "The name holds a NUL character"),
        ("a\ud800b", "The name holds a lone surrogate (\\ud800)"),
    ],
)
def test_names(name, message):
    error = refusal(check_name, "mouse", name, "Save", LIMITS)
    assert error.message.startswith(f"Save failed. {message}")
    assert error.message.endswith(NULL_HINT) and error.field == "name"
    check_name("mouse", "x" * 500, "Save", LIMITS)
    check_name("mouse", "souris é ✓ 🐭", "Save", LIMITS)


def test_an_empty_new_name_on_update():
    error = refusal(check_name, "mouse", "", "Update", LIMITS)
    assert error.detail == "Update failed. The new name is empty."


@pytest.mark.parametrize(
    "attributes, message, field",
    [
        ({"a.b": 1}, "'a.b' is not a valid attribute name", "attributes"),
        ({"a\n": 1}, "is not a valid attribute name", "attributes"),
        ({"k" * 201: 1}, "attribute names have at most 200", "attributes"),
        ({"x": float("nan")}, "'nan' is not a valid value for x.", "attributes.x"),
        ({"x": [1, {"y": float("inf")}]}, "'inf' is not a valid value for x.", None),
        ({"x": 2**63}, "integer beyond 64 bits", "attributes.x"),
        ({"x": -(2**63) - 1}, "integer beyond 64 bits", "attributes.x"),
        ({"x": "a\x00"}, "holds a NUL character", "attributes.x"),
        ({"x": {"k\x00": 1}}, "has a key that holds a NUL", "attributes.x"),
        ({"x": ["\udfff"]}, "holds a lone surrogate", "attributes.x"),
        ({"x": {1: 2}}, "has a key that is not a string", "attributes.x"),
        ({"x": {1, 2}}, "is a set, which JSON cannot hold", "attributes.x"),
        ([1, 2], "attributes must be a JSON object.", "attributes"),
    ],
)
def test_attribute_values_json_and_both_databases_hold(attributes, message, field):
    error = refusal(checked_attributes, attributes, "Save", LIMITS)
    assert message in error.message
    if field:
        assert error.field == field


def test_nesting_depth_is_limited():
    value = "leaf"
    for _ in range(32):
        value = [value]
    assert checked_attributes({"x": value}, "Save", LIMITS) == {"x": value}
    error = refusal(checked_attributes, {"x": [value]}, "Save", LIMITS)
    assert "nested deeper than 32 levels" in error.message
    shallow = Limits(max_depth=2)
    checked_attributes({"x": {"a": {"b": 1}}}, "Save", shallow)
    refusal(checked_attributes, {"x": {"a": {"b": {"c": 1}}}}, "Save", shallow)


def test_the_largest_values_pass():
    values = {"i": 2**63 - 1, "j": -(2**63), "f": 1e308, "b": False, "n": None}
    assert checked_attributes(values, "Save", LIMITS) == values
    assert checked_attributes(None, "Save", LIMITS) == {}


def test_size_of_attributes():
    check_size({"x": "a" * 1000}, "Save", Limits(max_attributes_bytes=1010))
    error = refusal(
        check_size, {"x": "a" * 1000}, "Save", Limits(max_attributes_bytes=1000)
    )
    assert "1,008 bytes of JSON; an entity holds at most 1,000" in error.message


def test_lower_keys_later_wins():
    assert lower_keys({"A": 1, "a": 2, "Bb": 3}) == {"a": 2, "bb": 3}


def test_stored_values_are_the_same_on_both_databases():
    assert stored_value([1, [], {"t": []}, ()]) == [1, None, {"t": None}, None]
    assert stored_value({}) is None and stored_value((1, 2)) == [1, 2]
    assert stored_value("") == "" and stored_value(0) == 0
    # PostgreSQL's numeric has no -0.0; jsonb keeps keys shortest first.
    assert math.copysign(1, stored_value(-0.0)) == 1
    assert list(stored_value({"bb": 1, "é": 2, "b": 3, "a": {"yy": 1, "x": 2}})) == [
        "a",
        "b",
        "bb",
        "é",
    ]
    assert list(stored_value({"a": {"yy": 1, "x": 2}})["a"]) == ["x", "yy"]
    assert list(stored_attributes({"zz": 1, "a": 2})) == ["a", "zz"]


def test_keys_in_jsonb_order_whatever_order_they_come_in():
    """Orders are remembered per tuple of keys (each order its own), and
    objects of many keys are sorted each time."""
    for keys in (["bb", "é", "b", "a"], ["a", "b", "é", "bb"], ["é", "bb"]):
        expected = [key for key in ["a", "b", "bb", "é"] if key in keys]
        assert list(in_key_order(dict.fromkeys(keys))) == expected
    many = {f"k{number}": number for number in range(40, 0, -1)}
    ordered = in_key_order(many)
    assert ordered == many and list(ordered) == sorted(
        many, key=lambda key: (len(key), key)
    )


def test_an_update_changes_what_json_tells_apart():
    assert not same_json({"x": 1}, {"x": True})
    assert not same_json({"x": 1}, {"x": 1.0})
    assert not same_json({"x": [0]}, {"x": [False]})
    assert same_json({"a": 1, "b": 2}, {"b": 2, "a": 1})


def test_merge_of_update_one():
    stored, echoed = merged_attributes(
        {"a": 1, "b": 2}, {"b": [], "c": "", "d": None}, allow_nulls=False
    )
    assert stored == {"a": 1, "b": None, "d": None}
    assert echoed == {"a": 1, "b": [], "d": None}
    stored, echoed = merged_attributes({"b": 1, "a": 2}, {"aa": 3}, allow_nulls=False)
    assert list(stored) == list(echoed) == ["b", "a", "aa"]
    assert list(stored_attributes(stored)) == ["a", "b", "aa"]
    stored, _ = merged_attributes(None, {"c": ""}, allow_nulls=True)
    assert stored == {"c": ""}


RULES = {
    "recording_type": AttributeRule(
        "recording_type", "string", allowed_values=("two_photon", "ephys")
    ),
    "count": AttributeRule("count", "integer"),
    "path": AttributeRule("path", "string", required=True),
}


@pytest.mark.parametrize(
    "attributes, strict, required, message",
    [
        ({"zz": 1, "count": "x"}, True, True, "'zz' is not defined in lab settings."),
        ({"count": "x", "zz": 1}, False, True, "'x' is not a valid value for count."),
        ({"recording_type": "2p"}, False, False, "'2p' is not a valid value"),
        ({"count": True}, False, False, "'True' is not a valid value for count."),
        ({"count": 1}, False, True, "'path' is a necessary attribute for recording."),
        ({"count": 1, "path": None}, False, True, "'path' is a necessary attribute"),
    ],
)
def test_lab_settings_in_the_protocols_order(attributes, strict, required, message):
    error = refusal(
        validate_attributes,
        "recording",
        attributes,
        RULES,
        strict=strict,
        action="Save",
        check_required=required,
    )
    assert error.message.startswith(f"Save failed. {message}")
    assert error.message.endswith(NULL_HINT)


def test_a_refused_value_says_what_is_allowed():
    error = refusal(
        validate_attributes,
        "recording",
        {"recording_type": "2p"},
        RULES,
        strict=False,
        action="Update",
        check_required=False,
    )
    assert error.message == (
        "Update failed. '2p' is not a valid value for recording_type." + NULL_HINT
    )
    assert error.detail.endswith("Allowed: two_photon, ephys.")
    assert error.field == "attributes.recording_type"
    validate_attributes(
        "recording",
        {"recording_type": None, "count": "", "other": 1},
        RULES,
        strict=False,
        action="Update",
        check_required=False,
    )


def test_allowed_parents():
    rules = TypeRules("recording", {}, ("session",))
    check_parent_type(rules, "session", "Save")
    check_parent_type(rules, None, "Save")
    check_parent_type(TypeRules("x", {}, None), "anything", "Save")
    error = refusal(check_parent_type, rules, "mouse", "Save")
    assert error.detail == (
        "Save failed. A recording cannot be below a mouse (the lab settings allow: "
        "session)."
    )
    assert error.field == "origin_id"


def test_no_loop_of_parents():
    parents = {"c": "b", "b": "a", "a": None, "x": "y", "y": "x"}
    check_no_loop("d", "c", parents.get)
    for entity, origin in (("a", "c"), ("c", "c")):
        error = refusal(check_no_loop, entity, origin, parents.get)
        assert "that is the entity itself or one of its descendants" in error.message
    error = refusal(check_no_loop, "d", "x", parents.get)
    assert "form a loop" in error.message


def test_id_lists():
    fields = ("a", "b")
    assert as_id_list(None, "other_relations", fields) == []
    one = "6094f7212597df357fa24a8c"
    assert as_id_list(one, "other_relations", fields) == [one]
    assert as_id_list([one, one], "other_relations", fields) == [one]
    error = refusal(as_id_list, [1], "other_relations", fields)
    assert error.message == "other_relations is not valid. Valid fields are [a, b]"


@pytest.mark.parametrize(
    "path, ok",
    [
        ("PZAH6.4b/S20210420/R1", True),
        ("a\\b\\c", True),
        ("file..name/x", True),
        ("", True),
        ("/etc/passwd", False),
        ("../../../../etc/shadow", False),
        ("a/../../b", False),
        ("a\\..\\b", False),
        ("\\\\server\\share", False),
        ("C:\\data", False),
        ("c:data", False),
    ],
)
def test_paths_stay_below_the_data_root(path, ok):
    rule = {"path": AttributeRule("path", "path")}
    call = (validate_attributes, "dataset", {"path": path}, rule)
    options = {"strict": False, "action": "Save", "check_required": False}
    if ok:
        call[0](*call[1:], **options)
        return
    error = refusal(*call, **options)
    assert error.message.startswith(f"Save failed. '{path}' is not a valid value")
    assert "relative to the data root and stays inside it" in error.detail
