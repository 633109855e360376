"""``upload``: create the entities of an acquisition YAML in one transaction.

The file is checked first (structure, folders, datasets: every problem at
once); then the origin and what already exists below it are fetched (two
requests), the operations are built (with a progress bar) and sent in ONE
request of the batch endpoint, which applies them all or none. This works the
same over the in-process session and the HTTP client. A server without the
batch endpoint (Flexilims) gets one request per entity instead
(:mod:`flexiznam.camp.one_by_one`).
"""

import uuid
from dataclasses import dataclass, field

from flexilims.errors import FlexilimsError as StoreError
from flexilims.errors import NotFound, OperationFailed, ServerUnreachable

from ..errors import SyncYmlError, from_store
from .acquisition_yaml import CONFLICT_MODES, load
from .check import Problem, offline_problems, raise_problems
from .one_by_one import OneByOneError, apply_one_by_one
from .operations import build_operations, find_origin


@dataclass
class UploadReport:
    """What an upload did: entities created, updated and skipped.

    Each list holds ``(type, name, id)`` tuples, in the file's order.
    """

    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def counts(self) -> dict:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "skipped": len(self.skipped),
        }

    def summary(self) -> str:
        """One line: ``created 1052, updated 0, skipped 1``."""
        return ", ".join(f"{key} {value}" for key, value in self.counts().items())

    def __str__(self) -> str:
        lines = []
        for status in ("created", "updated", "skipped"):
            for datatype, name, _ in getattr(self, status):
                lines.append(f"{status:8} {datatype:10} {name}")
        lines.append(self.summary())
        return "\n".join(lines)


def _existing(session, origin: dict) -> dict:
    """``(type, name)`` -> entity for everything below the origin (one request)."""
    below = None
    if hasattr(session, "get_descendants"):
        try:
            below = session.get_descendants(origin["id"])
        except NotFound:  # a Flexilims server: no get-descendants
            pass
    if below is None:  # one request per level
        below, frontier = [], [origin["id"]]
        while frontier:
            children = [c for p in frontier for c in session.get_children(p)]
            below += children
            frontier = [c["id"] for c in children if c["type"] != "dataset"]
    return {(entity["type"], entity["name"]): entity for entity in below}


def _send(session, operations, existing, conflicts, strict, progress) -> dict:
    """One batch request; one request per entity if the server has no batch.

    The batch carries an idempotency key and is sent once more, with the same
    key, when the server could not be reached: if the first request was
    applied and only its reply lost, the server replays that reply instead of
    applying it twice.
    """
    if hasattr(session, "batch"):
        key = uuid.uuid4().hex
        for attempt in range(2):
            try:
                return session.batch(
                    operations,
                    conflicts=conflicts,
                    strict_validation=strict,
                    idempotency_key=key,
                )
            except NotFound:  # a server without the batch endpoint (Flexilims)
                break
            except ServerUnreachable:
                if attempt:
                    raise
    return apply_one_by_one(session, operations, existing, conflicts, strict, progress)


def _refused(source, node, message: str, undone: str | None) -> None:
    note = "nothing was written" if undone is None else undone
    problem = Problem(node.place, f"{message} ({note})", source.line(node.keys))
    raise_problems([problem], source)


def upload(
    source,
    conflicts: str = "abort",
    flexilims_session=None,
    strict_validation: bool = False,
    progress: bool = True,
) -> UploadReport:
    """Create the entities of an acquisition YAML, all or nothing.

    Parameters
    ----------
    source : dict, str or Path
        The acquisition description, or the path of its file.
    conflicts : str
        What to do with an entity whose name is taken: ``abort`` (upload
        nothing and list them), ``skip`` (keep the existing one, add what is
        below it), ``update`` (set the attributes of the file, keep the others)
        or ``overwrite`` (make its attributes those of the file: the others
        become null).
    flexilims_session : flexilims.Session, optional
        Where to upload (opened on the file's project if not given).
    strict_validation : bool
        Every attribute must be defined in the lab settings.
    progress : bool
        Show a progress bar while the request is prepared.

    Returns
    -------
    UploadReport

    Raises
    ------
    SyncYmlError
        If the file has problems, or the database refused an entity (the
        message names its place in the file); nothing is written then.
    """
    if conflicts not in CONFLICT_MODES:
        raise AttributeError(
            f"conflicts must be one of {', '.join(CONFLICT_MODES)}, not {conflicts!r}"
        )
    source = load(source)
    raise_problems(offline_problems(source), source)
    data = source.data
    session = flexilims_session
    if session is None:
        from ..main import get_flexilims_session

        session = get_flexilims_session(data["project"])
    try:
        origin = find_origin(session, data["origin"], data.get("origin_type"))
    except SyncYmlError as error:
        raise_problems([Problem("origin", str(error).removeprefix("origin: "))], source)
    operations, nodes = build_operations(data, origin, progress=progress)
    existing = _existing(session, origin)
    if conflicts == "abort":
        taken = [
            Problem(
                node.place,
                f"a {op['type']} named {op['name']} exists already (upload with "
                "conflicts skip, update or overwrite)",
                source.line(node.keys),
            )
            for op, node in zip(operations, nodes, strict=True)
            if (op["type"], op["name"]) in existing
        ]
        raise_problems(taken, source)
    try:
        reply = _send(
            session, operations, existing, conflicts, strict_validation, progress
        )
    except OperationFailed as error:
        message = str(from_store(error.cause, operations[error.index]["type"]))
        _refused(source, nodes[error.index], message, None)
    except StoreError as error:
        raise SyncYmlError(
            f"Upload refused, nothing written: {from_store(error)}"
        ) from error
    except OneByOneError as error:
        _refused(source, nodes[error.index], error.message, error.undone)
    report = UploadReport()
    for result in reply["results"]:
        getattr(report, result["status"]).append(
            (result["type"], result["name"], result["id"])
        )
    return report
