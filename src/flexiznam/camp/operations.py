"""From an acquisition YAML to the operations of one batch request.

Each entity of the file becomes a ``create`` operation of the batch endpoint
(``docs/batch-endpoint.md``): named by the genealogy convention, with its
``genealogy`` and ``path`` attributes, below the origin (``origin_id``) or
below the entity its parent's operation creates (``origin_ref``). Names and
paths follow :mod:`flexiznam.main`.
"""

from pathlib import PurePosixPath

from tqdm.auto import tqdm

from ..errors import DatasetError, SyncYmlError
from ..schema import Dataset
from .acquisition_yaml import Node, walk


def find_origin(session, origin, origin_type=None) -> dict:
    """The origin entity of an upload (one request).

    Raises
    ------
    SyncYmlError
        If no entity, or several, have that name in the session's project.
    """
    found = session.get(origin_type, name=origin)
    if not found:
        kind = origin_type or "entity"
        raise SyncYmlError(
            f"origin: no {kind} named {origin} in the project; add it first "
            "(flexiznam.main.add_mouse)"
        )
    if len(found) > 1:
        types = ", ".join(sorted(entity["type"] for entity in found))
        raise SyncYmlError(
            f"origin: several entities are named {origin} ({types}); give "
            "origin_type in the file"
        )
    return found[0]


def dataset_fields(data: dict) -> dict:
    """The :meth:`Dataset.from_yaml` fields of a dataset node."""
    return {key: value for key, value in data.items() if key != "type"}


def buildable(node: Node) -> bool:
    """Whether a node is sound enough to become an operation."""
    return (
        isinstance(node.data, dict)
        and isinstance(node.type, str)
        and isinstance(node.short_name, str)
        and (node.type != "dataset" or isinstance(node.data.get("dataset_type"), str))
    )


def _parent_path(entity: dict) -> str:
    attributes = entity.get("attributes") or {}
    return attributes.get("path") or entity["name"]


def build_operations(data, origin: dict, progress: bool = False, bar=None):
    """The batch operations that create the file's entities below ``origin``.

    Parameters
    ----------
    data : dict
        The acquisition description.
    origin : dict
        The origin entity (a reply of ``get``).
    progress : bool
        Show a progress bar.
    bar : tqdm.tqdm, optional
        A progress bar to advance by one per entity instead (the upload's).

    Returns
    -------
    (list of dict, list of Node)
        The operations, parents first, and the node each one comes from.
        Nodes too broken to build (the checks report them) are left out, with
        everything below them.
    """
    attributes = origin.get("attributes") or {}
    top = {
        "name": origin["name"],
        "genealogy": list(attributes.get("genealogy") or [origin["name"]]),
        "path": _parent_path(origin),
        "ref": None,
    }
    built: dict[int, dict] = {}
    operations, sources = [], []
    nodes = list(walk(data))
    if bar is None:
        steps = tqdm(
            nodes,
            desc="Preparing upload",
            unit="entity",
            disable=not progress,
            leave=False,
        )
    else:
        steps = _advancing(nodes, bar)
    for node in steps:
        parent = top if node.parent is None else built.get(id(node.parent))
        if parent is None or not buildable(node):
            continue
        operation = _operation(node, parent, origin["id"], len(operations))
        if operation is None:
            continue
        built[id(node)] = {
            "name": operation["name"],
            "genealogy": operation["attributes"]["genealogy"],
            "path": operation["attributes"].get("path")
            or f"{parent['path']}/{node.short_name}",
            "ref": operation["ref"],
        }
        operations.append(operation)
        sources.append(node)
    return operations, sources


def _advancing(items, bar):
    for item in items:
        yield item
        bar.update(1)


def _operation(node: Node, parent: dict, origin_id: str, index: int):
    short = node.short_name
    name = f"{parent['name']}_{short}"
    genealogy = parent["genealogy"] + [short]
    if node.type == "dataset":
        try:
            dataset = Dataset.from_yaml(dataset_fields(node.data), name=name)
        except (DatasetError, TypeError, ValueError):
            return None
        dataset.genealogy = genealogy
        attributes = {
            key: value
            for key, value in dataset.attributes().items()
            if value is not None
        }
    else:
        given = node.data.get("attributes") or {}
        if not isinstance(given, dict):
            return None
        attributes = dict(given)
        attributes["genealogy"] = genealogy
        path = node.data.get("path")
        attributes["path"] = (
            str(path) if path else str(PurePosixPath(parent["path"], short))
        )
    operation = {
        "op": "create",
        "ref": f"e{index}",
        "type": node.type,
        "name": name,
        "attributes": attributes,
    }
    if parent["ref"] is None:
        operation["origin_id"] = origin_id
    else:
        operation["origin_ref"] = parent["ref"]
    return operation
