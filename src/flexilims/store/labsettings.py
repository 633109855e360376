"""Lab settings: the datatypes a lab uses and the rules for their attributes.

Every write of the settings (:func:`write_settings`) also gives them a new
random *version*, a row of the ``counters`` table named :data:`VERSION`. A
process keeps the rules it read with the version they had
(:class:`RulesCache`); the write path reads the version in the same
statement as its first look-up (:data:`SETTINGS_VERSION`) and reads the
rules again only when it differs. A change of the settings made by any
process or server is so seen by the next write, as when the rules were read
by every write. Whatever changes the tables of the settings must therefore
go through :func:`write_settings` (or call :func:`new_version`); settings
without a version (written before versions existed) are read by every write
until :meth:`flexilims.store.Store.ensure_lab_settings` gives them one.
"""

import copy
import functools
import secrets
from importlib import resources

import sqlalchemy as sa
import yaml

from ..errors import BadRequest, TypeNotDefined
from ..writes import (
    ATTRIBUTE_NAME,
    VALUE_TYPES,
    AttributeRule,
    TypeRules,
    text_problem,
)
from . import models as m


def default_settings() -> dict:
    """The lab settings a new database starts with (``lab_settings.yml``): a
    copy of their one parsing per process."""
    return copy.deepcopy(_parsed_default_settings())


@functools.cache
def _parsed_default_settings() -> dict:
    text = resources.files("flexilims.store").joinpath("lab_settings.yml").read_text()
    return yaml.safe_load(text)


def check_settings(settings: dict) -> None:
    """Refuse lab settings that cannot be applied, naming the faulty entry."""
    datatypes = settings.get("datatypes") if isinstance(settings, dict) else None
    if not isinstance(datatypes, dict) or not datatypes:
        raise BadRequest(
            "Lab settings need a 'datatypes' mapping of at least one type."
        )
    for datatype, definition in datatypes.items():
        if not isinstance(datatype, str) or not ATTRIBUTE_NAME.match(datatype):
            raise BadRequest(
                f"Lab settings: '{datatype}' cannot be a datatype: use letters, "
                "digits, '_' and '-'."
            )
        if len(datatype) > m.datatypes.c.name.type.length:
            raise BadRequest(f"Lab settings: the datatype '{datatype}' is too long.")
        if definition is not None and not isinstance(definition, dict):
            raise BadRequest(f"Lab settings: '{datatype}' must be a mapping.")
        parents = (definition or {}).get("allowed_parents")
        if parents is not None and (
            not isinstance(parents, list)
            or not all(parent in datatypes for parent in parents)
        ):
            raise BadRequest(
                f"Lab settings: allowed_parents of '{datatype}' must be a list of "
                f"datatypes defined in the settings ({', '.join(datatypes)})."
            )
        attributes = (definition or {}).get("attributes") or {}
        if not isinstance(attributes, dict):
            raise BadRequest(
                f"Lab settings: attributes of '{datatype}' must be a mapping."
            )
        for name, rule in attributes.items():
            if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
                raise BadRequest(
                    f"Lab settings: '{datatype}.{name}' is not a valid attribute "
                    "name: use only letters, digits, '_' and '-'."
                )
            if rule is not None and not isinstance(rule, dict):
                raise BadRequest(
                    f"Lab settings: '{datatype}.{name}' must be a mapping of type, "
                    "required and allowed."
                )
            rule = rule or {}
            value_type = rule.get("type", "any")
            if value_type not in VALUE_TYPES:
                raise BadRequest(
                    f"Lab settings: '{datatype}.{name}' has type '{value_type}'; "
                    f"use one of {', '.join(VALUE_TYPES)}."
                )
            allowed = rule.get("allowed")
            if allowed is not None and not isinstance(allowed, list):
                raise BadRequest(
                    f"Lab settings: 'allowed' of '{datatype}.{name}' must be a list."
                )


