"""``check_yaml``: every problem of an acquisition YAML, each with its place.

The checks that need no database look at the file's structure, the folders
and files on disk (with the dataset classes of :mod:`flexiznam.schema`), the
names and genealogies, and the types against the config. With a flexilims
session, the origin is looked up and the operations an upload would send go to
the batch endpoint as a dry run: the store applies its own rules (the lab
settings, names already taken) and reports every refusal, nothing is written.
"""

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from flexilims.errors import FlexilimsError as StoreError
from flexilims.errors import NameTaken, error_from_details

from ..api.validation import ValidationError, session_date, timestamp
from ..config import current_config, data_root
from ..errors import DatasetError, SyncYmlError, from_store
from ..main import RESERVED_NAMES
from ..schema import Dataset
from .acquisition_yaml import (
    ALLOWED_PARENTS,
    CONFLICT_MODES,
    DATASET_KEYS,
    ENTITY_KEYS,
    FORMAT_VERSION,
    TOP_KEYS,
    Node,
    Source,
    load,
    walk,
)
from .create import RECORDING_FOLDER, SESSION_FOLDER
from .operations import build_operations, dataset_fields, find_origin


@dataclass
class Problem:
    """One problem of an acquisition YAML.

    Attributes
    ----------
    place : str
        The entity (``S20210420 > R152356_retinotopy``) or top-level key.
    message : str
        What is wrong and, where possible, what to do.
    line : int or None
        Line of the file where the entity or key is.
    keys : tuple
        Where the entity is in the data (``('children', 'S20210420', ...)``).
    """

    place: str
    message: str
    line: int | None = None
    keys: tuple = ()

    def __str__(self) -> str:
        where = f"line {self.line}, {self.place}" if self.line else self.place
        return f"{where}: {self.message}"


def raise_problems(problems: list[Problem], source: Source) -> None:
    """Raise :class:`SyncYmlError` listing every problem, if there are any."""
    if not problems:
        return
    name = f"{source.file}" if source.file else "The acquisition YAML"
    lines = [f"{name} has {len(problems)} problem(s):"]
    lines += [f"  {problem}" for problem in problems]
    error = SyncYmlError("\n".join(lines))
    error.problems = problems
    raise error


class _Collector:
    def __init__(self, source: Source):
        self.source = source
        self.problems: list[Problem] = []

    def top(self, key: str, message: str) -> None:
        self.problems.append(Problem(key, message, self.source.line((key,))))

    def node(self, node: Node, message: str, key: str | None = None) -> None:
        keys = node.keys + ((key,) if key else ())
        line = self.source.line(keys)
        self.problems.append(Problem(node.place, message, line, node.keys))


