"""Adding to the hierarchy: mice, sessions, recordings, samples, datasets.

Names follow the lab's genealogy convention: an entity's name is its parent's
name, ``_``, and its own short name, and the ``genealogy`` attribute lists the
short names from the mouse down. Part of the flexiznam API; import these from
:mod:`flexiznam.main`.
"""

import functools
import random
import re
import weakref
from pathlib import PurePosixPath

from .. import colony
from ..config import current_config, load_config
from ..errors import FlexilimsError, NameNotUniqueError, translated
from ..sessions import get_flexilims_session
from . import validation
from .queries import (
    RESERVED_NAMES,
    _session,
    format_entity,
    get_entity,
    not_found,
)

CONFLICT_MODES = ("abort", "skip", "append", "overwrite", "update")

#: The most names :func:`add_dataset` tries when others take them concurrently.
MAX_APPEND_ATTEMPTS = 50


def _check_attribute_names(attributes) -> None:
    """Refuse attributes that :func:`format_results` could not turn into columns."""
    reserved = [key for key in attributes or {} if key in RESERVED_NAMES]
    if reserved:
        raise FlexilimsError(
            f"Attribute names {', '.join(reserved)} are reserved for the fields of "
            "an entity: rename them."
        )


def _check_conflicts(conflicts, allowed=CONFLICT_MODES) -> str:
    if not isinstance(conflicts, str) or conflicts.lower() not in allowed:
        raise AttributeError(
            f"conflicts must be one of {', '.join(allowed)}, not {conflicts!r}"
        )
    return conflicts.lower()


# ------------------------------------------------------------------- naming

_SUFFIX = re.compile(r"^(.*_)(\d+)$")

#: Per session, the number after the last name this process appended under a
#: root: a hint so that the next append searches from there, not from 0. The
#: database's unique names decide; a stale hint only skips numbers.
_next_numbers: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


def _split_number(name: str) -> tuple[str, int, int]:
    """``X_007`` gives (``X_``, 7, 3); a name without a number (``X_``, 0, 1)."""
    match = _SUFFIX.match(name)
    if match:
        return match.group(1), int(match.group(2)), len(match.group(2))
    return f"{name}_", 0, 1


def _append_candidates(session, datatype: str, name: str):
    """Names to try, in order, for ``append``.

    First the given number, or the number after the last one this process
    appended under the same root: the save itself tells whether it is free, so
    the usual case costs no look-up. After a clash, the first free name from
    there on (:func:`generate_name`). Clashes after that mean concurrent
    writers: numbers a little further on are tried, spread at random so that
    writers stop colliding, and the next call goes straight to them.

    Yields
    ------
    (str, callable)
        A name, and what to call once an entity was saved with it: only then
        does the hint move on (a refused save does not use up its number).
    """
    root, start, width = _split_number(name)
    hints = _next_numbers.setdefault(session, {}) if _weakrefable(session) else {}
    key = (getattr(session, "project_id", None), datatype, root)
    hint, contended = hints.get(key, (start, False))
    number = max(start, hint)
    for attempt in range(MAX_APPEND_ATTEMPTS):
        remember = functools.partial(
            hints.__setitem__, key, (number + 1, contended and attempt > 0)
        )
        yield f"{root}{number:0{width}d}", remember
        contended = contended or attempt > 0
        if contended:
            number += 1 + random.randrange(2 + 2 * attempt)
        else:
            found = generate_name(datatype, f"{root}{number + 1:0{width}d}", session)
            number = _split_number(found)[1]


def _weakrefable(session) -> bool:
    try:
        weakref.ref(session)
    except TypeError:
        return False
    return True


def generate_name(datatype, name, flexilims_session=None, project_id=None):
    """Generate a number for incrementally increasing the numeric suffix

    ``name`` is a root (``X_scanimage``) or a numbered name (``X_scanimage_3``);
    the result is the first free name from that number on (``X_scanimage_0``
    for a root), keeping the number's zero padding (``X_00001``). Free names
    are found by doubling steps then bisection, so the number of requests
    grows with the logarithm of the names taken.

    Returns
    -------
    str
        a name no entity of ``datatype`` has in the project.
    """
    session = _session(flexilims_session, project_id)
    root, start, width = _split_number(name)

    def numbered(number: int) -> str:
        return f"{root}{number:0{width}d}"

    def taken(number: int) -> bool:
        return bool(session.get(datatype, name=numbered(number)))

    if not taken(start):
        return numbered(start)
    low, step = start, 1
    high = start + step
    while taken(high):
        low, step = high, step * 2
        high = start + step
    while high - low > 1:
        middle = (low + high) // 2
        if taken(middle):
            low = middle
        else:
            high = middle
    return numbered(high)


