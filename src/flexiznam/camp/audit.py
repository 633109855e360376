"""Checks of a whole project: data paths and the naming convention.

:func:`check_paths` compares the database with the data roots: datasets whose
files are missing, and data folders no entity points to. :func:`check_names`
finds entities whose names or genealogies break the convention (name = parent
name, ``_``, short name; genealogy = short names from the mouse down). Both
read the project with one request per datatype.
"""

import os
from pathlib import Path, PurePosixPath

from ..config import data_root, load_config
from ..errors import DatasetError
from ..schema import Dataset

#: Types that always have a parent.
CHILD_TYPES = ("session", "recording", "sample", "dataset")


def _open(project, flexilims_session):
    if flexilims_session is not None:
        return flexilims_session
    if project is None:
        raise AttributeError("Give a project or a flexilims_session.")
    from ..main import get_flexilims_session

    return get_flexilims_session(project)


def project_entities(session, datatypes) -> list[dict]:
    """Every entity of the session's project, one request per datatype."""
    entities = []
    for datatype in datatypes:
        entities += session.get(datatype)
    return entities


def _project_name(session, project) -> str:
    for info in session.get_project_info():
        if info.get("uuid") == session.project_id:
            return info.get("name") or project
    return project


def _is_raw(attributes: dict) -> bool:
    return str(attributes.get("is_raw", "yes")).lower() in ("yes", "true")


def escapes_root(path) -> bool:
    """Whether a stored ``path`` would lead outside its data root (absolute, or
    through ``..``): such paths are reported, never looked at on disk."""
    if not isinstance(path, str):
        return False
    normal = os.path.normpath(path.replace("\\", "/"))
    return os.path.isabs(normal) or normal == ".." or normal.startswith("../")


def missing_data(entities, session) -> list[dict]:
    """Datasets whose data is not where their ``path`` says (or incomplete)."""
    missing = []
    for entity in entities:
        if entity["type"] != "dataset":
            continue
        path = (entity.get("attributes") or {}).get("path")
        if escapes_root(path):
            missing.append(
                {
                    "name": entity["name"],
                    "id": entity["id"],
                    "path": path,
                    "reason": "the path leads outside the data root: not looked at",
                }
            )
            continue
        try:
            dataset = Dataset.from_flexilims(
                data_series=entity, flexilims_session=session
            )
            reason = dataset.is_valid(return_reason=True)
        except (DatasetError, OSError, TypeError, ValueError) as error:
            reason = str(error)
        if reason:
            missing.append(
                {
                    "name": entity["name"],
                    "id": entity["id"],
                    "path": (entity.get("attributes") or {}).get("path"),
                    "reason": reason,
                }
            )
    return missing


def unreferenced_folders(entities, roots: dict, project_name: str) -> list[Path]:
    """Folders below ``<root>/<project>`` that no entity's path reaches.

    A folder is reached when an entity's path is that folder or lies inside
    it. Below the folder of a dataset (that is no other entity's folder, like
    an analysis output folder), every folder belongs to the dataset. Only the
    topmost unreached folder of a branch is listed.
    """
    found = []
    for is_raw, root in roots.items():
        reached, ancestors, entity_folders, dataset_folders = set(), set(), set(), set()
        for entity in entities:
            attributes = entity.get("attributes") or {}
            path = attributes.get("path")
            if not isinstance(path, str) or not path or escapes_root(path):
                continue
            path = PurePosixPath(path)
            if entity["type"] == "dataset":
                if _is_raw(attributes) != is_raw:
                    continue
                dataset_folders.add(path)
            else:
                entity_folders.add(path)
            reached.add(path)
            ancestors.update(path.parents)
        owned = dataset_folders - entity_folders
        top = root / project_name
        if not top.is_dir():
            continue
        for folder, subfolders, _ in os.walk(top):
            relative = PurePosixPath(Path(folder).relative_to(root).as_posix())
            keep = []
            for name in sorted(subfolders):
                path = relative / name
                if path in owned:
                    continue
                if path in reached or path in ancestors:
                    keep.append(name)
                else:
                    found.append(root / path)
            subfolders[:] = keep
    return found


def missing_roots(config: dict | None = None) -> list[tuple[str, Path]]:
    """The configured data roots that are not folders: ``(which, folder)``
    with ``which`` ``raw`` or ``processed``."""
    config = config if config is not None else load_config()
    roots = [("raw", data_root(True, config)), ("processed", data_root(False, config))]
    return [(which, root) for which, root in roots if not root.is_dir()]


def check_paths(project=None, flexilims_session=None) -> dict:
    """Compare the database with the data on disk.

    Parameters
    ----------
    project : str, optional
        Project name (or id); not needed with ``flexilims_session``.
    flexilims_session : flexilims.Session, optional
        Session on the project.

    Returns
    -------
    dict
        ``missing``: datasets whose files are missing or incomplete (dicts
        with ``name``, ``id``, ``path``, ``reason``); ``unreferenced``: folders
        below ``<data root>/<project>`` (raw and processed) that no entity
        points to (absolute paths).
    """
    session = _open(project, flexilims_session)
    config = load_config()
    entities = project_entities(session, config["datatypes"])
    roots = {True: data_root(True, config), False: data_root(False, config)}
    name = _project_name(session, project)
    return {
        "missing": missing_data(entities, session),
        "unreferenced": unreferenced_folders(entities, roots, name),
    }


def name_problems(entities) -> list[dict]:
    """Entities whose name or genealogy breaks the convention."""
    by_id = {entity["id"]: entity for entity in entities}
    problems = []

    def report(entity, problem):
        problems.append(
            {
                "type": entity["type"],
                "name": entity["name"],
                "id": entity["id"],
                "problem": problem,
            }
        )

    for entity in entities:
        genealogy = (entity.get("attributes") or {}).get("genealogy")
        name = entity["name"]
        is_list = isinstance(genealogy, list)
        if genealogy is not None and not (
            is_list and all(isinstance(g, str) for g in genealogy)
        ):
            report(entity, f"genealogy {genealogy!r} is not a list of names")
            continue
        if genealogy and "_".join(genealogy) != name:
            report(entity, f"name should be {'_'.join(genealogy)} (its genealogy)")
        if entity.get("origin_id") is None:
            if entity["type"] in CHILD_TYPES:
                report(entity, f"a {entity['type']} without parent")
            elif genealogy and genealogy != [name]:
                report(entity, f"genealogy {genealogy} of a top entity is not [{name}]")
            continue
        parent = by_id.get(entity["origin_id"])
        if parent is None:
            report(entity, f"its parent {entity['origin_id']} is not in the project")
            continue
        if not name.startswith(f"{parent['name']}_"):
            report(entity, f"name does not start with its parent's, {parent['name']}_")
        if not genealogy:
            report(entity, "no genealogy attribute")
            continue
        parent_genealogy = (parent.get("attributes") or {}).get("genealogy") or [
            parent["name"]
        ]
        if list(genealogy[:-1]) != list(parent_genealogy):
            report(
                entity,
                f"genealogy {genealogy} does not continue its parent's "
                f"{parent_genealogy}",
            )
    return problems


def check_names(project=None, flexilims_session=None) -> list[dict]:
    """Entities whose names break the genealogy convention.

    Parameters
    ----------
    project : str, optional
        Project name (or id); not needed with ``flexilims_session``.
    flexilims_session : flexilims.Session, optional
        Session on the project.

    Returns
    -------
    list of dict
        ``type``, ``name``, ``id`` and ``problem`` of each offence.
    """
    session = _open(project, flexilims_session)
    entities = project_entities(session, load_config()["datatypes"])
    return name_problems(entities)
