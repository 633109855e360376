"""Reading the hierarchy: entities as DataFrames, ids, paths, datasets.

Part of the flexiznam API; import these from :mod:`flexiznam.main`.
"""

import os
from pathlib import Path

from flexilims.errors import NotFound

from ..errors import FlexilimsError, NameNotUniqueError, translated
from ..sessions import get_flexilims_session
from .frames import entity_frame, entity_series
from .paths import get_data_root

#: Fields of a Flexilims reply; an attribute may not share their names.
RESERVED_NAMES = (
    "id",
    "type",
    "name",
    "incrementalId",
    "createdBy",
    "dateCreated",
    "dateUpdated",
    "origin_id",
    "objects",
    "customEntities",
    "project",
)


def _session(flexilims_session, project_id):
    if flexilims_session is not None:
        return flexilims_session
    if project_id is None:
        raise AttributeError("Provide a flexilims_session or a project_id.")
    return get_flexilims_session(project_id)


def _flat_rows(results) -> list[dict]:
    """Entities with their attributes beside their fields, one dict each."""
    rows = []
    for result in results:
        row = {k: v for k, v in result.items() if k != "attributes"}
        for attr_name, attr_value in (result.get("attributes") or {}).items():
            if attr_name in RESERVED_NAMES or attr_name in row:
                raise FlexilimsError(
                    f"An entity should not have {attr_name} as attribute: "
                    f"{result.get('name')} ({result.get('id')}) has one. Rename it."
                )
            row[attr_name] = attr_value
        rows.append(row)
    return rows


def format_results(results):
    """Make request output a nice DataFrame

    Attributes become columns beside the entity's fields. This will crash if
    any attribute is also present in the flexilims reply, i.e. if an attribute
    is named: 'id', 'type', 'name', 'incrementalId', 'createdBy',
    'dateCreated', 'origin_id', 'objects', 'customEntities', or 'project'

    Parameters
    ----------
    results : list of dict
        Flexilims reply

    Returns
    -------
    pandas.DataFrame
        Reply formatted as a DataFrame
    """
    return entity_frame(_flat_rows(results))


def format_entity(entity: dict):
    """One entity as :func:`format_results` would give its row: a
    pandas.Series named 0."""
    return entity_series(_flat_rows([entity])[0])


def _indexed_by_name(results):
    """:func:`format_results` indexed by name (the name kept as a column)."""
    return entity_frame(_flat_rows(results), index_by_name=True)


@translated()
def get_entities(
    datatype="mouse",
    query_key=None,
    query_value=None,
    project_id=None,
    flexilims_session=None,
    name=None,
    origin_id=None,
    id=None,
    format_reply=True,
):
    """Get entities of a given type and format results.

    Entities can be filtered by name, id, origin, or attribute (using the
    ``query_key`` / ``query_value`` arguments).

    Parameters
    ----------
    datatype : str
        type of Flexylims entity to fetch, e.g. 'mouse', 'session',
        'recording', or 'dataset'. This is the only mandatory argument.
    query_key : str
        attribute to filter by.
    query_value : str
        attribute value to select
    project_id : str
        text name of the project. Either project_id or flexilims_session must
        be provided.
    flexilims_session : flexilims.Flexilims
        Flexylims session object. This is preferred to providing project_id as
        it avoids creating new authentication tokens.
    name : str
        filter by name
    origin_id : str
        filter by origin / parent
    id : str
        filter by hexadecimal id
    format_reply : bool
        (default True) whether to format the reply into a Dataframe. If this
        is set to false, a list of dictionaries will be returned instead.

    Returns
    -------
    pandas.DataFrame
        containing all matching entities, indexed by name
    """
    session = _session(flexilims_session, project_id)
    results = session.get(
        datatype,
        query_key=query_key,
        query_value=query_value,
        name=name,
        origin_id=origin_id,
        id=id,
    )
    if not format_reply:
        return results
    return _indexed_by_name(results)


@translated()
def get_entity(
    datatype=None,
    query_key=None,
    query_value=None,
    project_id=None,
    flexilims_session=None,
    name=None,
    origin_id=None,
    id=None,
    format_reply=True,
):
    """Get one entity and format result.

    Calls :func:`get_entities` but expects only one result and returns a
    pandas.Series instead of a pandas.DataFrame. If multiple entities on the
    database match the query, raise a
    :class:`flexiznam.errors.NameNotUniqueError`, if nothing matches returns
    None. Without ``datatype``, a search by name or id runs over every type.

    Returns
    -------
    pandas.Series or dict or None
        the entity, or its dictionary if format_reply is False
    """
    filters = {
        key: value
        for key, value in (
            ("datatype", datatype),
            ("name", name),
            ("id", id),
            ("origin_id", origin_id),
            (query_key, query_value),
        )
        if key is not None and value is not None
    }
    if not filters.keys() - {"datatype"}:
        raise AttributeError(
            "get_entity finds one entity: give its name, id, origin_id or an "
            "attribute (query_key and query_value); get_entities lists many."
        )
    entities = get_entities(
        datatype=datatype,
        query_key=query_key,
        query_value=query_value,
        project_id=project_id,
        flexilims_session=flexilims_session,
        name=name,
        origin_id=origin_id,
        id=id,
        format_reply=False,
    )
    if not entities:
        return None
    if len(entities) != 1:
        asked = ", ".join(f"{key}={value!r}" for key, value in filters.items())
        types = sorted({entity["type"] for entity in entities})
        if datatype is None and len(types) > 1:
            hint = f"they are of types {', '.join(types)}: give the datatype"
        else:
            hint = "narrow the query, or use get_entities to get them all"
        raise NameNotUniqueError(f"{len(entities)} entities match {asked}: {hint}.")
    if not format_reply:
        return entities[0]
    return format_entity(entities[0])


