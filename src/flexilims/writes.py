"""The data rules of the protocol, as pure functions the store applies.

Attribute values arriving here have crossed JSON already (the HTTP body, or the
in-process session's round trip), so they are dicts, lists, strings, numbers,
booleans and None.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import BadRequest

HEX_ID = re.compile(r"^[0-9a-f]{24}$")
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")

#: Appended to every ``Save failed.`` / ``Update failed.`` message, as Flexilims does.
NULL_HINT = (
    " If you have 'null' values please substitute (null) with empty string ('') "
)

VALUE_TYPES = ("any", "string", "number", "integer", "boolean", "list", "dict")


def is_hex_id(value) -> bool:
    """Whether ``value`` is a 24 lower-case hexadecimal id."""
    return isinstance(value, str) and bool(HEX_ID.match(value))


def failed(action: str, message: str) -> BadRequest:
    """A ``Save failed.`` or ``Update failed.`` error with the protocol's hint."""
    return BadRequest(f"{action} failed. {message}{NULL_HINT}")


def check_attribute_names(attributes: Mapping, action: str) -> None:
    """Refuse attribute names with characters other than letters, digits, _ and -."""
    for key in attributes:
        if not isinstance(key, str) or not ATTRIBUTE_NAME.match(key):
            raise failed(
                action,
                f"'{key}' is not a valid attribute name: use only letters, digits, "
                "'_' and '-'.",
            )


def check_no_nan(value, key: str, action: str) -> None:
    """Refuse NaN and infinities anywhere in a value: JSON cannot hold them."""
    if isinstance(value, float) and not math.isfinite(value):
        raise failed(action, f"'{value}' is not a valid value for {key}.")
    if isinstance(value, Mapping):
        for item in value.values():
            check_no_nan(item, key, action)
    elif isinstance(value, list | tuple):
        for item in value:
            check_no_nan(item, key, action)


def lower_keys(attributes: Mapping) -> dict:
    """Lower-case attribute names (on save); on a collision the later key wins."""
    lowered = {}
    for key, value in attributes.items():
        lowered[key.lower()] = value
    return lowered


def empty_to_null(value):
    """Store empty lists and dicts as null, at any depth; tuples become lists."""
    if isinstance(value, Mapping):
        if not value:
            return None
        return {key: empty_to_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        if not value:
            return None
        return [empty_to_null(item) for item in value]
    return value


def index_text(value) -> str | None:
    """Text under which a scalar attribute value is indexed for ``query_value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return None


def query_texts(query_value) -> list[str]:
    """Index texts a ``query_value`` (as received, usually a string) matches."""
    if isinstance(query_value, bool | int | float):
        return [index_text(query_value)]
    text = str(query_value)
    texts = [text]
    if text in ("True", "False"):
        texts.append(text.lower())
    try:
        number = float(text)
    except ValueError:
        return texts
    if math.isfinite(number):
        if number.is_integer():
            texts += [str(int(number)), repr(number)]
        else:
            texts.append(repr(number))
    return list(dict.fromkeys(texts))


@dataclass(frozen=True)
class AttributeRule:
    """What the lab settings say about one attribute of one datatype."""

    name: str
    value_type: str = "any"
    required: bool = False
    allowed_values: tuple | None = None

    def accepts(self, value) -> bool:
        """Whether a non-empty value fits the declared type and allowed values."""
        if value is None or value == "":
            return True
        if self.allowed_values is not None and value not in self.allowed_values:
            return False
        return _has_type(value, self.value_type)


def _has_type(value, value_type: str) -> bool:
    if value_type == "string":
        return isinstance(value, str)
    if value_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if value_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if value_type == "boolean":
        return isinstance(value, bool)
    if value_type == "list":
        return isinstance(value, list)
    if value_type == "dict":
        return isinstance(value, dict)
    return True


def validate_attributes(
    datatype: str,
    attributes: Mapping,
    rules: Mapping[str, AttributeRule],
    *,
    strict: bool,
    action: str,
    check_required: bool,
) -> None:
    """Apply the lab settings to an entity's resulting attributes.

    Checks run in the protocol's order (undefined attributes when ``strict``,
    then allowed values and types, then required attributes); each names the
    first offending attribute in ``attributes`` order.

    Parameters
    ----------
    datatype : str
        The entity's type, named in the required-attribute message.
    attributes : Mapping
        The entity's attributes after the request, existing ones first.
    rules : Mapping[str, AttributeRule]
        The lab settings of ``datatype``, by attribute name.
    strict : bool
        Refuse attributes the lab settings do not define.
    action : str
        ``"Save"`` or ``"Update"``, for the message.
    check_required : bool
        Refuse a missing or null required attribute (on save).
    """
    if strict:
        for key in attributes:
            if key not in rules:
                raise failed(action, f"'{key}' is not defined in lab settings.")
    for key, value in attributes.items():
        rule = rules.get(key)
        if rule is not None and not rule.accepts(value):
            raise failed(action, f"'{value}' is not a valid value for {key}.")
    if check_required:
        for rule in rules.values():
            if rule.required and attributes.get(rule.name) is None:
                raise failed(
                    action, f"'{rule.name}' is a necessary attribute for {datatype}."
                )


def as_id_list(value, field: str, valid_fields: Sequence[str]) -> list[str]:
    """``other_relations``: one id or a list of ids, else the protocol's error."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(is_hex_id(v) for v in value):
        raise BadRequest(
            f"{field} is not valid. Valid fields are [{', '.join(valid_fields)}]"
        )
    return list(dict.fromkeys(value))
