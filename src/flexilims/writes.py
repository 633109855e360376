"""The rules of every write, as pure functions on plain values.

Every way of writing (``save``, ``update-one``, ``update-many``, ``batch``,
restoring from the trash, reverting to a version, importing a dump) goes
through :mod:`flexilims.store.writing.changes`, which reads what these rules need in a
few batched queries and asks them; nothing else decides what may be written.
Values arriving here have crossed JSON already (the HTTP body, or the
in-process session's round trip): dicts, lists, strings, numbers, booleans and
None.

The rules: names (present, text the database can hold, within the length
limit, unique per project and type), attributes (names of letters, digits,
``_`` and ``-``; values JSON and both databases hold: no NaN, no NUL, no lone
surrogates, integers of 64 bits, nesting and size within the limits; stored
alike on both databases: empty lists and dicts as null, ``-0.0`` as ``0.0``,
object keys in PostgreSQL's ``jsonb`` order), the lab settings (defined types, allowed
values, required attributes, allowed parent types), and the hierarchy (no
parent loop).
"""

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import orjson

from .errors import NULL_HINT, BadRequest

HEX_ID = re.compile(r"\A[0-9a-f]{24}\Z")
ATTRIBUTE_NAME = re.compile(r"\A[A-Za-z0-9_\-]+\Z")

#: Value types an attribute may be declared with in the lab settings.
VALUE_TYPES = (
    "any",
    "string",
    "number",
    "integer",
    "boolean",
    "list",
    "dict",
    "path",
)

#: What a ``path`` value must be, said to people who give another.
PATH_RULE = (
    "A path is relative to the data root and stays inside it: no leading '/', "
    "'\\' or drive letter, and no '..'."
)

#: The integers both databases hold in a JSON document (64-bit signed).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

#: Characters no text column or JSON document of ours may hold: NUL (refused by
#: PostgreSQL) and lone UTF-16 surrogates (not Unicode text).
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def is_hex_id(value) -> bool:
    """Whether ``value`` is a 24 lower-case hexadecimal id."""
    return isinstance(value, str) and bool(HEX_ID.match(value))


def failed(action: str, message: str, more: str = "", field: str | None = None):
    """A ``Save failed.`` or ``Update failed.`` error with the protocol's hint.

    ``more`` is said to people (the error's detail and reason), not on the
    wire, whose words are Flexilims'; ``field`` names the part of the request
    refused.
    """
    error = BadRequest(f"{action} failed. {message}{NULL_HINT}", field=field)
    error.detail = f"{action} failed. {message}{more}"
    error.reason = f"{message}{more}"
    return error


@dataclass(frozen=True)
class Limits:
    """How large and deep what is written may be (from the settings)."""

    max_name_length: int = 500
    max_key_length: int = 200
    max_attributes_bytes: int = 1024 * 1024
    max_depth: int = 32

    @classmethod
    def from_settings(cls, settings) -> "Limits":
        return cls(
            max_name_length=settings.max_name_length,
            max_key_length=settings.max_key_length,
            max_attributes_bytes=settings.max_attributes_bytes,
            max_depth=settings.max_depth,
        )


def text_problem(text: str) -> str | None:
    """What makes ``text`` impossible to store, or None."""
    if text.isascii() and "\x00" not in text:
        return None
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "holds a NUL character (\\u0000), which cannot be stored"
    return (
        f"holds a lone surrogate (\\u{ord(found.group()):04x}), which is not "
        "valid Unicode text"
    )


def check_name(datatype, name, action: str, limits: Limits) -> None:
    """Refuse a missing, blank, too long or unstorable entity name."""
    if not isinstance(name, str) or not name.strip():
        if action == "Save":
            raise failed(
                action, f"Please provide a name for the new {datatype}.", field="name"
            )
        raise failed(action, "The new name is empty.", field="name")
    if len(name) > limits.max_name_length:
        raise failed(
            action,
            f"The name is {len(name)} characters long; names have at most "
            f"{limits.max_name_length}.",
            field="name",
        )
    problem = text_problem(name)
    if problem:
        raise failed(action, f"The name {problem}.", field="name")


@dataclass
class Nulls:
    """NaN values read as null (an import of pandas' dumps), counted."""

    count: int = 0


class _Unstorable(Exception):
    """What makes a value impossible to store, found during the walk."""

    def __init__(self, problem: str | None, number: float | None = None):
        super().__init__(problem)
        self.problem, self.number = problem, number