def _genealogy(entity: dict) -> list[str]:
    genealogy = (entity.get("attributes") or {}).get("genealogy")
    return list(genealogy) if genealogy else [entity["name"]]


def _short_name(parent: dict, name: str) -> str:
    """A given name as a short name: strip the parent's name if it leads."""
    prefix = f"{parent['name']}_"
    return name[len(prefix) :] if name.startswith(prefix) else name


def _child_path(parent: dict, short_name: str) -> str:
    parent_path = (parent.get("attributes") or {}).get("path") or parent["name"]
    return str(PurePosixPath(parent_path) / short_name)


def _project_name(session) -> str | None:
    for project in session.get_project_info():
        if project.get("uuid") == session.project_id:
            return project.get("name")
    return None


def add_entity(
    datatype,
    name,
    origin_id=None,
    attributes={},  # noqa: B006 (the documented default; never mutated)
    other_relations=None,
    flexilims_session=None,
    project_id=None,
    strict_validation=False,
):
    """Add a new entity on flexilims. Name must be unique

    Parameters
    ----------
    datatype : str
        flexilims type
    name : str
        name on flexilims
    origin_id : str or None
        hexadecimal id of the origin
    attributes : dict or None
        attributes of the new entity
    other_relations : str or list of str
        hexadecimal ID(s) of custom entities link to the entry
    project_id : str
        text name of the project
    flexilims_session : flexilims.Flexilims
        Flexylims session object
    strict_validation : bool
        only accept attributes the lab settings define

    Returns
    -------
    dict
        flexilims reply

    Raises
    ------
    NameNotUniqueError
        if an entity of that type already has that name.
    ValidationError
        if ``attributes`` is not a dict of values the database can store
        (dates, paths and numpy numbers are written as text and numbers).
    FlexilimsError
        for any other refusal, with the server's message.
    """
    attributes = validation.attributes(attributes)
    _check_attribute_names(attributes)
    session = _session(flexilims_session, project_id)
    with translated(datatype):
        return session.post(
            datatype=datatype,
            name=name,
            attributes=attributes,
            origin_id=origin_id,
            other_relations=other_relations,
            strict_validation=strict_validation,
        )


def update_entity(
    datatype,
    name=None,
    id=None,
    origin_id=None,
    mode="overwrite",
    attributes={},  # noqa: B006 (the documented default; never mutated)
    other_relations=None,
    flexilims_session=None,
    project_id=None,
):
    """Update one entity identified with its datatype and name or id

    Parameters
    ----------
    datatype : str
        flexilims type
    name : str
        name on flexilims
    id : str
        hexadecimal id (instead of name)
    origin_id : str or None
        new hexadecimal id of the origin
    mode : str
        what to do with attributes that are not explicitly specified.

        overwrite
            (default) all attributes that already exist on flexilims but are
            not specified in the function call are set to 'null'.
        update
            update the attributes given in this call and do not change the
            others.
    attributes : dict or None
        attributes to update
    other_relations : str or list of str
        hexadecimal ID(s) of entities to link to this one
    project_id : str
        text name of the project
    flexilims_session : flexilims.Flexilims
        Flexylims session object

    Returns
    -------
    dict
        flexilims reply
    """
    if not isinstance(mode, str) or mode.lower() not in ("overwrite", "update"):
        raise AttributeError(f"mode must be `overwrite` or `update`, not {mode!r}")
    attributes = validation.attributes(attributes)
    session = _session(flexilims_session, project_id)
    entity = get_entity(
        datatype=datatype,
        name=name,
        id=id,
        flexilims_session=session,
        format_reply=False,
    )
    if entity is None:
        raise not_found(datatype, name, id)
    if mode.lower() == "overwrite":
        full = {key: None for key in entity["attributes"]}
        full.update(attributes)
    else:
        full = attributes
    if isinstance(other_relations, str):
        other_relations = [other_relations]
    with translated(datatype):
        return session.update_one(
            id=entity["id"],
            datatype=datatype,
            origin_id=origin_id,
            name=None,
            attributes=full,
            strict_validation=False,
            allow_nulls=True,
            **({"other_relations": other_relations} if other_relations else {}),
        )


