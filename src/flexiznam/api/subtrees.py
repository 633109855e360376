"""Everything below an entity: datasets at any depth, the latest dataset of a
parent, deleting a subtree.

These functions come from flexiznam's later releases, which lab code written
since calls. Each asks the store for the whole subtree in one request
(``get_descendants``) rather than walking it level by level. Part of the
flexiznam API; import them from :mod:`flexiznam.main`.
"""

import os
import warnings
from pathlib import Path

from ..errors import FlexilimsError, translated
from .queries import (
    RESERVED_NAMES,
    DataRoots,
    _parent_id,
    _session,
    descendants,
    descendants_in_one_request,
    get_entity,
    matches,
)


def _dataset_class():
    # flexiznam.schema imports flexiznam.main: imported when first needed.
    from ..schema import Dataset

    return Dataset


def _as_entity(series) -> dict:
    """An entity as the session returns it, from a :func:`get_entity` Series
    (attributes as columns) or a dict (attributes nested or not)."""
    data = dict(series)
    if isinstance(data.get("attributes"), dict):
        return data
    entity = {key: data[key] for key in RESERVED_NAMES if key in data}
    entity["attributes"] = {
        key: value
        for key, value in data.items()
        if key not in RESERVED_NAMES and not _is_missing(value)
    }
    return entity


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _entity_by_id(session, entity_id) -> dict:
    found = session.get(None, id=entity_id)
    if not found:
        raise FlexilimsError(
            f"Cannot find an entity with id {entity_id}: check the id (it may have "
            "been deleted: `flexilims trash list` shows deleted entities)."
        )
    return found[0]


def _origin(session, origin_id, origin_name, origin_series):
    """``(id, entity)`` of the origin; the entity is None when only its id
    was given (fetched later only if needed)."""
    if origin_series is not None:
        origin = _as_entity(origin_series)
        if origin.get("id") is None:
            raise AttributeError(
                "origin_series has no id: give an entity from the database."
            )
        return origin["id"], origin
    if origin_name is not None:
        origin = get_entity(
            name=origin_name, flexilims_session=session, format_reply=False
        )
        if origin is None:
            raise FlexilimsError(
                f"Cannot find an entity named {origin_name}: check the name, or "
                "give origin_id."
            )
        return origin["id"], origin
    return origin_id, None


@translated()
def get_datasets_recursively(
    origin_id=None,
    origin_name=None,
    origin_series=None,
    dataset_type=None,
    filter_datasets=None,
    parent_type=None,
    filter_parents=None,
    return_paths=False,
    project_id=None,
    flexilims_session=None,
):
    """Every dataset at any depth below an entity, grouped by direct parent.

    Analysis code uses it to find, say, all raw ScanImage datasets of a mouse's
    retinotopy recordings in one call. The store is asked once for the whole
    subtree (``get_descendants``), whatever its depth and size.

    Parameters
    ----------
    origin_id : str, optional
        Hexadecimal id of the origin entity.
    origin_name : str, optional
        Name of the origin entity (instead of its id).
    origin_series : pandas.Series or dict, optional
        The origin entity as :func:`flexiznam.main.get_entity` returns it
        (instead of its id or name; saves a request when filtering parents).
    dataset_type : str, optional
        Keep only datasets of this ``dataset_type``.
    filter_datasets : dict, optional
        Attribute values the datasets must have (``{"is_raw": "no"}``).
    parent_type : str, optional
        Keep only datasets whose direct parent is of this type
        (``"recording"``).
    filter_parents : dict, optional
        Attribute values the direct parents must have
        (``{"protocol": "retinotopy"}``).
    return_paths : bool
        Give each dataset's full path (:attr:`Dataset.path_full`) instead of
        the :class:`~flexiznam.schema.Dataset` object.
    project_id : str, optional
        Project name or id, to open a session when none is given.
    flexilims_session : flexilims.Session, optional
        Session to use.

    Returns
    -------
    dict
        Direct parent id -> list of :class:`~flexiznam.schema.Dataset` (or of
        :class:`pathlib.Path` with ``return_paths``), oldest first. Parents
        without a matching dataset are left out.

    Raises
    ------
    AttributeError
        Unless exactly one of origin_id, origin_name and origin_series is
        given.
    FlexilimsError
        If the origin does not exist.
    """
    given = [value is not None for value in (origin_id, origin_name, origin_series)]
    if sum(given) != 1:
        raise AttributeError(
            "Give exactly one of origin_id, origin_name and origin_series."
        )
    session = _session(flexilims_session, project_id)
    origin_id, origin = _origin(session, origin_id, origin_name, origin_series)
    filter_by_parent = parent_type is not None or bool(filter_parents)
    below = descendants(session, origin_id, None if filter_by_parent else ["dataset"])
    if not below and origin is None:
        _entity_by_id(session, origin_id)  # an unknown origin is an error
        return {}
    parents = {entity["id"]: entity for entity in below}
    wanted_parents: dict = {}

    def parent_is_wanted(parent_id) -> bool:
        if parent_id not in wanted_parents:
            nonlocal origin
            if parent_id == origin_id and origin is None:
                origin = _entity_by_id(session, origin_id)
            parent = origin if parent_id == origin_id else parents.get(parent_id)
            wanted_parents[parent_id] = (
                parent is not None
                and (parent_type is None or parent.get("type") == parent_type)
                and matches(parent, filter_parents)
            )
        return wanted_parents[parent_id]

    selected: dict = {}
    for entity in below:
        if entity["type"] != "dataset":
            continue
        attributes = entity.get("attributes") or {}
        if dataset_type is not None and attributes.get("dataset_type") != dataset_type:
            continue
        if not matches(entity, filter_datasets):
            continue
        parent_id = entity["origin_id"]
        if filter_by_parent and not parent_is_wanted(parent_id):
            continue
        selected.setdefault(parent_id, []).append(entity)
    if return_paths:
        from ..schema.helpers import is_raw_flag

        roots = DataRoots(session)
        return {
            parent_id: [_full_path(entity, roots, is_raw_flag) for entity in entities]
            for parent_id, entities in selected.items()
        }
    from_dataseries = _dataset_class().from_dataseries
    return {
        parent_id: [
            from_dataseries(entity, flexilims_session=session) for entity in entities
        ]
        for parent_id, entities in selected.items()
    }


