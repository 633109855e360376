"""Property tests of the one write path, on SQLite and PostgreSQL at once.

Hypothesis makes names and attribute dictionaries of every awkward kind
(unicode, NUL bytes, lone surrogates, integers beyond 64 bits, NaN and
infinities, floats PostgreSQL's ``numeric`` would turn into integers, long
names and keys, deep nesting, near the size limit) and writes each through
the protocol's operations (:func:`flexilims.dispatch.call`, as the server and
the in-process session do), on every backend at hand:

- what the rules of :mod:`flexilims.writes` accept comes back from ``get``
  exactly as they say it is stored (same JSON text: types, float signs and
  key order included), and the reply echoes it as sent;
- what they refuse raises their error, with their message, and writes nothing
  (every table's row count and the counters unchanged);
- SQLite and PostgreSQL give the same outcome for every input;
- every refusal renders as an error reply (never a 5xx).

PostgreSQL joins when ``FLEXILIMS_TEST_POSTGRES_URL`` is set. Each property
tries the hypothesis profile's number of inputs (``HYPOTHESIS_PROFILE``, see
``tests/conftest.py``).
"""

import math
import os
import secrets
from dataclasses import dataclass

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import assume, given, note
from hypothesis import strategies as st

from flexilims import dispatch
from flexilims.errors import BadRequest, FlexilimsError
from flexilims.server.errors import error_response
from flexilims.store import Actor, Store, labsettings
from flexilims.store import models as m
from flexilims.store.accounts import Accounts
from flexilims.writes import (
    INT_MAX,
    INT_MIN,
    Limits,
    check_name,
    check_size,
    checked_attributes,
    lower_keys,
    merged_attributes,
    stored_attributes,
    validate_attributes,
)

DATATYPE = "sample"
ACTOR = Actor("fuzz", "Fuzz Tester", is_admin=True)
LIMITS = Limits()

# ------------------------------------------------------------- strategies

#: Any code point, lone surrogates included (hypothesis leaves them out).
ANY_CHARACTER = st.characters(exclude_categories=())
AWKWARD_CHARACTERS = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\n", "é", "🐭", "\u200b", "\ufeff", "\\", '"']
)
TEXT = st.text(st.one_of(ANY_CHARACTER, AWKWARD_CHARACTERS), max_size=12)


def long_text(lengths):
    """Text of lengths around a limit, in one- to four-byte characters."""
    return st.builds(
        lambda char, length: char * length,
        st.sampled_from(["x", "é", "✓", "🐭"]),
        st.sampled_from(lengths),
    )