def _add_child(
    session,
    datatype: str,
    parent: dict,
    short_name: str,
    attributes: dict,
    conflicts: str,
    other_relations=None,
    strict_validation=False,
):
    """Create a child entity following the genealogy convention.

    ``conflicts`` decides what happens when the name is taken: ``abort``
    raises, ``skip`` returns the existing entity, ``append`` takes the next
    free number, ``overwrite`` and ``update`` update the existing entity.
    """
    full_name = f"{parent['name']}_{short_name}"
    existing = None
    if conflicts != "append":
        existing = get_entity(
            datatype=datatype,
            name=full_name,
            flexilims_session=session,
            format_reply=False,
        )
    if existing is not None:
        if conflicts == "abort":
            raise NameNotUniqueError(f"A {datatype} named {full_name} already exists")
        if conflicts == "skip":
            return format_entity(existing)
        attributes = {
            "genealogy": _genealogy(parent) + [short_name],
            **attributes,
        }
        return update_entity(
            datatype,
            id=existing["id"],
            origin_id=parent["id"],
            mode=conflicts,
            attributes=attributes,
            other_relations=other_relations,
            flexilims_session=session,
        )
    if conflicts == "append":
        names = _append_candidates(session, datatype, full_name)
    else:
        names = iter([(full_name, lambda: None)])
    for full_name, remember in names:
        short_name = full_name[len(parent["name"]) + 1 :]
        child_attributes = dict(attributes)
        child_attributes.setdefault("path", _child_path(parent, short_name))
        child_attributes["genealogy"] = _genealogy(parent) + [short_name]
        try:
            created = add_entity(
                datatype,
                full_name,
                origin_id=parent["id"],
                attributes=child_attributes,
                other_relations=other_relations,
                flexilims_session=session,
                strict_validation=strict_validation,
            )
        except NameNotUniqueError:
            if conflicts != "append":
                raise
            continue
        remember()
        return created
    raise FlexilimsError(
        f"Could not find a free name for a {datatype} below {parent['name']} "
        f"after {MAX_APPEND_ATTEMPTS} attempts: too many concurrent writers?"
    )


def _parent(session, parent_id, what: str) -> dict:
    if not isinstance(parent_id, str) or not parent_id:
        raise AttributeError(
            f"Give the hexadecimal id of the {what}, not {parent_id!r} "
            "(get_id finds it from its name)."
        )
    parent = get_entity(id=parent_id, flexilims_session=session, format_reply=False)
    if parent is None:
        raise FlexilimsError(f"Cannot find {what} with id {parent_id}")
    return parent


def _merge_attributes(given: dict | None, fixed: dict) -> dict:
    attributes = dict(given or {})
    for key, value in fixed.items():
        if key in attributes and attributes[key] != value:
            raise FlexilimsError(
                f"Got two values for {key}: {value!r} and {attributes[key]!r}"
            )
        attributes[key] = value
    return attributes


MOUSE_CONFLICT_MODES = ("skip", "abort", "update", "overwrite")