#: The row of ``counters`` holding the lab settings' version (no datatype can
#: have this name: datatypes are letters, digits, ``_`` and ``-``).
VERSION = "#lab_settings"

#: The lab settings' version, as a column any look-up may add to its rows.
SETTINGS_VERSION = (
    sa.select(m.counters.c.value)
    .where(m.counters.c.name == VERSION)
    .scalar_subquery()
    .label("settings_version")
)


def new_version(conn: sa.Connection) -> None:
    """Give the lab settings a new random version (inside the caller's
    transaction, with the change of the settings)."""
    conn.execute(m.counters.delete().where(m.counters.c.name == VERSION))
    conn.execute(m.counters.insert().values(name=VERSION, value=secrets.randbits(62)))


def ensure_version(conn: sa.Connection) -> None:
    """Give settings written before versions existed a version."""
    if conn.execute(sa.select(SETTINGS_VERSION)).scalar() is None:
        new_version(conn)


def write_settings(conn: sa.Connection, settings: dict) -> None:
    """Replace the lab settings in the database (inside the caller's
    transaction), with a new version."""
    check_settings(settings)
    new_version(conn)
    conn.execute(m.datatype_attributes.delete())
    conn.execute(m.datatypes.delete())
    type_rows, attribute_rows = [], []
    for position, (datatype, definition) in enumerate(settings["datatypes"].items()):
        definition = definition or {}
        type_rows.append(
            {
                "name": datatype,
                "position": position,
                "project_scoped": definition.get("project_scoped", True),
                "description": definition.get("description"),
                "allowed_parents": definition.get("allowed_parents"),
            }
        )
        attributes = definition.get("attributes") or {}
        for index, (name, rule) in enumerate(attributes.items()):
            rule = rule or {}
            attribute_rows.append(
                {
                    "datatype": datatype,
                    "name": name,
                    "position": index,
                    "value_type": rule.get("type", "any"),
                    "required": bool(rule.get("required", False)),
                    "allowed_values": rule.get("allowed"),
                    "description": rule.get("description"),
                }
            )
    conn.execute(m.datatypes.insert(), type_rows)
    if attribute_rows:
        conn.execute(m.datatype_attributes.insert(), attribute_rows)


def read_settings(conn: sa.Connection) -> dict:
    """The lab settings, in the YAML file's shape."""
    datatypes = {}
    for row in conn.execute(sa.select(m.datatypes).order_by(m.datatypes.c.position)):
        datatypes[row.name] = {"project_scoped": row.project_scoped}
        if row.description:
            datatypes[row.name]["description"] = row.description
        if row.allowed_parents is not None:
            datatypes[row.name]["allowed_parents"] = row.allowed_parents
        datatypes[row.name]["attributes"] = {}
    query = sa.select(m.datatype_attributes).order_by(
        m.datatype_attributes.c.datatype, m.datatype_attributes.c.position
    )
    for row in conn.execute(query):
        rule = {"type": row.value_type}
        if row.required:
            rule["required"] = True
        if row.allowed_values is not None:
            rule["allowed"] = row.allowed_values
        if row.description:
            rule["description"] = row.description
        datatypes[row.datatype]["attributes"][row.name] = rule
    return {"datatypes": datatypes}


def rules_of(conn: sa.Connection, datatypes) -> dict[str, TypeRules]:
    """The lab settings of several datatypes, in one query.

    Returns
    -------
    dict
        :class:`~flexilims.writes.TypeRules` by datatype; undefined datatypes
        (and names no database can hold) are left out.
    """
    names = _storable_names(datatypes)
    if not names:
        return {}
    return _rules(conn.execute(RULES_QUERY, {"datatypes": names}))


def _storable_names(datatypes) -> list[str]:
    return sorted(
        {
            name
            for name in datatypes
            if isinstance(name, str) and text_problem(name) is None
        }
    )