def _check_top(data, out: _Collector, config: dict) -> None:
    for key in data:
        if key not in TOP_KEYS:
            out.top(key, f"unknown key; the top level has {', '.join(TOP_KEYS)}")
    version = data.get("version")
    if version is None:
        out.top("version", f"missing: add 'version: {FORMAT_VERSION}'")
    elif not isinstance(version, int) or isinstance(version, bool):
        out.top("version", f"must be a whole number, not {version!r}")
    elif version > FORMAT_VERSION:
        out.top(
            "version",
            f"version {version} is newer than this flexiznam reads "
            f"({FORMAT_VERSION}): upgrade flexiznam",
        )
    elif version < 1:
        out.top("version", f"unknown version {version}")
    for key in ("project", "origin"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            out.top(key, "missing: give the name of the " + key)
    origin_type = data.get("origin_type")
    if origin_type is not None and origin_type not in config["datatypes"]:
        out.top("origin_type", f"unknown type {origin_type!r}")
    children = data.get("children")
    if not isinstance(children, dict):
        out.top("children", "missing: a mapping of the entities to add")
    elif not children:
        out.top("children", "empty: nothing to upload")


def _check_attribute_names(node: Node, names, out: _Collector, key: str) -> None:
    """Names the lab layer reserves (the database's own rules on names are
    checked online, by the dry run)."""
    for name in names:
        if name in RESERVED_NAMES:
            out.node(node, f"attribute {name!r} is a reserved name", key)


def _check_genealogy(node: Node, given, origin: str, out: _Collector, key) -> None:
    expected_tail = [str(name) for name in node.chain]
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        out.node(node, f"genealogy must be a list of names, not {given!r}", key)
        return
    head, tail = given[: -len(expected_tail)], given[-len(expected_tail) :]
    if tail != expected_tail or "_".join(head) != origin:
        out.node(
            node,
            f"genealogy {given} does not match its place below {origin} "
            f"(it ends with {expected_tail}); fix or remove it",
            key,
        )


def _check_folder(node: Node, path, out: _Collector, raw_root: Path) -> None:
    if not isinstance(path, str) or not path:
        out.node(node, f"path must be a folder name, not {path!r}", "path")
        return
    if PurePosixPath(path).is_absolute():
        out.node(
            node,
            f"path {path} is not below the raw data root {raw_root}: move the "
            "data there and create the YAML again",
            "path",
        )
    elif not (raw_root / path).is_dir():
        out.node(node, f"folder {raw_root / path} does not exist", "path")


def _check_names(node: Node, out: _Collector, parent_name: str) -> None:
    short = node.short_name
    if not isinstance(short, str) or not short.strip():
        out.node(node, "an entity needs a non-empty name")
        return
    if "/" in short or short != short.strip():
        out.node(node, f"name {short!r} must not hold '/' or start or end with spaces")
    if parent_name and short.startswith(f"{parent_name}_"):
        out.node(
            node,
            f"name {short} repeats its parent's name {parent_name}: keys are "
            f"short names (use {short[len(parent_name) + 1 :]})",
        )
    attributes = node.data.get("attributes")
    if not isinstance(attributes, dict):
        return
    session = SESSION_FOLDER.match(short)
    date = attributes.get("date")
    if node.type == "session" and date is not None:
        try:
            session_date(date)
        except ValidationError as error:
            out.node(node, str(error), "attributes")
            return
    if node.type == "session" and session and isinstance(date, str):
        if re.sub(r"\D", "", date) != session["date"]:
            out.node(node, f"date {date} does not match the name {short}", "attributes")
    recording = RECORDING_FOLDER.match(short)
    protocol = attributes.get("protocol")
    if node.type == "recording" and recording and recording["protocol"]:
        if isinstance(protocol, str) and protocol != recording["protocol"]:
            out.node(
                node,
                f"protocol {protocol} does not match the name {short}",
                "attributes",
            )


def _check_entity(node: Node, out: _Collector, raw_root: Path, origin: str) -> None:
    data = node.data
    for key in data:
        if key not in ENTITY_KEYS:
            out.node(
                node,
                f"unknown key {key!r}; a {node.type} has {', '.join(ENTITY_KEYS)}",
                key,
            )
    attributes = data.get("attributes", {})
    if attributes is not None and not isinstance(attributes, dict):
        out.node(node, "attributes must be a mapping", "attributes")
    elif attributes:
        _check_attribute_names(node, attributes, out, "attributes")
        if "genealogy" in attributes:
            _check_genealogy(node, attributes["genealogy"], origin, out, "attributes")
    if "path" in data:
        _check_folder(node, data["path"], out, raw_root)
    children = data.get("children")
    if children is not None and not isinstance(children, dict):
        out.node(node, "children must be a mapping of names", "children")


def _check_dataset(node: Node, out: _Collector, config: dict, origin: str) -> None:
    data = node.data
    for key in data:
        if key not in DATASET_KEYS:
            hint = " (datasets have extra_attributes)" if key == "attributes" else ""
            hint = " (datasets have no children)" if key == "children" else hint
            out.node(
                node,
                f"unknown key {key!r}{hint}; a dataset has {', '.join(DATASET_KEYS)}",
                key,
            )
    dataset_type = data.get("dataset_type")
    if not isinstance(dataset_type, str):
        out.node(node, "no dataset_type", "dataset_type")
        return
    if dataset_type not in config["dataset_types"]:
        out.node(
            node,
            f"unknown dataset type {dataset_type!r}: add it to dataset_types in the "
            f"config file (known: {', '.join(config['dataset_types'])})",
            "dataset_type",
        )
    if data.get("created") is not None:
        try:
            timestamp(data["created"])
        except ValidationError as error:
            out.node(node, str(error), "created")
    extra = data.get("extra_attributes") or {}
    if isinstance(extra, dict):
        _check_attribute_names(node, extra, out, "extra_attributes")
    if data.get("genealogy") is not None:
        _check_genealogy(node, data["genealogy"], origin, out, "genealogy")
    try:
        dataset = Dataset.from_yaml(dataset_fields(data), name=node.short_name)
    except (DatasetError, TypeError, ValueError) as error:
        out.node(node, f"invalid dataset: {error}")
        return
    if dataset.path.is_absolute():
        out.node(
            node,
            f"path {dataset.path} is not below a data root: move the data there "
            "and create the YAML again",
            "path",
        )
        return
    reason = dataset.is_valid(return_reason=True)
    if reason:
        out.node(node, f"invalid dataset: {reason}")


def offline_problems(source, config: dict | None = None) -> list[Problem]:
    """The problems found without the database: structure, disk, names, types.

    Parameters
    ----------
    source : dict, str, Path or Source
        The acquisition YAML.
    config : dict, optional
        Settings (default: :func:`flexiznam.config.load_config`).

    Returns
    -------
    list of Problem
    """
    source = load(source)
    config = config or current_config()
    out = _Collector(source)
    data = source.data
    if not isinstance(data, dict):
        out.problems.append(Problem("file", "not a mapping of version, project..."))
        return out.problems
    _check_top(data, out, config)
    origin = data.get("origin") if isinstance(data.get("origin"), str) else ""
    origin_type = data.get("origin_type")
    raw_root = data_root(True, config)
    for node in walk(data):
        if not isinstance(node.data, dict):
            out.node(node, "must be a mapping with type, attributes, children...")
            continue
        parent_name = node.parent.full_name(origin) if node.parent else origin
        _check_names(node, out, parent_name)
        kind = node.data.get("type")
        if kind is None:
            out.node(node, "no type (session, recording, sample or dataset)")
            continue
        if kind not in config["datatypes"] or kind == "mouse":
            allowed = [t for t in config["datatypes"] if t != "mouse"]
            out.node(node, f"unknown type {kind!r} (use {', '.join(allowed)})", "type")
            continue
        parent_type = node.parent.type if node.parent else origin_type
        allowed_parents = ALLOWED_PARENTS.get(kind)
        known_parent = parent_type in config["datatypes"]
        if known_parent and allowed_parents and parent_type not in allowed_parents:
            out.node(node, f"a {kind} cannot be inside a {parent_type}", "type")
        if kind == "dataset":
            _check_dataset(node, out, config, origin)
        else:
            _check_entity(node, out, raw_root, origin)
    return out.problems


def _project_problem(session, project: str) -> str | None:
    if session.project_id is None:
        return "the flexilims session has no project"
    if project == session.project_id:
        return None
    for info in session.get_project_info():
        if info.get("uuid") == session.project_id:
            if info.get("name") == project:
                return None
            return (
                f"project {project} is not the session's project ({info.get('name')})"
            )
    return None


def online_problems(
    source,
    session,
    conflicts: str = "abort",
    strict_validation: bool = False,
    known=(),
) -> list[Problem]:
    """The problems the database finds: origin, names taken, lab settings.

    The operations an upload would send go to the batch endpoint as a dry run.

    Parameters
    ----------
    known : collection of tuple
        Keys of entities with problems already: what the database says about
        them is not repeated.
    """
    source = load(source)
    out = _Collector(source)
    data = source.data
    if not isinstance(data, dict) or not isinstance(data.get("origin"), str):
        return out.problems
    if isinstance(data.get("project"), str):
        message = _project_problem(session, data["project"])
        if message:
            out.top("project", message)
            return out.problems
    try:
        origin = find_origin(session, data["origin"], data.get("origin_type"))
    except SyncYmlError as error:
        out.top("origin", str(error).removeprefix("origin: "))
        return out.problems
    for node in walk(data):
        if node.parent is None and isinstance(node.type, str):
            allowed = ALLOWED_PARENTS.get(node.type)
            if allowed and origin["type"] not in allowed:
                out.node(node, f"a {node.type} cannot be inside a {origin['type']}")
    operations, nodes = build_operations(data, origin)
    if not operations:
        return out.problems
    reply = session.batch(
        operations,
        conflicts=conflicts,
        strict_validation=strict_validation,
        dry_run=True,
    )
    for problem in reply.get("problems", []):
        node = nodes[problem["index"]]
        if node.keys not in known:
            message = _store_message(problem, node.type, conflicts)
            out.node(node, message)
    return out.problems


def _store_message(problem: dict, datatype: str, conflicts: str) -> str:
    """A refusal of the dry run in flexiznam's words (by its code)."""
    error = error_from_details(400, problem["message"], problem)
    message = str(from_store(error, datatype))
    if isinstance(error, NameTaken) and conflicts == "abort":
        message += " (upload with conflicts skip, update or overwrite)"
    return message


def check_yaml(
    source,
    flexilims_session=None,
    conflicts: str = "abort",
    online: bool = True,
    strict_validation: bool = False,
    raise_error: bool = True,
) -> list[Problem]:
    """Find every problem of an acquisition YAML.

    Parameters
    ----------
    source : dict, str or Path
        The acquisition description or the path of its file.
    flexilims_session : flexilims.Session, optional
        Session for the database checks (opened on the file's project if not
        given and ``online``).
    conflicts : str
        The conflicts mode of the planned upload: with ``abort``, entities
        that exist already are problems.
    online : bool
        Also check against the database (origin, names, lab settings).
    strict_validation : bool
        Every attribute must be defined in the lab settings.
    raise_error : bool
        Raise :class:`SyncYmlError` listing the problems (else return them).

    Returns
    -------
    list of Problem
        Every problem found (empty when the file is fine).

    Raises
    ------
    SyncYmlError
        With ``raise_error``, if there is any problem; its ``problems``
        attribute holds them.
    """
    if conflicts not in CONFLICT_MODES:
        raise AttributeError(
            f"conflicts must be one of {', '.join(CONFLICT_MODES)}, not {conflicts!r}"
        )
    source = load(source)
    problems = offline_problems(source)
    data = source.data
    structure_ok = isinstance(data, dict) and not any(
        problem.place in TOP_KEYS for problem in problems
    )
    if online and structure_ok:
        session = flexilims_session
        if session is None:
            from ..main import get_flexilims_session

            session = get_flexilims_session(data["project"])
        try:
            problems += online_problems(
                source,
                session,
                conflicts,
                strict_validation,
                known={problem.keys for problem in problems},
            )
        except StoreError as error:
            problems.append(Problem("database", str(from_store(error))))
    if raise_error:
        raise_problems(problems, source)
    return problems