def add_mouse(
    mouse_name,
    project_id,
    flexilims_session=None,
    mcms_animal_name=None,
    flexilims_username=None,
    mcms_username=None,
    flexilims_password=None,
    attributes=None,
    mouse_info=None,
    conflicts="skip",
):
    """Check if a mouse is already in the database and add it if it isn't

    The mouse's attributes come from the lab's colony records when the config
    names a colony export (``colony: file:``), then from ``mouse_info`` and
    ``attributes``, each overriding the one before.

    Parameters
    ----------
    mouse_name : str
        name of the mouse in the database
    project_id : str
        name or hexadecimal id of the project
    flexilims_session : flexilims.Flexilims
        session (opened from project_id and the credentials if not given)
    mcms_animal_name : str
        name of the animal in the colony records, if not ``mouse_name``
    flexilims_username, flexilims_password : str
        credentials to open a session
    mcms_username : str
        colony database user (accepted for compatibility)
    attributes : dict
        attributes of the mouse, added to (and overriding) the colony ones
    mouse_info : dict
        the same as ``attributes``, by the name flexiznam's later releases
        give it
    conflicts : str
        what to do when the project has a mouse of that name: ``skip``
        (default) return it unchanged; ``abort`` raise
        :class:`~flexiznam.errors.NameNotUniqueError`; ``update`` set the
        attributes of this call and keep the others; ``overwrite`` make its
        attributes those of this call (the others become null).

    Returns
    -------
    dict or pandas.Series
        the flexilims reply, or the existing mouse (``skip``)

    Raises
    ------
    NameNotUniqueError
        with ``abort``, if the mouse exists; nothing is written.
    """
    conflicts = _check_conflicts(conflicts, MOUSE_CONFLICT_MODES)
    if flexilims_session is None:
        flexilims_session = get_flexilims_session(
            project_id, username=flexilims_username, password=flexilims_password
        )
    session = flexilims_session
    existing = get_entity(
        datatype="mouse", name=mouse_name, flexilims_session=session, format_reply=False
    )
    if existing is not None:
        if conflicts == "skip":
            return format_entity(existing)
        if conflicts == "abort":
            raise NameNotUniqueError(
                f"A mouse named {mouse_name} already exists in the project: "
                "conflicts='skip' returns it, 'update' or 'overwrite' change it."
            )
    info = colony.lookup_mouse(mcms_animal_name or mouse_name, load_config()) or {}
    info.update(validation.attributes(mouse_info, "mouse_info"))
    info.update(validation.attributes(attributes))
    info["genealogy"] = [mouse_name]
    _check_attribute_names(info)
    if "path" not in info:
        project = _project_name(session)
        info["path"] = f"{project}/{mouse_name}" if project else mouse_name
    if existing is None:
        try:
            return add_entity(
                "mouse", mouse_name, attributes=info, flexilims_session=session
            )
        except NameNotUniqueError:
            if conflicts == "abort":
                raise
        # Added by another process since the look-up: handled as if found.
        existing = get_entity(
            datatype="mouse",
            name=mouse_name,
            flexilims_session=session,
            format_reply=False,
        )
        if conflicts == "skip":
            return format_entity(existing)
    return update_entity(
        "mouse",
        id=existing["id"],
        mode=conflicts,
        attributes=info,
        flexilims_session=session,
    )


def add_experimental_session(
    mouse_name,
    date,
    attributes={},  # noqa: B006 (the documented default; never mutated)
    session_name=None,
    other_relations=None,
    flexilims_session=None,
    project_id=None,
    conflicts="abort",
):
    """Add a new session as a child entity of a mouse

    Parameters
    ----------
    mouse_name : str
        name of the mouse. Must exist on flexilims
    date : str or datetime.date
        date of the session, e.g. 2021-04-20 (written as YYYY-MM-DD)
    attributes : dict
        dictionary of additional attributes (on top of date)
    session_name : str or None
        short name of the session; default ``S`` and the date's digits
        (``S20210420``). The full name is ``<mouse>_<session_name>``.
    other_relations :
        ID(s) of custom entities related to the session
    flexilims_session : flexilims.Flexilims
        flexilims session
    project_id : str
        name of the project or hexadecimal project id (needed if session is
        not provided)
    conflicts : str
        What to do if a session with that name already exists? ``abort`` to
        crash, ``skip`` to return the existing session, ``append`` to add a
        number, ``overwrite``/``update`` to update it.

    Returns
    -------
    dict
        flexilims reply
    """
    conflicts = _check_conflicts(conflicts)
    date = validation.session_date(date)
    attributes = validation.attributes(attributes)
    session = _session(flexilims_session, project_id)
    mouse = get_entity(
        datatype="mouse", name=mouse_name, flexilims_session=session, format_reply=False
    )
    if mouse is None:
        raise FlexilimsError(f"Cannot find mouse {mouse_name}: add it with add_mouse")
    if session_name is None:
        session_name = "S" + re.sub(r"\D", "", date)
    session_name = _short_name(mouse, session_name)
    session_info = _merge_attributes(attributes, {"date": date})
    return _add_child(
        session,
        "session",
        mouse,
        session_name,
        session_info,
        conflicts,
        other_relations,
    )


def add_recording(
    session_id,
    recording_type,
    protocol,
    attributes=None,
    recording_name=None,
    conflicts="abort",
    other_relations=None,
    flexilims_session=None,
    project_id=None,
):
    """Add a recording as a child of an experimental session

    Parameters
    ----------
    session_id : str
        hexadecimal ID of the session. Must exist on flexilims
    recording_type : str
        one of [two_photon, widefield, intrinsic, ephys, behaviour]
    protocol : str
        experimental protocol (retinotopy for instance)
    attributes : dict
        dictionary of additional attributes (on top of protocol and
        recording_type)
    recording_name : str or None
        short name of the recording, usually in the shape R152356; default
        the protocol and the first free number (``retinotopy_0``).
    conflicts : str
        abort, skip, append, overwrite or update: how to handle conflicts
    other_relations :
        ID(s) of custom entities related to the recording
    flexilims_session : flexilims.Flexilims
        flexilims session
    project_id : str
        name of the project or hexadecimal project id (needed if session is
        not provided)

    Returns
    -------
    dict
        flexilims reply
    """
    conflicts = _check_conflicts(conflicts)
    attributes = validation.attributes(attributes)
    session = _session(flexilims_session, project_id)
    parent = _parent(session, session_id, "session")
    if recording_name is None:
        recording_name, conflicts = f"{protocol}_0", "append"
    recording_name = _short_name(parent, recording_name)
    info = _merge_attributes(
        attributes, {"recording_type": recording_type, "protocol": protocol}
    )
    return _add_child(
        session, "recording", parent, recording_name, info, conflicts, other_relations
    )