def _rules(rows) -> dict[str, TypeRules]:
    """Rules by datatype, from rows of :data:`RULES_QUERY`'s columns."""
    found: dict[str, TypeRules] = {}
    for row in rows:
        rules = found.get(row.name)
        if rules is None:
            parents = row.allowed_parents
            rules = found[row.name] = TypeRules(
                row.name, {}, tuple(parents) if parents is not None else None
            )
        if row.attribute is not None:
            rules.attributes[row.attribute] = AttributeRule(
                name=row.attribute,
                value_type=row.value_type,
                required=row.required,
                allowed_values=(
                    tuple(row.allowed_values)
                    if row.allowed_values is not None
                    else None
                ),
            )
    return found


_RULE_COLUMNS = (
    m.datatypes.c.name,
    m.datatypes.c.allowed_parents,
    m.datatype_attributes.c.name.label("attribute"),
    m.datatype_attributes.c.value_type,
    m.datatype_attributes.c.required,
    m.datatype_attributes.c.allowed_values,
)
_RULE_TABLES = m.datatypes.outerjoin(
    m.datatype_attributes, m.datatype_attributes.c.datatype == m.datatypes.c.name
)
_RULE_ORDER = (m.datatypes.c.name, m.datatype_attributes.c.position)

#: The rules of some datatypes (a row per attribute, one with a null attribute
#: for a type without attributes); built once, bound per request.
RULES_QUERY = (
    sa.select(*_RULE_COLUMNS)
    .select_from(_RULE_TABLES)
    .where(m.datatypes.c.name.in_(sa.bindparam("datatypes", expanding=True)))
    .order_by(*_RULE_ORDER)
)

#: The rules of every datatype with the settings' version, in one statement
#: (one state of the database: the version is that of these rules).
ALL_RULES_QUERY = (
    sa.select(*_RULE_COLUMNS, SETTINGS_VERSION)
    .select_from(_RULE_TABLES)
    .order_by(*_RULE_ORDER)
)


class RulesCache:
    """The rules of every datatype as a process last read them, with their
    version (see the module's docstring); one per store."""

    def __init__(self):
        #: (version, rules by datatype), replaced as a whole.
        self.entry: tuple[int | None, dict[str, TypeRules]] = (None, {})

    def rules_of(self, conn: sa.Connection, datatypes, versions=()) -> dict:
        """As :func:`rules_of`, from the cache when every one of ``versions``
        (the settings' versions the transaction read) is the cached one;
        otherwise read (with their version) and kept."""
        names = _storable_names(datatypes)
        if not names:
            return {}
        version, rules = self.entry
        if version is None or set(versions) != {version}:
            rows = conn.execute(ALL_RULES_QUERY).all()
            rules = _rules(rows)
            self.entry = (rows[0].settings_version if rows else None, rules)
        return {name: rules[name] for name in names if name in rules}


def datatype_names(conn: sa.Connection) -> list[str]:
    """Names of the defined datatypes, in settings order."""
    query = sa.select(m.datatypes.c.name).order_by(m.datatypes.c.position)
    return list(conn.execute(query).scalars())


def type_not_defined(conn: sa.Connection, datatype, message: str) -> TypeNotDefined:
    """The refusal of an undefined ``datatype``, in the protocol's ``message``,
    naming the defined types."""
    if not isinstance(datatype, str):
        datatype = None if datatype is None else str(datatype)
    return TypeNotDefined(message, datatype=datatype, defined=datatype_names(conn))


def is_project_scoped(conn: sa.Connection, datatype: str) -> bool | None:
    """Whether queries for ``datatype`` need a project; None if it is not defined."""
    query = sa.select(m.datatypes.c.project_scoped).where(
        m.datatypes.c.name == datatype
    )
    return conn.execute(query).scalar_one_or_none()


# ------------------------------------------------- loading a new version

#: The keys of a lab settings file, at each level (for warnings about typos).
SETTINGS_KEYS = ("datatypes",)
DATATYPE_KEYS = ("project_scoped", "description", "allowed_parents", "attributes")
ATTRIBUTE_KEYS = ("type", "required", "allowed", "description")