def _full_path(entity: dict, roots: DataRoots, is_raw_flag) -> Path:
    """What :attr:`Dataset.path_full` gives, without building the Dataset."""
    attributes = entity.get("attributes") or {}
    path = attributes.get("path") or ""
    if os.path.isabs(path):
        return Path(path)
    is_raw = is_raw_flag(attributes.get("is_raw", "yes"))
    return roots.of(entity.get("project"), is_raw).joinpath(path)


@translated()
def get_child_dataset(flz_session, parent_name, dataset_type):
    """The most recent dataset of a type directly below an entity.

    Analysis steps chain this way: the suite2p step reads the recording's
    latest ``scanimage`` dataset.

    Parameters
    ----------
    flz_session : flexilims.Session
        Session to use.
    parent_name : str
        Name of the parent entity (a session, recording or sample).
    dataset_type : str
        The ``dataset_type`` wanted.

    Returns
    -------
    flexiznam.schema.Dataset
        The dataset created last (of its type's class).

    Raises
    ------
    ValueError
        If the parent has no dataset of that type.
    FlexilimsError
        If no entity is named ``parent_name``.

    Warns
    -----
    UserWarning
        When the parent has several datasets of that type, naming how many.
    """
    parent_id = _parent_id(flz_session, None, parent_name)
    found = [
        entity
        for entity in flz_session.get("dataset", origin_id=parent_id)
        if (entity.get("attributes") or {}).get("dataset_type") == dataset_type
    ]
    if not found:
        raise ValueError(
            f"{parent_name} has no {dataset_type} dataset directly below it: check "
            "the dataset type, or add one (add_dataset, Dataset.from_origin)."
        )
    found.sort(key=lambda entity: (entity.get("dateCreated") or 0, entity["id"]))
    latest = found[-1]
    if len(found) > 1:
        warnings.warn(
            f"{parent_name} has {len(found)} {dataset_type} datasets: returning the "
            f"most recent, {latest['name']}.",
            stacklevel=2,
        )
    return _dataset_class().from_dataseries(latest, flexilims_session=flz_session)


@translated()
def delete_recursively(source_id, flexilims_session, do_it=False):
    """An entity and everything below it: list them, and delete them if asked.

    Without ``do_it`` nothing is deleted: look at the list first. On our
    servers the deletion is one request that moves the whole subtree to the
    trash (``flexilims trash restore`` brings it back). A session without
    ``get_descendants`` (a third-party client, or a Flexilims server, which
    deletes one entity per request) deletes each entity by id, children
    before their parents, so that no entity is ever left without its origin.

    Parameters
    ----------
    source_id : str
        Hexadecimal id of the entity at the top of the subtree.
    flexilims_session : flexilims.Session
        Session to use.
    do_it : bool
        Delete; default False only lists.

    Returns
    -------
    list of str
        The ids of the entity and of everything below it, parents before their
        children.

    Raises
    ------
    FlexilimsError
        If no entity has that id.
    """
    session = flexilims_session
    if session is None:
        raise AttributeError("Give the flexilims_session to delete with.")
    _entity_by_id(session, source_id)
    below, subtree_at_once = descendants_in_one_request(session, source_id)
    ids = [source_id] + [entity["id"] for entity in below]
    if do_it:
        if subtree_at_once:
            session.delete(source_id)
        else:
            for entity_id in reversed(ids):
                session.delete(entity_id)
    return ids