INTEGERS = st.one_of(
    st.integers(),
    st.sampled_from(
        [INT_MAX, INT_MAX + 1, INT_MIN, INT_MIN - 1, 2**64 - 1, 2**64, 10**30, -(2**70)]
    ),
)
FLOATS = st.one_of(
    st.floats(),
    st.sampled_from(
        [
            -0.0,
            1e16,
            -1e17,
            1.5e17,
            1e19,
            1e300,
            1.7976931348623157e308,
            5e-324,
            2.5e-310,
            1e-7,
            0.1,
            123456789.0,
        ]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INTEGERS,
    FLOATS,
    TEXT,
    long_text([1, 199, 200, 201, 1000]),
)
NESTED_KEYS = st.one_of(TEXT, long_text([200, 201, 500]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(NESTED_KEYS, inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def deep(draw):
    """A value nested around the depth limit, in lists or objects."""
    depth = draw(st.sampled_from([LIMITS.max_depth - 1, LIMITS.max_depth, 300]))
    value = draw(SCALARS)
    # One draw for the whole shape (a draw per level made this strategy most
    # of the properties' time): bit i says whether level i is a list or an
    # object, and shrinking goes towards objects only.
    shape = draw(st.integers(0, 2**depth - 1))
    for level in range(depth):
        value = [value] if shape >> level & 1 else {"k": value}
    return value


@dataclass(frozen=True)
class Big:
    """A string of ``size`` characters about as large as the attributes' limit,
    made only when written (so that a failing example prints short)."""

    size: int


def inflated(value):
    """``value`` with every :class:`Big` made a string."""
    if isinstance(value, Big):
        return "x" * value.size
    if isinstance(value, dict):
        return {key: inflated(item) for key, item in value.items()}
    if isinstance(value, list):
        return [inflated(item) for item in value]
    return value


NEAR_SIZE_LIMIT = st.builds(
    Big, st.integers(-40, 10).map(lambda delta: LIMITS.max_attributes_bytes + delta)
)


ATTRIBUTE_NAMES = st.one_of(
    st.from_regex(r"\A[A-Za-z0-9_\-]{1,12}\Z"),
    st.sampled_from(["sample_type", "path", "genealogy", "Path", "PATH", "a\n", ""]),
    long_text([199, 200, 201]).map(lambda key: key.replace("é", "e")),
    TEXT,
)
ATTRIBUTES = st.dictionaries(
    ATTRIBUTE_NAMES,
    st.one_of(VALUES, VALUES, VALUES, deep(), NEAR_SIZE_LIMIT),
    max_size=5,
)
NAMES = st.one_of(
    TEXT,
    long_text([499, 500, 501]),
    st.sampled_from(["", " ", "\t\n", "M1", "PZAH6.4b_S20210513"]),
    st.none(),
    st.integers(),
)

# --------------------------------------------------------------- backends


@dataclass
class Backend:
    """One database under test, with a project per example."""

    name: str
    store: Store
    rules: object = None

    def new_project(self, name: str) -> str:
        return Accounts(self.store).create_project(name).id

    def call(self, operation, params=None, body=None):
        """The outcome of a request: ``("ok", reply)`` or ``("refused",
        message)``, after checking that the refusal renders as a 4xx."""
        try:
            return "ok", dispatch.call(self.store, ACTOR, operation, params or {}, body)
        except FlexilimsError as error:
            response = error_response(error)
            assert 400 <= response.status_code < 500, error
            return "refused", error.message

    def counts(self) -> dict:
        """Rows per table and the counters: what a refusal must leave alone."""
        with self.store.read() as conn:
            counts = {
                table.name: conn.execute(
                    sa.select(sa.func.count()).select_from(table)
                ).scalar_one()
                for table in m.metadata.sorted_tables
            }
            counts["counters"] = sorted(conn.execute(sa.select(m.counters)).all())
        return counts


@pytest.fixture(scope="module")
def backends(sqlite_url, request):
    """SQLite, and PostgreSQL when the environment names a server."""
    urls = {"sqlite": sqlite_url}
    if os.environ.get("FLEXILIMS_TEST_POSTGRES_URL"):
        urls["postgres"] = request.getfixturevalue("postgres_url")
    found = []
    for name, url in urls.items():
        store = Store.open(url)
        with store.read() as conn:
            rules = labsettings.rules_of(conn, [DATATYPE])[DATATYPE]
        found.append(Backend(name, store, rules))
    yield found
    for backend in found:
        backend.store.engine.dispose()


def new_project_name() -> str:
    """A project name of one example, the same on every backend (messages
    name it)."""
    return f"properties-{secrets.token_hex(8)}"


def same_json(reply, expected) -> bool:
    """Equal as JSON text: types, float signs and key order included."""
    return orjson.dumps(reply) == orjson.dumps(expected)


def one_outcome(outcomes: dict):
    """The outcome all backends agree on."""
    distinct = {repr(outcome) for outcome in outcomes.values()}
    assert len(distinct) == 1, f"the backends disagree: {outcomes}"
    return next(iter(outcomes.values()))


# ------------------------------------------------------------------ rules


def rules_on_save(name, attributes, rules):
    """What the rules say of a save: ``(sent, stored)`` or the refusal."""
    try:
        check_name(DATATYPE, name, "Save", LIMITS)
        sent = lower_keys(checked_attributes(attributes, "Save", LIMITS))
        validate_attributes(
            DATATYPE,
            sent,
            rules.attributes,
            strict=False,
            action="Save",
            check_required=True,
        )
        stored = stored_attributes(sent)
        check_size(stored, "Save", LIMITS)
    except BadRequest as error:
        return "refused", error.message
    return "ok", (sent, stored)


def rules_on_update(current, change, allow_nulls, rules):
    """What the rules say of an update-one: ``(echoed, stored)`` or the refusal."""
    try:
        given = checked_attributes(change, "Update", LIMITS)
        merged, echoed = merged_attributes(current, given, allow_nulls=allow_nulls)
        validate_attributes(
            DATATYPE,
            merged,
            rules.attributes,
            strict=False,
            action="Update",
            check_required=False,
        )
        check_size(merged, "Update", LIMITS)
        stored = stored_attributes(merged)
    except BadRequest as error:
        return "refused", error.message
    return "ok", (echoed, stored)


def nesting(value) -> int:
    """Levels of lists and objects in ``value``."""
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    return 0


def storable(value) -> bool:
    """Whether strict JSON and both databases can hold ``value`` (a check of
    the rules made without them)."""
    if isinstance(value, str):
        return "\x00" not in value and not any(
            0xD800 <= ord(c) <= 0xDFFF for c in value
        )
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return INT_MIN <= value <= INT_MAX
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(storable(item) for item in value)
    return all(storable(key) and storable(item) for key, item in value.items())


# ------------------------------------------------------------ properties


@pytest.mark.slow
@given(name=NAMES, attributes=ATTRIBUTES)
def test_a_save_stores_what_the_rules_say_or_nothing(backends, name, attributes):
    attributes = inflated(attributes)
    expected = rules_on_save(name, attributes, backends[0].rules)
    note(f"the rules say: {expected[0]}")
    outcomes, project = {}, new_project_name()
    for backend in backends:
        project_id = backend.new_project(project)
        before = backend.counts()
        body = {
            "type": DATATYPE,
            "name": name,
            "project_id": project_id,
            "attributes": attributes,
        }
        status, reply = backend.call("save", {}, body)
        if expected[0] == "refused":
            assert (status, reply) == expected, backend.name
            assert backend.counts() == before, f"{backend.name} wrote a refused save"
            outcomes[backend.name] = expected
            continue
        sent, stored = expected[1]
        assert status == "ok", f"{backend.name}: {reply}"
        assert (
            storable(stored)
            and len(orjson.dumps(stored)) <= LIMITS.max_attributes_bytes
        )
        assert all(nesting(value) <= LIMITS.max_depth for value in stored.values())
        assert reply["name"] == name
        assert same_json(reply["attributes"], sent), backend.name
        by_id = backend.call("get", {"id": reply["id"]})[1]
        by_name = backend.call(
            "get", {"type": DATATYPE, "project_id": project_id, "name": name}
        )[1]
        assert [e["id"] for e in by_name] == [reply["id"]], backend.name
        assert by_id[0]["name"] == name
        assert same_json(by_id[0]["attributes"], stored), (
            f"{backend.name} gave back {by_id[0]['attributes']!r}"
        )
        outcomes[backend.name] = ("ok", orjson.dumps(by_id[0]["attributes"]))
    one_outcome(outcomes)


@pytest.mark.slow
@given(
    original=ATTRIBUTES,
    change=ATTRIBUTES,
    allow_nulls=st.booleans(),
    rename=st.one_of(st.none(), NAMES),
)
def test_an_update_stores_what_the_rules_say_or_nothing(
    backends, original, change, allow_nulls, rename
):
    original, change = inflated(original), inflated(change)
    first = rules_on_save("E1", original, backends[0].rules)
    assume(first[0] == "ok")
    outcomes, project = {}, new_project_name()
    for backend in backends:
        project_id = backend.new_project(project)
        body = {"type": DATATYPE, "name": "E1", "project_id": project_id}
        saved = backend.call("save", {}, {**body, "attributes": original})[1]
        current = backend.call("get", {"id": saved["id"]})[1][0]
        expected = rules_on_update(
            current["attributes"], change, allow_nulls, backend.rules
        )
        if expected[0] == "ok" and rename is not None:
            try:
                check_name(DATATYPE, rename, "Update", LIMITS)
            except BadRequest as error:
                expected = "refused", error.message
        before = backend.counts()
        change_body = {"attributes": change}
        if rename is not None:
            change_body["name"] = rename
        params = {
            "type": DATATYPE,
            "id": saved["id"],
            "allow_nulls": str(allow_nulls).lower(),
        }
        status, reply = backend.call("update-one", params, change_body)
        after = backend.call("get", {"id": saved["id"]})[1][0]
        if expected[0] == "refused":
            assert (status, reply) == expected, backend.name
            assert backend.counts() == before, f"{backend.name} wrote a refused update"
            assert after == current
            outcomes[backend.name] = expected
            continue
        echoed, stored = expected[1]
        assert status == "ok", f"{backend.name}: {reply}"
        assert same_json(reply["attributes"], echoed), backend.name
        assert same_json(after["attributes"], stored), (
            f"{backend.name} gave back {after['attributes']!r}"
        )
        assert after["name"] == (rename if rename is not None else "E1")
        outcomes[backend.name] = ("ok", orjson.dumps(reply), orjson.dumps(after))
    one_outcome(
        {
            name: (outcome[0], _without_ids(outcome))
            for name, outcome in outcomes.items()
        }
    )


def _without_ids(outcome):
    """An outcome without what differs by nature (ids, dates, projects)."""
    if outcome[0] != "ok":
        return outcome[1]
    return [
        {
            key: value
            for key, value in orjson.loads(text).items()
            if key not in ("id", "project", "dateCreated", "dateUpdated")
        }
        for text in outcome[1:]
    ]


UPDATE_KEYS = st.one_of(ATTRIBUTE_NAMES, st.sampled_from(["", "x"]))


@pytest.mark.slow
@given(key=UPDATE_KEYS, value=st.one_of(TEXT, long_text([10, 1000])))
def test_update_many_sets_what_the_rules_allow_or_nothing(backends, key, value):
    outcomes, project = {}, new_project_name()
    for backend in backends:
        project_id = backend.new_project(project)
        ids = []
        for name in ("A", "B"):
            body = {"type": DATATYPE, "name": name, "project_id": project_id}
            ids.append(backend.call("save", {}, body)[1]["id"])
        before = backend.counts()
        params = {
            "type": DATATYPE,
            "project_id": project_id,
            "update_key": key,
            "update_value": value,
        }
        status, reply = backend.call("update-many", params)
        if status == "refused":
            assert backend.counts() == before, f"{backend.name} wrote a refusal"
        else:
            for entity_id in ids:
                found = backend.call("get", {"id": entity_id})[1][0]
                # update-many writes empty strings (allow_nulls) and keeps the
                # key's case (an update).
                assert same_json(found["attributes"], {key: value}), backend.name
        outcomes[backend.name] = (status, reply)
    one_outcome(outcomes)


GET_TEXT = st.one_of(
    TEXT, long_text([200, 501, 2000]), st.from_regex(r"\A-?[0-9]{1,25}\Z")
)


@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "query_key",
                "query_value",
                "created_by",
                "offset",
                "limit",
                "date_created",
                "date_created_operator",
                "cross_project_entity",
            ]
        ),  # fmt: skip
        GET_TEXT,
        max_size=4,
    )
)
def test_any_get_is_answered_alike_by_every_backend(backends, params):
    outcomes, project = {}, new_project_name()
    for backend in backends:
        project_id = backend.new_project(project)
        body = {"type": DATATYPE, "name": "M1", "project_id": project_id}
        backend.call("save", {}, {**body, "attributes": {"x": "1"}})
        query = {"type": DATATYPE, "project_id": project_id, **params}
        status, reply = backend.call("get", query)
        if status == "ok":
            reply = [entity["name"] for entity in reply]
        outcomes[backend.name] = (status, reply)
    one_outcome(outcomes)