def _stored(value, depth: int, limits: Limits, nulls: Nulls | None):
    """The value as stored, refusing what JSON or a database cannot hold.

    One walk: empty lists and dicts become null, tuples lists, ``-0.0``
    ``0.0``, object keys in ``jsonb`` order (as :func:`stored_value`), and NaN
    null when ``nulls`` counts them (otherwise NaN is refused like infinities).
    """
    kind = type(value)
    if kind is str:
        if ("\x00" in value) if value.isascii() else _BAD_TEXT.search(value):
            raise _Unstorable(text_problem(value))
        return value
    if value is None or kind is bool:
        return value
    if kind is int:
        if INT_MIN <= value <= INT_MAX:
            return value
        raise _Unstorable("is an integer beyond 64 bits, which cannot be stored")
    if kind is float:
        if math.isfinite(value):
            return value if value else 0.0
        if nulls is not None and math.isnan(value):
            nulls.count += 1
            return None
        raise _Unstorable(None, value)
    if kind is list or kind is dict:
        return _stored_container(value, depth, limits, nulls, kind is dict)
    return _stored_other(value, depth, limits, nulls)


def _stored_container(value, depth, limits: Limits, nulls, mapping: bool):
    if depth >= limits.max_depth:
        raise _Unstorable(f"is nested deeper than {limits.max_depth} levels")
    if not value:
        return None
    if not mapping:
        return [_stored(item, depth + 1, limits, nulls) for item in value]
    stored = {}
    for key, item in value.items():
        if type(key) is not str or not key.isascii() or "\x00" in key:
            if not isinstance(key, str):
                raise _Unstorable("has a key that is not a string")
            problem = text_problem(key)
            if problem:
                raise _Unstorable(f"has a key that {problem}")
        stored[key] = _stored(item, depth + 1, limits, nulls)
    return in_key_order(stored)