def unknown_keys(settings) -> list[tuple[str, str, str | None]]:
    """Keys of a lab settings file that mean nothing (typos, most often).

    Returns
    -------
    list of (str, str, str or None)
        Where the key is (``datatypes.mouse``), the key, and the closest
        known key if one is close.
    """
    import difflib

    found = []

    def check(place, mapping, known):
        if not isinstance(mapping, dict):
            return
        for key in mapping:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                found.append((place, str(key), close[0] if close else None))

    check("", settings, SETTINGS_KEYS)
    datatypes = settings.get("datatypes") if isinstance(settings, dict) else None
    for datatype, definition in (datatypes or {}).items():
        check(f"datatypes.{datatype}", definition, DATATYPE_KEYS)
        attributes = (definition or {}).get("attributes")
        for name, rule in (attributes if isinstance(attributes, dict) else {}).items():
            check(f"datatypes.{datatype}.attributes.{name}", rule, ATTRIBUTE_KEYS)
    return found


def _normalized(settings: dict) -> dict:
    """Settings with every default spelled out, so that equal rules compare
    equal whether a file states a default or leaves it out."""
    result = {}
    for datatype, definition in (settings.get("datatypes") or {}).items():
        definition = definition or {}
        attributes = {}
        for name, rule in (definition.get("attributes") or {}).items():
            rule = rule or {}
            attributes[name] = {
                "type": rule.get("type", "any"),
                "required": bool(rule.get("required", False)),
                "allowed": rule.get("allowed"),
                "description": rule.get("description"),
            }
        result[datatype] = {
            "project_scoped": definition.get("project_scoped", True),
            "description": definition.get("description"),
            "allowed_parents": definition.get("allowed_parents"),
            "attributes": attributes,
        }
    return result


def compare_settings(old: dict, new: dict) -> list[dict]:
    """What loading ``new`` over ``old`` adds, changes and removes.

    Returns
    -------
    list of dict
        ``change`` (``add``, ``change`` or ``remove``), ``datatype``,
        ``attribute`` (None for the datatype itself) and ``detail`` (what
        differs, for changes: ``key: old → new``).
    """
    old, new = _normalized(old), _normalized(new)
    found = []

    def record(change, datatype, attribute=None, detail=""):
        found.append(
            {
                "change": change,
                "datatype": datatype,
                "attribute": attribute,
                "detail": detail,
            }
        )

    def differences(before: dict, after: dict, skip=()) -> str:
        return "; ".join(
            f"{key}: {before[key]} → {after[key]}"
            for key in before
            if key not in skip and before[key] != after[key]
        )

    for datatype, definition in new.items():
        if datatype not in old:
            count = len(definition["attributes"])
            record(
                "add", datatype, detail=f"{count} attribute{'' if count == 1 else 's'}"
            )
            continue
        detail = differences(old[datatype], definition, skip=("attributes",))
        if detail:
            record("change", datatype, detail=detail)
        before, after = old[datatype]["attributes"], definition["attributes"]
        for name, rule in after.items():
            if name not in before:
                record("add", datatype, name, f"type {rule['type']}")
            elif rule != before[name]:
                record("change", datatype, name, differences(before[name], rule))
        for name in before:
            if name not in after:
                record("remove", datatype, name)
    for datatype in old:
        if datatype not in new:
            record("remove", datatype)
    return found


def datatype_usage(conn: sa.Connection, datatypes) -> dict[str, int]:
    """How many entities each of ``datatypes`` has, in one query (types
    without entities are left out)."""
    names = sorted(set(datatypes))
    if not names:
        return {}
    e = m.entities
    query = (
        sa.select(e.c.type, sa.func.count())
        .where(e.c.type.in_(names))
        .group_by(e.c.type)
    )
    return {datatype: count for datatype, count in conn.execute(query).all()}