EXISTING = {"x": 1, "sample_type": "brain", "z": [1.5]}


@pytest.mark.slow
@given(
    operations=st.lists(
        st.fixed_dictionaries(
            {"name": st.one_of(NAMES, st.just("M1")), "attributes": ATTRIBUTES},
            optional={
                "ref": TEXT,
                "op": st.sampled_from(["create", "update", "x"]),
                "conflicts": st.sampled_from(["abort", "skip", "update", "overwrite"]),
            },
        ),
        min_size=1,
        max_size=3,
    ),
    conflicts=st.sampled_from(["abort", "skip", "update", "overwrite"]),
    allow_nulls=st.booleans(),
)
def test_a_batch_is_all_or_nothing_alike_on_every_backend(
    backends, operations, conflicts, allow_nulls
):
    """Creations, and updates of an existing ``M1`` by the conflicts modes."""
    operations = inflated(operations)
    outcomes, project = {}, new_project_name()
    for backend in backends:
        project_id = backend.new_project(project)
        existing = {"type": DATATYPE, "name": "M1", "project_id": project_id}
        backend.call("save", {}, {**existing, "attributes": EXISTING})
        before = backend.counts()
        body = {"operations": [{"type": DATATYPE, **op} for op in operations]}
        params = {
            "project_id": project_id,
            "conflicts": conflicts,
            "allow_nulls": str(allow_nulls).lower(),
        }
        status, reply = backend.call("batch", params, body)
        if status == "refused":
            assert backend.counts() == before, f"{backend.name} wrote a refused batch"
        else:
            orjson.dumps(reply)  # the reply can be sent
            found = {}
            for result in reply["results"]:
                entity = backend.call("get", {"id": result["id"]})[1][0]
                found[result["index"]] = orjson.dumps(entity["attributes"])
                if result["status"] == "created":
                    given_attributes = operations[result["index"]]["attributes"]
                    stored = stored_attributes(lower_keys(given_attributes))
                    assert found[result["index"]] == orjson.dumps(stored), backend.name
            reply = [
                (r["status"], r["name"], found[r["index"]]) for r in reply["results"]
            ]
        outcomes[backend.name] = (status, reply)
    one_outcome(outcomes)