def _stored_other(value, depth: int, limits: Limits, nulls: Nulls | None):
    """Subclasses of the JSON types (a ``str`` enum, a ``numpy.float64``),
    other mappings and tuples: checked as their JSON type; anything else is
    refused."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise _Unstorable(problem)
        return value
    if isinstance(value, int):
        _stored(int(value), depth, limits, nulls)
        return value
    if isinstance(value, float):
        return None if _stored(float(value), depth, limits, nulls) is None else value
    if isinstance(value, Mapping | list | tuple):
        return _stored_container(
            value, depth, limits, nulls, isinstance(value, Mapping)
        )
    raise _Unstorable(f"is a {type(value).__name__}, which JSON cannot hold")


def checked_value(key: str, value, action: str, limits: Limits, nulls=None):
    """An attribute value as stored (:func:`stored_value`), refused if JSON or
    a database cannot hold it.

    Parameters
    ----------
    key : str
        The attribute's name, for the message.
    value
        As received.
    action : str
        ``"Save"`` or ``"Update"``, for messages.
    limits : Limits
    nulls : Nulls, optional
        Read NaN as null and count it here (imports); by default NaN is refused.
    """
    try:
        return _stored(value, 0, limits, nulls)
    except _Unstorable as unstorable:
        field = f"attributes.{key}"
        if unstorable.problem is None:
            raise failed(
                action,
                f"'{unstorable.number}' is not a valid value for {key}.",
                field=field,
            ) from None
        raise failed(
            action, f"The value of '{key}' {unstorable.problem}.", field=field
        ) from None


def check_value(key: str, value, action: str, limits: Limits) -> None:
    """Refuse an attribute value that JSON or a database cannot hold."""
    checked_value(key, value, action, limits)


#: Attribute names seen to be letters, digits, ``_`` and ``-`` (a few dozen in
#: a lab; emptied if it grows large).
_GOOD_NAMES: set[str] = set()


def check_attribute_name(key, action: str, limits: Limits) -> None:
    """Refuse an attribute name other than letters, digits, ``_`` and ``-``."""
    if key in _GOOD_NAMES and len(key) <= limits.max_key_length:
        return
    if not isinstance(key, str) or not ATTRIBUTE_NAME.match(key):
        raise failed(
            action,
            f"'{key}' is not a valid attribute name: use only letters, digits, "
            "'_' and '-'.",
            field="attributes",
        )
    if len(key) > limits.max_key_length:
        raise failed(
            action,
            f"The attribute name '{key[:40]}...' is {len(key)} characters long; "
            f"attribute names have at most {limits.max_key_length}.",
            field="attributes",
        )
    if len(_GOOD_NAMES) > 10_000:
        _GOOD_NAMES.clear()
    _GOOD_NAMES.add(key)


def checked_attributes(attributes, action: str, limits: Limits) -> dict:
    """The attributes of a request, every name and value checked.

    Parameters
    ----------
    attributes : Mapping or None
        As received.
    action : str
        ``"Save"`` or ``"Update"``, for messages.
    limits : Limits

    Returns
    -------
    dict
        The same attributes (None becomes an empty dict).
    """
    return checked_and_stored(attributes, action, limits)[0]


def checked_and_stored(
    attributes, action: str, limits: Limits, nulls: Nulls | None = None
) -> tuple[dict, dict]:
    """The attributes of a request, every name and value checked, as given
    and as stored, from one walk of each value.

    Parameters
    ----------
    attributes : Mapping or None
        As received.
    action : str
        ``"Save"`` or ``"Update"``, for messages.
    limits : Limits
    nulls : Nulls, optional
        Read NaN as null and count it here (imports).

    Returns
    -------
    (dict, dict)
        The attributes as given (None becomes an empty dict), and as
        :func:`stored_attributes` stores them, but in the order given (names
        may still be lower-cased; :func:`in_key_order` then).
    """
    if attributes is None:
        return {}, {}
    if not isinstance(attributes, Mapping):
        raise failed(action, "attributes must be a JSON object.", field="attributes")
    stored = {}
    for key, value in attributes.items():
        check_attribute_name(key, action, limits)
        stored[key] = checked_value(key, value, action, limits, nulls)
    return dict(attributes), stored


_STRING_OR_BIG_FLOAT = re.compile(rb'"(?:[^"\\]|\\.)*"|(-?[0-9.]+e\+[0-9]+)')


def _fixed_point(match: re.Match) -> bytes:
    number = match.group(1)
    if number is None:
        return match.group(0)
    return format(Decimal(number.decode()), "f").encode() + b".0"


def json_bytes(value) -> bytes:
    """A JSON document as the store writes it, in UTF-8.

    Floats that JSON writes with a positive exponent (``1e+16``) are written
    in fixed point with a fraction (``10000000000000000.0``): PostgreSQL's
    ``jsonb`` keeps numbers as ``numeric``, which would give ``1e+16`` back as
    the integer ``10000000000000000``.
    """
    data = orjson.dumps(value)
    if b"e+" in data:
        data = _STRING_OR_BIG_FLOAT.sub(_fixed_point, data)
    return data


def json_text(value) -> str:
    """A JSON document as text, as the store writes it (:func:`json_bytes`)."""
    return json_bytes(value).decode()


def attributes_json(attributes: Mapping, action: str, limits: Limits) -> str:
    """Stored attributes as the JSON text the database holds, refused if
    larger than the limit."""
    data = json_bytes(attributes)
    if len(data) > limits.max_attributes_bytes:
        raise failed(
            action,
            f"The attributes are {len(data):,} bytes of JSON; an entity holds at "
            f"most {limits.max_attributes_bytes:,}. Store large data in files "
            "and their paths in attributes.",
            field="attributes",
        )
    return data.decode()


def check_size(attributes: Mapping, action: str, limits: Limits) -> None:
    """Refuse attributes larger than the limit, as JSON text."""
    attributes_json(attributes, action, limits)


def lower_keys(attributes: Mapping) -> dict:
    """Lower-case attribute names (on save); on a collision the later key wins."""
    return {key.lower(): value for key, value in attributes.items()}


def _key_order(key: str) -> tuple:
    """PostgreSQL's order of the keys of a ``jsonb`` object: shorter first (in
    UTF-8 bytes), then by code point."""
    return len(key.encode()), key


def _key_positions(keys: tuple) -> list:
    """The positions of ``keys`` in :func:`_key_order`."""
    return sorted(range(len(keys)), key=lambda i: _key_order(keys[i]))


#: Remembered key positions of objects of at most this many keys: the
#: entities of a type share their attribute names (sorting them for each
#: entity was 4 % of an import), and the memory kept stays small.
_remembered_key_positions = functools.lru_cache(maxsize=1024)(_key_positions)
_REMEMBERED_KEYS = 32


def in_key_order(mapping: Mapping) -> dict:
    """The keys of ``mapping`` in the order PostgreSQL's ``jsonb`` keeps them."""
    keys = tuple(mapping)
    if len(keys) <= _REMEMBERED_KEYS:
        positions = _remembered_key_positions(keys)
    else:
        positions = _key_positions(keys)
    return {keys[i]: mapping[keys[i]] for i in positions}


def stored_value(value):
    """A value as it is stored, the same on both databases: empty lists and
    dicts as null at any depth, tuples as lists, ``-0.0`` as ``0.0`` (which
    PostgreSQL's ``numeric`` cannot tell apart), and object keys in the order
    PostgreSQL's ``jsonb`` keeps them (shorter first, then by code point)."""
    if isinstance(value, Mapping):
        if not value:
            return None
        return {key: stored_value(value[key]) for key in sorted(value, key=_key_order)}
    if isinstance(value, list | tuple):
        if not value:
            return None
        return [stored_value(item) for item in value]
    if isinstance(value, float) and value == 0:
        return 0.0
    return value