def not_found(datatype=None, name=None, id=None) -> FlexilimsError:
    """The error of an entity that is not there, saying what was looked for."""
    words = ["Cannot find", f"a {datatype}" if datatype else "an entity"]
    words += [f"named {name}"] if name is not None else []
    words += [f"with id {id}"] if id is not None else []
    return FlexilimsError(" ".join(words) + " in the project.")


def _named_entity(name, datatype, project_id, flexilims_session) -> dict:
    """The entity of a type and name (as a dict); FlexilimsError if none."""
    entity = get_entity(
        datatype=datatype,
        name=name,
        project_id=project_id,
        flexilims_session=flexilims_session,
        format_reply=False,
    )
    if entity is None:
        raise FlexilimsError(f"Cannot find {datatype} {name}")
    return entity


@translated()
def get_id(name, datatype="mouse", project_id=None, flexilims_session=None):
    """Get database ID for entity by name

    Raises
    ------
    FlexilimsError
        if no entity of that type has that name.
    """
    return _named_entity(name, datatype, project_id, flexilims_session)["id"]


@translated()
def get_path(name, datatype="mouse", project_id=None, flexilims_session=None):
    """Get the ``path`` attribute of an entity by name

    Raises
    ------
    FlexilimsError
        if no entity of that type has that name.
    """
    entity = _named_entity(name, datatype, project_id, flexilims_session)
    return entity["attributes"].get("path")


@translated()
def get_datatype(name=None, id=None, project_id=None, flexilims_session=None):
    """Return the datatype of the entity with a matching name or id.

    One request searches every datatype.

    Warning
    -------
    If there are multiple matches, will return only the first one found!

    Returns
    -------
    str or None
        datatype of the matching entity, None if nothing matches.
    """
    if name is None and id is None:
        raise AttributeError("Provide a name or an id.")
    session = _session(flexilims_session, project_id)
    results = session.get(None, name=name, id=id)
    return results[0]["type"] if results else None


@translated()
def get_children(
    parent_id,
    children_datatype,
    project_id=None,
    flexilims_session=None,
    parent_name=None,
    filter=None,
):
    """Get all entries belonging to a particular parent entity

    Parameters
    ----------
    parent_id : str or None
        hexadecimal id of the parent entity (None when ``parent_name`` is
        given)
    children_datatype : str or None
        type of child entities to fetch (None: every type)
    project_id : str
        text name of the project
    flexilims_session : flexilims.Flexilims
        Flexylims session object
    parent_name : str, optional
        the parent by name instead of id (one more request, to find its id)
    filter : dict, optional
        attribute values the children must have (``{"dataset_type":
        "scanimage", "is_raw": "no"}``); an entity field such as ``name`` may
        be given too. A child without one of the attributes does not match.

    Returns
    -------
    pandas.DataFrame
        containing all the relevant child entities, indexed by name (empty
        when none matches)

    Raises
    ------
    FlexilimsError
        if no entity is named ``parent_name``.
    NameNotUniqueError
        if entities of several types are named ``parent_name``.
    """
    session = _session(flexilims_session, project_id)
    parent_id = _parent_id(session, parent_id, parent_name)
    if children_datatype is None:
        results = session.get_children(parent_id)
    else:
        results = session.get(children_datatype, origin_id=parent_id)
    if filter:
        results = [entity for entity in results if matches(entity, filter)]
    return _indexed_by_name(results)


def _parent_id(session, parent_id, parent_name) -> str:
    """The id of a parent given by id or by name (exactly one of them)."""
    if (parent_id is None) == (parent_name is None):
        raise AttributeError(
            "Give the parent's id or its name (parent_name), not both."
        )
    if parent_id is not None:
        return parent_id
    parent = get_entity(name=parent_name, flexilims_session=session, format_reply=False)
    if parent is None:
        raise FlexilimsError(
            f"Cannot find an entity named {parent_name} in the project: check the "
            "name, or give the parent's id."
        )
    return parent["id"]


_MISSING = object()


def matches(entity: dict, wanted: dict | None) -> bool:
    """Whether an entity (as the session returns it) has all the values of
    ``wanted``: attributes, or entity fields such as ``name`` or ``type``."""
    if not wanted:
        return True
    attributes = entity.get("attributes") or {}
    for key, value in wanted.items():
        if key in RESERVED_NAMES:
            found = entity.get(key, _MISSING)
        else:
            found = attributes.get(key, _MISSING)
        if found is _MISSING or found != value:
            return False
    return True