def add_sample(
    parent_id,
    attributes=None,
    sample_name=None,
    conflicts="skip",
    other_relations=None,
    flexilims_session=None,
    project_id=None,
):
    """Add a sample as a child of a mouse or another sample

    Default conflict behaviour for samples is skip, as we will often add from
    the same sample multiple occasions.

    Parameters
    ----------
    parent_id : str
        hexadecimal ID of the parent entity. Must exist on flexilims.
    attributes : dict
        dictionary of additional attributes.
    sample_name : str or None
        short name of the sample; default ``sample`` and the first free number.
    conflicts : str
        skip, abort, append, overwrite or update: how to handle conflicts.
    other_relations :
        ID(s) of custom entities related to the sample.
    flexilims_session : flexilims.Flexilims
        flexilims session.
    project_id : str
        name of the project or hexadecimal project id (required if session is
        not provided).

    Returns
    -------
    dict
        flexilims reply
    """
    conflicts = _check_conflicts(conflicts)
    attributes = validation.attributes(attributes)
    session = _session(flexilims_session, project_id)
    parent = _parent(session, parent_id, "parent")
    if sample_name is None:
        sample_name, conflicts = "sample_0", "append"
    sample_name = _short_name(parent, sample_name)
    return _add_child(
        session,
        "sample",
        parent,
        sample_name,
        attributes,
        conflicts,
        other_relations,
    )


def add_dataset(
    parent_id,
    dataset_type,
    created,
    path,
    is_raw="yes",
    project_id=None,
    flexilims_session=None,
    dataset_name=None,
    attributes=None,
    strict_validation=False,
    conflicts="append",
):
    """Add a dataset as a child of a recording, session, or sample

    Parameters
    ----------
    parent_id : str
        hexadecimal ID of the parent (session or recording)
    dataset_type : str
        dataset_type, must be a type define in the config file
    created : str or datetime.datetime
        date of creation, usually in this format: '2021-05-24 14:56:41' (any
        ISO date and time is accepted and written in that format)
    path : str or pathlib.Path
        path to the data relative to the data root (not empty)
    is_raw : str
        yes or no, used to find the root directory
    project_id : str
        hexadecimal ID or name of the project
    flexilims_session : flexilims.Flexilims
        authentication session for flexilims
    dataset_name : str
        short name of the dataset, will be autogenerated if not provided
        (the dataset type and the first free number)
    attributes : dict
        optional attributes
    strict_validation : bool
        default False, if True, only attributes in lab settings are allowed
    conflicts : str
        abort, skip, append, overwrite or update: what to do if a dataset with
        this name already exists? abort to crash, skip to ignore and return the
        online version, append to increment name and create a new dataset.

    Returns
    -------
    dict
        the flexilims response
    """
    conflicts = _check_conflicts(conflicts)
    created = validation.timestamp(created)
    path = validation.data_path(path)
    attributes = validation.attributes(attributes)
    config = current_config()
    if dataset_type not in config["dataset_types"]:
        raise AttributeError(
            f"dataset_type {dataset_type!r} not valid. Valid types are: "
            f"{', '.join(config['dataset_types'])} (add yours to dataset_types in "
            "the config file)"
        )
    if isinstance(is_raw, bool):
        is_raw = "yes" if is_raw else "no"
    session = _session(flexilims_session, project_id)
    parent = _parent(session, parent_id, "parent")
    fixed = {
        "dataset_type": dataset_type,
        "created": created,
        "path": path,
        "is_raw": is_raw,
    }
    info = _merge_attributes(attributes, fixed)
    short = _short_name(parent, dataset_name) if dataset_name else f"{dataset_type}_0"
    return _add_child(
        session,
        "dataset",
        parent,
        short,
        info,
        conflicts,
        strict_validation=strict_validation,
    )