def stored_attributes(attributes: Mapping) -> dict:
    """Attributes as they are stored (:func:`stored_value` of each, keys in
    ``jsonb`` order)."""
    return {
        key: stored_value(attributes[key]) for key in sorted(attributes, key=_key_order)
    }


def same_json(first, second) -> bool:
    """Whether two stored values are the same JSON: ``1``, ``1.0`` and
    ``true`` differ (Python's ``==`` says they are equal); the order of
    object keys does not matter."""
    return orjson.dumps(first, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        second, option=orjson.OPT_SORT_KEYS
    )


def merged_attributes(
    current: Mapping | None, given: Mapping, *, allow_nulls: bool
) -> tuple[dict, dict]:
    """An entity's attributes after ``update-one`` merges ``given`` into them.

    Attributes given are set (null included); others are untouched. Empty
    strings are ignored unless ``allow_nulls``.

    Returns
    -------
    (dict, dict)
        The attributes to store (each a :func:`stored_value`, existing names
        first, in the order the lab settings check them; stored in the order
        of :func:`stored_attributes`), and the reply's attributes (the same,
        with the given values echoed as sent: ``[]`` stays ``[]``).
    """
    stored = dict(current or {})
    echoed = dict(stored)
    for key, value in given.items():
        if value == "" and not allow_nulls:
            continue
        stored[key] = stored_value(value)
        echoed[key] = value
    return stored, echoed


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
    if value_type == "path":
        return is_relative_path(value)
    return True


def is_relative_path(value) -> bool:
    """Whether ``value`` is a path below a root: relative, with no ``..``
    (in POSIX or Windows spelling)."""
    if not isinstance(value, str):
        return False
    if value.startswith(("/", "\\")) or re.match(r"\A[A-Za-z]:", value):
        return False
    return ".." not in re.split(r"[\\/]", value)


@dataclass(frozen=True)
class TypeRules:
    """The lab settings of one datatype: its attributes and allowed parents.

    Attributes
    ----------
    name : str
        The datatype.
    attributes : Mapping[str, AttributeRule]
        Rules by attribute name, in the settings' order.
    allowed_parents : tuple of str, optional
        Datatypes an entity of this type may be below; None: any.
    """

    name: str
    attributes: Mapping
    allowed_parents: tuple | None = None


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
                raise failed(
                    action,
                    f"'{key}' is not defined in lab settings.",
                    field=f"attributes.{key}",
                )
    for key, value in attributes.items():
        rule = rules.get(key)
        if rule is not None and not rule.accepts(value):
            allowed = ""
            if rule.allowed_values is not None:
                allowed = " Allowed: " + ", ".join(map(str, rule.allowed_values)) + "."
            elif rule.value_type == "path":
                allowed = f" {PATH_RULE}"
            elif rule.value_type != "any":
                allowed = f" It must be of type {rule.value_type}."
            raise failed(
                action,
                f"'{value}' is not a valid value for {key}.",
                allowed,
                field=f"attributes.{key}",
            )
    if check_required:
        for rule in rules.values():
            if rule.required and attributes.get(rule.name) is None:
                raise failed(
                    action,
                    f"'{rule.name}' is a necessary attribute for {datatype}.",
                    field=f"attributes.{rule.name}",
                )


def check_parent_type(rules: TypeRules, parent_type: str | None, action: str) -> None:
    """Refuse a parent whose type the lab settings do not allow for this type."""
    if parent_type is None or rules.allowed_parents is None:
        return
    if parent_type not in rules.allowed_parents:
        allowed = ", ".join(rules.allowed_parents) or "none"
        raise failed(
            action,
            f"A {rules.name} cannot be below a {parent_type} (the lab settings "
            f"allow: {allowed}).",
            field="origin_id",
        )


def check_no_loop(
    entity_id: str,
    origin_id: str,
    parent_of: Callable[[str], str | None],
    action: str = "Update",
) -> None:
    """Refuse to put ``entity_id`` below ``origin_id`` if that makes a loop.

    Parameters
    ----------
    parent_of : callable
        The parent of an id as the hierarchy will stand (None for a root or an
        unknown id).

    Raises
    ------
    BadRequest
        ``origin_id`` is the entity itself or one of its descendants, or the
        hierarchy above ``origin_id`` already holds a loop (the walk stops at
        the first id it meets twice).
    """
    seen = set()
    ancestor = origin_id
    while ancestor is not None:
        if ancestor == entity_id:
            raise failed(
                action,
                f"Entity {entity_id} cannot move below {origin_id}: that is the "
                "entity itself or one of its descendants.",
                field="origin_id",
            )
        if ancestor in seen:
            raise failed(
                action,
                f"The parents above {origin_id} form a loop (through {ancestor}): "
                "move one of them out first (`flexilims check` lists loops).",
                field="origin_id",
            )
        seen.add(ancestor)
        ancestor = parent_of(ancestor)


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