@translated()
def get_experimental_sessions(project_id=None, flexilims_session=None, mouse=None):
    """Get all sessions from a given mouse (every session without ``mouse``)

    Returns
    -------
    pandas.DataFrame
        the sessions, indexed by name
    """
    session = _session(flexilims_session, project_id)
    origin_id = None
    if mouse is not None:
        origin_id = get_id(mouse, datatype="mouse", flexilims_session=session)
    return get_entities(
        datatype="session", origin_id=origin_id, flexilims_session=session
    )


def _is_raw(attributes: dict) -> bool:
    return attributes.get("is_raw", "yes") in (True, "yes", "Yes", "true", "True")


@translated()
def get_datasets(
    origin_id,
    recording_type=None,
    dataset_type=None,
    project_id=None,
    flexilims_session=None,
):
    """Recurse into recordings and get paths to child datasets of a given type.

    For example, this is useful if you want to retrieve paths to all scanimage
    datasets associated with a given session. Paths are resolved against the
    raw or processed data root (:func:`flexiznam.api.paths.get_data_root`) of
    each dataset's project, by its ``is_raw``. One request whatever the number
    of recordings.

    Parameters
    ----------
    origin_id : str
        hexadecimal ID of the origin session (or mouse, or recording).
    recording_type : str
        type of the recording to filter by. If None, will return datasets for
        all recordings.
    dataset_type : str
        type of the dataset to filter by. If None, will return all datasets.
    project_id : str
        text name of the project. Not required if flexilims_session is provided.
    flexilims_session : flexilims.Flexilims
        Flexylims session object

    Returns
    -------
    dict
        Dictionary with recording names as keys containing lists of associated
        dataset paths.
    """
    session = _session(flexilims_session, project_id)
    below = descendants(session, origin_id, ["recording", "dataset"])
    recordings = {e["id"]: e for e in below if e["type"] == "recording"}
    if not recordings:
        origin = session.get(None, id=origin_id)
        if origin and origin[0]["type"] == "recording":
            recordings = {origin_id: origin[0]}
    if recording_type is not None:
        recordings = {
            key: rec
            for key, rec in recordings.items()
            if rec["attributes"].get("recording_type") == recording_type
        }
    roots = DataRoots(session)
    paths = {rec["name"]: [] for rec in recordings.values()}
    found = {key: paths[rec["name"]] for key, rec in recordings.items()}
    # The root of each (project, is_raw), as text, found once.
    root_of: dict = {}
    join = os.path.join
    for entity in below:
        if entity["type"] != "dataset":
            continue
        into = found.get(entity["origin_id"])
        if into is None:
            continue
        attributes = entity["attributes"]
        if dataset_type is not None and attributes.get("dataset_type") != dataset_type:
            continue
        key = (entity.get("project"), _is_raw(attributes))
        root = root_of.get(key)
        if root is None:
            root = root_of[key] = os.fspath(roots.of(*key))
        into.append(join(root, attributes.get("path") or ""))
    return paths


class DataRoots:
    """The data roots of the entities of one reply, each project asked once."""

    def __init__(self, session):
        self.session = session
        self._roots: dict = {}

    def of(self, project, is_raw: bool) -> Path:
        """The raw (``is_raw``) or processed root of ``project`` (an id)."""
        key = (project, is_raw)
        if key not in self._roots:
            which = "raw" if is_raw else "processed"
            self._roots[key] = get_data_root(
                which, project=project, flexilims_session=self.session
            )
        return self._roots[key]


@translated()
def descendants(session, origin_id, datatypes=None) -> list[dict]:
    """Every entity below ``origin_id`` (of ``datatypes`` if given).

    One request on our sessions (``get_descendants``); on a session without
    it (a third-party client, or ours on a Flexilims server), one
    ``get-children`` request per entity found.
    """
    return descendants_in_one_request(session, origin_id, datatypes)[0]


def descendants_in_one_request(session, origin_id, datatypes=None):
    """:func:`descendants`, and whether the server gave them in one request.

    A server that does (ours) also deletes a whole subtree in one request; a
    Flexilims server does neither.

    Returns
    -------
    (list of dict, bool)
        The entities, parents before their children, and whether the server
        has ``get-descendants``.
    """
    if hasattr(session, "get_descendants"):
        try:
            return session.get_descendants(origin_id, datatype=datatypes), True
        except NotFound:  # our client on a Flexilims server: no such endpoint
            pass
    found = _descendants_one_level_at_a_time(session, origin_id)
    return [e for e in found if datatypes is None or e["type"] in datatypes], False


def _descendants_one_level_at_a_time(session, origin_id) -> list[dict]:
    """For sessions without ``get_descendants`` (a third-party client)."""
    found, frontier, seen = [], [origin_id], {origin_id}
    while frontier:
        children = [
            child
            for parent in frontier
            for child in session.get_children(parent)
            if child["id"] not in seen
        ]
        seen.update(child["id"] for child in children)
        found.extend(children)
        frontier = [child["id"] for child in children]
    return found
