"""History and undo: every version of an entity, and going back to one.

Every write of the database keeps the entity as it was (history); these read
it through the session (``session.history``) and go back to a version
(``session.revert``), which adds a version of its own: history only grows.
Works the same on the embedded database and over a server, with the user's
rights. Part of the flexiznam API; import these from :mod:`flexiznam.main`.
"""

from typing import TYPE_CHECKING

from flexilims.protocol import version_rows

from ..errors import FlexilimsError, translated
from .queries import _session, get_entity

if TYPE_CHECKING:
    import pandas as pd

#: The columns of :func:`get_history`.
HISTORY_COLUMNS = [
    "version",
    "changed_at",
    "changed_by",
    "action",
    "type",
    "name",
    "id",
    "changes",
]


def _entity_id(session, name, datatype, id) -> str:
    if id is not None:
        return id
    entity = get_entity(
        datatype=datatype, name=name, flexilims_session=session, format_reply=False
    )
    if entity is None:
        kind = datatype or "entity"
        raise FlexilimsError(
            f"No {kind} named {name} in the project: check the name (a deleted "
            "entity's history is found by its id)."
        )
    return entity["id"]


def history_frame(versions: list[dict]) -> "pd.DataFrame":
    """Versions as the session gives them, one row each (see :func:`get_history`)."""
    import pandas as pd

    rows = version_rows(versions)
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    frame["changed_at"] = pd.to_datetime(frame["changed_at"], unit="ms", utc=True)
    frame["version"] = frame["version"].astype("int64")
    return frame


def get_history(
    name=None,
    datatype=None,
    id=None,
    project_id=None,
    flexilims_session=None,
    before=None,
    limit=100,
):
    """Versions of an entity, or of every entity of the project, newest first.

    Every write keeps a version: creations, updates (an ``update_entity`` in
    its default ``overwrite`` mode sets the attributes it is not given to
    null: the version before it holds their values), deletions, restores and
    reverts.

    Parameters
    ----------
    name : str, optional
        Name of the entity (with ``datatype`` if several types share it).
    datatype : str, optional
        Its type.
    id : str, optional
        Its hexadecimal id, instead of the name (also for deleted entities).
    project_id : str, optional
        Name or id of the project, to open a session if none is given.
    flexilims_session : flexilims.Session, optional
        Session to use. Without ``name`` and ``id``, the history of its
        whole project.
    before : int, optional
        Only versions older than this version number (the next page).
    limit : int
        At most this many versions (up to 1000).

    Returns
    -------
    pandas.DataFrame
        One row per version: ``version``, ``changed_at`` (a UTC datetime),
        ``changed_by``, ``action`` (create, update, delete, restore, revert,
        import, purge), the entity's ``type``, ``name`` and ``id``, and
        ``changes``: what changed, ``{field: [before, after]}`` (attributes
        as ``attributes.KEY``).

    Raises
    ------
    FlexilimsError
        No entity of that name, or a server without history (Flexilims).
    """
    return history_frame(
        history_versions(
            name, datatype, id, project_id, flexilims_session, before, limit
        )
    )


def history_versions(
    name=None,
    datatype=None,
    id=None,
    project_id=None,
    flexilims_session=None,
    before=None,
    limit=100,
) -> list[dict]:
    """The versions :func:`get_history` lists, as the session gives them
    (dicts; ``changed_at`` in ms since the epoch): no pandas."""
    session = _session(flexilims_session, project_id)
    with translated(datatype):
        if name is None and id is None:
            return session.history(
                project_id=session.project_id, before=before, limit=limit
            )
        entity_id = _entity_id(session, name, datatype, id)
        return session.history(id=entity_id, before=before, limit=limit)


def revert(
    name=None,
    version=None,
    datatype=None,
    id=None,
    project_id=None,
    flexilims_session=None,
):
    """Make an entity as it was after one of its versions.

    Its name, parent and attributes become those of that version (attributes
    added since are removed). The revert is a new version: it can be
    reverted in turn.

    Parameters
    ----------
    name : str, optional
        Name of the entity (or give ``id``).
    version : int
        The version to go back to (:func:`get_history` lists them).
    datatype : str, optional
        Its type, if several types share the name.
    id : str, optional
        Its hexadecimal id, instead of the name.
    project_id : str, optional
        Name or id of the project, to open a session if none is given.
    flexilims_session : flexilims.Session, optional
        Session to use.

    Returns
    -------
    dict
        The entity after the revert.

    Raises
    ------
    FlexilimsError
        No such entity or version, or the database refuses the change (the
        old name is taken since, the old parent is gone...); nothing changes.
    """
    if isinstance(version, bool) or not isinstance(version, int | str):
        raise AttributeError(f"version must be a version number, not {version!r}")
    try:
        version = int(version)
    except ValueError:
        raise AttributeError(
            f"version must be a version number, not {version!r}"
        ) from None
    session = _session(flexilims_session, project_id)
    with translated(datatype):
        entity_id = _entity_id(session, name, datatype, id)
        return session.revert(entity_id, version)
