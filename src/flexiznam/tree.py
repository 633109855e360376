"""The hierarchy of a project as text: mouse > session > recording > dataset."""


def _label(entity: dict) -> str:
    attributes = entity.get("attributes") or {}
    genealogy = attributes.get("genealogy")
    short = genealogy[-1] if genealogy else entity["name"]
    detail = attributes.get("dataset_type") or attributes.get("protocol") or ""
    detail = f" ({detail})" if detail else ""
    return f"{entity['type']} {short}{detail}"


def format_tree(entities: list[dict]) -> str:
    """Draw entities as a tree, children under their origin, in creation order.

    Parameters
    ----------
    entities : list of dict
        Entities as the session returns them; those whose origin is not in the
        list are roots.
    """
    ids = {entity["id"] for entity in entities}
    children: dict = {}
    for entity in entities:
        parent = entity.get("origin_id") if entity.get("origin_id") in ids else None
        children.setdefault(parent, []).append(entity)
    lines: list[str] = []

    def draw(entity, prefix, last, root):
        branch = "" if root else ("└── " if last else "├── ")
        lines.append(f"{prefix}{branch}{_label(entity)}")
        below = children.get(entity["id"], [])
        extend = "" if root else ("    " if last else "│   ")
        for index, child in enumerate(below):
            draw(child, prefix + extend, index == len(below) - 1, False)

    for root in children.get(None, []):
        draw(root, "", True, True)
    return "\n".join(lines)


def project_tree(flexilims_session, root_name: str | None = None) -> str:
    """The tree of a whole project, or below one entity, in one request."""
    if root_name is None:
        return format_tree(flexilims_session.get(None))
    roots = flexilims_session.get(None, name=root_name)
    if not roots:
        raise ValueError(f"No entity named {root_name}")
    root = roots[0]
    return format_tree([root] + flexilims_session.get_descendants(root["id"]))
