"""The flexiznam API: add and find mice, sessions, recordings, samples, datasets.

Every function takes a ``flexilims_session`` (any object with the session
methods: the HTTP client or the in-process session) or a ``project_id`` to open
one. Names follow the lab's genealogy convention: an entity's name is its
parent's name, ``_``, and its own short name, and the ``genealogy`` attribute
lists the short names from the mouse down. Reading lives in
:mod:`flexiznam.api.queries`, adding in :mod:`flexiznam.api.hierarchy`, subtrees
(datasets at any depth, deleting) in :mod:`flexiznam.api.subtrees`, data roots in
:mod:`flexiznam.api.paths`; this module is the API's one address.

Besides the seed API, it has the functions of flexiznam's later releases that
lab code calls: :func:`get_data_root`, :func:`get_child_dataset`,
:func:`get_datasets_recursively`, :func:`delete_recursively` (and the later
keywords of :func:`get_children`, :func:`get_flexilims_session` and
:func:`add_mouse`), and history and undo: :func:`get_history` and
:func:`revert` (:mod:`flexiznam.api.history`).
"""

from .api.hierarchy import (
    add_dataset,
    add_entity,
    add_experimental_session,
    add_mouse,
    add_recording,
    add_sample,
    generate_name,
    update_entity,
)
from .api.history import get_history, revert
from .api.paths import get_data_root
from .api.queries import (
    RESERVED_NAMES,
    descendants,
    format_results,
    get_children,
    get_datasets,
    get_datatype,
    get_entities,
    get_entity,
    get_experimental_sessions,
    get_id,
    get_path,
)
from .api.subtrees import (
    delete_recursively,
    get_child_dataset,
    get_datasets_recursively,
)
from .sessions import get_flexilims_session, lookup_project

__all__ = [
    "RESERVED_NAMES",
    "descendants",
    "add_dataset",
    "add_entity",
    "add_experimental_session",
    "add_mouse",
    "add_recording",
    "add_sample",
    "delete_recursively",
    "format_results",
    "generate_name",
    "get_child_dataset",
    "get_children",
    "get_data_root",
    "get_datasets",
    "get_datasets_recursively",
    "get_datatype",
    "get_entities",
    "get_entity",
    "get_experimental_sessions",
    "get_flexilims_session",
    "get_history",
    "get_id",
    "get_path",
    "lookup_project",
    "revert",
    "update_entity",
]
