"""Where data lives: the raw and processed roots, per project.

Dataset paths on the database are relative to a data root. Most labs have one
pair of roots (``data_root`` in the config); a project whose data lives on
another disk has its own pair in ``project_paths`` (``{project name: {raw:
..., processed: ...}}``). :func:`get_data_root` picks the right one; a project
given by id is named through the config's ``project_ids`` or, failing that,
the session's list of projects (asked once per session).

Part of the flexiznam API; import :func:`get_data_root` from
:mod:`flexiznam.main`.
"""

import re
import weakref
from pathlib import Path

from ..config import current_config, data_root
from ..errors import ConfigurationError, translated
from ..sessions import get_flexilims_session, lookup_project

ROOT_KINDS = ("raw", "processed")

_HEX_ID = re.compile(r"^[0-9a-f]{24}$")

#: Per session, project id -> name from its ``get_project_info``: asked once,
#: so that the paths of a thousand datasets cost no request.
_names_by_session: "weakref.WeakKeyDictionary[object, dict]" = (
    weakref.WeakKeyDictionary()
)


def _names_from_session(session) -> dict:
    try:
        cached = _names_by_session.get(session)
    except TypeError:  # a session that cannot be weakly referenced
        cached = None
    if cached is not None:
        return cached
    names = {}
    for info in session.get_project_info():
        for key in ("id", "uuid"):
            if info.get(key):
                names[info[key]] = info.get("name")
    try:
        _names_by_session[session] = names
    except TypeError:
        pass
    return names


def project_name(project=None, flexilims_session=None, config=None) -> str | None:
    """The name of a project given by name or id, or the session's project.

    Parameters
    ----------
    project : str, optional
        Project name or 24-hex id (default: the session's project).
    flexilims_session : flexilims.Session, optional
        Session to ask for the project's name when the config's
        ``project_ids`` does not list its id (one request per session). Without
        it, a session is opened on the project.
    config : dict, optional
        flexiznam settings (default: the loaded config).

    Returns
    -------
    str or None
        The name; None when no project is given or the id is unknown.
    """
    config = config if config is not None else current_config()
    if project is None:
        project = getattr(flexilims_session, "project_id", None)
    if project is None:
        return None
    if project in (config.get("project_ids") or {}) or not _HEX_ID.match(project):
        return project
    name = lookup_project(project, prm=config)
    if name is not None:
        return name
    session = flexilims_session or get_flexilims_session(project)
    return _names_from_session(session).get(project)


@translated()
def get_data_root(which, project=None, flexilims_session=None):
    """The raw or processed data root of a project.

    Dataset paths are relative to it. A project listed in the config's
    ``project_paths`` has its own roots; every other project uses
    ``data_root``.

    Parameters
    ----------
    which : str
        ``'raw'`` or ``'processed'``.
    project : str, optional
        Project name or hexadecimal id (default: the session's project).
    flexilims_session : flexilims.Session, optional
        Session whose project is meant when ``project`` is not given; also
        used to name a project given by an id the config does not list.

    Returns
    -------
    pathlib.Path
        The folder, with ``~`` expanded.

    Raises
    ------
    ValueError
        If ``which`` is neither ``'raw'`` nor ``'processed'``.
    ConfigurationError
        If the project's ``project_paths`` entry lacks that root.
    """
    if which not in ROOT_KINDS:
        raise ValueError(f"which must be 'raw' or 'processed', not {which!r}")
    config = current_config()
    own_roots = config.get("project_paths") or {}
    if own_roots:
        name = project if project in own_roots else None
        if name is None:
            name = project_name(project, flexilims_session, config)
        if name in own_roots:
            return _project_root(name, own_roots[name], which)
    return data_root(which == "raw")


def _project_root(name: str, roots, which: str) -> Path:
    if not isinstance(roots, dict) or not roots.get(which):
        raise ConfigurationError(
            f"project_paths: {name} has no {which} folder in the config file: "
            f"add `{which}: /path/to/{which}` under `project_paths: {name}:`."
        )
    return Path(roots[which]).expanduser()


def all_data_roots(config: dict | None = None) -> list[tuple[Path, bool, str | None]]:
    """Every data root of the config: ``(folder, is_raw, project)``.

    ``data_root``'s (project None) and those of ``project_paths``, deepest
    first, so that a folder is placed below the most specific root that
    holds it.
    """
    config = config if config is not None else current_config()
    roots = [
        (data_root(True, config), True, None),
        (data_root(False, config), False, None),
    ]
    for name, own in (config.get("project_paths") or {}).items():
        for which in ROOT_KINDS:
            if isinstance(own, dict) and own.get(which):
                roots.append((_project_root(name, own, which), which == "raw", name))
    return sorted(roots, key=lambda root: len(root[0].parts), reverse=True)
