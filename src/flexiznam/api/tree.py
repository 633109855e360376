"""The hierarchy of a project as text: mouse > session > recording > dataset.

One request for the whole project, or for everything below one entity; the
tree can stop at a depth and show only some types (an entity whose parent is
hidden hangs from its nearest shown ancestor).
"""


def _label(entity: dict) -> str:
    attributes = entity.get("attributes") or {}
    genealogy = attributes.get("genealogy")
    short = genealogy[-1] if genealogy else entity["name"]
    detail = attributes.get("dataset_type") or attributes.get("protocol") or ""
    detail = f" ({detail})" if detail else ""
    return f"{entity['type']} {short}{detail}"


def _shown_parents(entities: list[dict], types) -> dict:
    """Each shown entity's parent in the shown tree (None for roots)."""
    by_id = {entity["id"]: entity for entity in entities}
    parents = {}
    for entity in entities:
        parent_id, seen = entity.get("origin_id"), {entity["id"]}
        while parent_id in by_id and parent_id not in seen:
            seen.add(parent_id)
            if types is None or by_id[parent_id]["type"] in types:
                break
            parent_id = by_id[parent_id].get("origin_id")
        parents[entity["id"]] = parent_id if parent_id in by_id else None
    return parents


def tree_rows(
    entities: list[dict], depth: int | None = None, types=None
) -> list[tuple[dict, int, int]]:
    """The entities in tree order: ``(entity, level, hidden)``.

    Parameters
    ----------
    entities : list of dict
        As the session returns them, parents before children (those whose
        parent is not in the list are roots).
    depth : int, optional
        Levels shown below the roots (0: the roots only).
    types : str or collection of str, optional
        Only these types are shown.

    Returns
    -------
    list of (dict, int, int)
        Each shown entity, its level (0 for roots) and how many entities
        below it the depth hides.

    Raises
    ------
    ValueError
        A negative depth.
    """
    if depth is not None and depth < 0:
        raise ValueError(f"The depth of a tree is 0 or more, not {depth}.")
    if isinstance(types, str):
        types = {types}
    elif types is not None:
        types = set(types)
    shown = [e for e in entities if types is None or e["type"] in types]
    parents = _shown_parents(entities, types)
    children: dict = {}
    for entity in shown:
        children.setdefault(parents[entity["id"]], []).append(entity)

    def size(entity) -> int:
        below = children.get(entity["id"], [])
        return len(below) + sum(size(child) for child in below)

    rows = []
    stack = [(root, 0) for root in reversed(children.get(None, []))]
    while stack:
        entity, level = stack.pop()
        if depth is not None and level >= depth:
            rows.append((entity, level, size(entity)))
            continue
        rows.append((entity, level, 0))
        below = children.get(entity["id"], [])
        stack.extend((child, level + 1) for child in reversed(below))
    return rows


def format_tree(entities: list[dict], depth: int | None = None, types=None) -> str:
    """Draw entities as a tree, children under their origin, in creation order.

    Parameters
    ----------
    entities : list of dict
        Entities as the session returns them; those whose origin is not in the
        list are roots.
    depth, types
        As :func:`tree_rows`: levels shown, types shown.
    """
    rows = tree_rows(entities, depth, types)
    # Whether each entity is the last of its siblings: scan from the end.
    lasts, sibling_below = [], {}
    for _, level, _ in reversed(rows):
        lasts.append(not sibling_below.get(level, False))
        sibling_below = {lvl: v for lvl, v in sibling_below.items() if lvl < level}
        sibling_below[level] = True
    lasts.reverse()
    lines: list[str] = []
    # Per level, whether the entity drawn last there has siblings to come.
    open_levels: list[bool] = []
    for (entity, level, hidden), last in zip(rows, lasts, strict=True):
        del open_levels[level:]
        prefix = "".join("│   " if more else "    " for more in open_levels[1:])
        branch = "" if level == 0 else ("└── " if last else "├── ")
        more = f" (+{hidden} below)" if hidden else ""
        lines.append(f"{prefix}{branch}{_label(entity)}{more}")
        open_levels.append(not last)
    return "\n".join(lines)


#: The columns of :func:`tree_table_rows` and :func:`tree_frame`.
TREE_COLUMNS = ["level", "type", "name", "id", "parent_id", "hidden_below"]


def tree_table_rows(
    entities: list[dict], depth: int | None = None, types=None
) -> list[dict]:
    """The tree as rows of :data:`TREE_COLUMNS` (``level``, ``type``,
    ``name``, ``id``, ``parent_id``, ``hidden_below``), for ``--json`` and
    ``--csv``."""
    return [
        {
            "level": level,
            "type": entity["type"],
            "name": entity["name"],
            "id": entity["id"],
            "parent_id": entity.get("origin_id"),
            "hidden_below": hidden,
        }
        for entity, level, hidden in tree_rows(entities, depth, types)
    ]


def tree_frame(entities: list[dict], depth: int | None = None, types=None):
    """:func:`tree_table_rows` as a data frame."""
    import pandas as pd

    return pd.DataFrame(tree_table_rows(entities, depth, types), columns=TREE_COLUMNS)


def subtree(flexilims_session, root: dict | None) -> list[dict]:
    """The whole project (``root`` None), or ``root`` and everything below
    it, in one request."""
    if root is None:
        return flexilims_session.get(None)
    return [root] + flexilims_session.get_descendants(root["id"])


def project_tree(flexilims_session, root_name: str | None = None) -> str:
    """The tree of a whole project, or below one entity, in one request.

    Raises
    ------
    FlexilimsError
        No entity named ``root_name`` in the project.
    """
    if root_name is None:
        return format_tree(subtree(flexilims_session, None))
    roots = flexilims_session.get(None, name=root_name)
    if not roots:
        from ..errors import FlexilimsError

        raise FlexilimsError(f"No entity named {root_name} in the project.")
    return format_tree(subtree(flexilims_session, roots[0]))
