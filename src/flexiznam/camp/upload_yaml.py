"""``upload``: create the entities of an acquisition YAML in one transaction.

The file is checked first (structure, folders, datasets: every problem at
once); then the origin and what already exists below it are fetched (two
requests), the operations are built and sent in ONE request of the batch
endpoint, which applies them all or none; one progress bar covers the
preparation, the sending and the commit. This works the
same over the in-process session and the HTTP client. A server without the
batch endpoint (Flexilims) gets one request per entity instead
(:mod:`flexiznam.camp.one_by_one`).
"""

import signal
import sys
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from tqdm.auto import tqdm

from flexilims.errors import FlexilimsError as StoreError
from flexilims.errors import NotFound, OperationFailed, ServerUnreachable

from ..errors import SyncYmlError, from_store
from .acquisition_yaml import CONFLICT_MODES, load, walk
from .check import Problem, offline_problems, raise_problems
from .one_by_one import OneByOneError, apply_one_by_one
from .operations import build_operations, find_origin


@dataclass
class UploadReport:
    """What an upload did: entities created, updated and skipped.

    Each list holds ``(type, name, id)`` tuples, in the file's order.
    ``committed`` becomes True as soon as the database has written
    everything (before the lists are filled): an interruption after that
    point has not undone the upload.
    """

    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    committed: bool = False

    def add_results(self, reply: dict) -> None:
        """Fill the lists from the batch reply."""
        for result in reply["results"]:
            getattr(self, result["status"]).append(
                (result["type"], result["name"], result["id"])
            )

    def by_type(self) -> pd.DataFrame:
        """Per type (in the file's order): entities created, updated, skipped."""
        counts: dict = {}
        for status in ("created", "updated", "skipped"):
            for datatype, _, _ in getattr(self, status):
                row = counts.setdefault(
                    datatype, {"created": 0, "updated": 0, "skipped": 0}
                )
                row[status] += 1
        frame = pd.DataFrame.from_dict(
            counts, orient="index", columns=["created", "updated", "skipped"]
        )
        return frame.rename_axis("type").reset_index()

    def entities(self) -> pd.DataFrame:
        """One row per entity: status, type, name, id."""
        rows = [
            {"status": status, "type": datatype, "name": name, "id": entity_id}
            for status in ("created", "updated", "skipped")
            for datatype, name, entity_id in getattr(self, status)
        ]
        return pd.DataFrame(rows, columns=["status", "type", "name", "id"])

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


def _send(session, operations, existing, conflicts, strict, bar) -> dict:
    """One batch request; one request per entity if the server has no batch.

    The batch carries an idempotency key and is sent once more, with the same
    key, when the server could not be reached: if the first request was
    applied and only its reply lost, the server replays that reply instead of
    applying it twice.
    """
    if hasattr(session, "batch"):
        bar.set_description("Sending and committing")
        key = uuid.uuid4().hex
        for attempt in range(2):
            try:
                reply = session.batch(
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
            else:
                bar.update(len(operations))
                return reply
    bar.set_description("Uploading one by one")
    return apply_one_by_one(session, operations, existing, conflicts, strict, bar=bar)


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
    report: UploadReport | None = None,
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
        Show one progress bar over the whole upload: preparing, sending,
        committing.
    report : UploadReport, optional
        The report to fill (a new one by default): a caller that keeps it
        can tell, after an interruption, whether the upload was committed.

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
    report = report if report is not None else UploadReport()
    data = source.data
    session = flexilims_session
    if session is None:
        from ..main import get_flexilims_session

        session = get_flexilims_session(data["project"])
    try:
        origin = find_origin(session, data["origin"], data.get("origin_type"))
    except SyncYmlError as error:
        raise_problems([Problem("origin", str(error).removeprefix("origin: "))], source)
    bar = tqdm(
        total=2 * sum(1 for _ in walk(data)),
        desc="Preparing upload",
        unit="entity",
        disable=not progress,
        leave=False,
    )
    with bar:
        operations, nodes = build_operations(data, origin, bar=bar)
        bar.total = bar.n + len(operations)
        bar.refresh()
        with _interrupt_after_commit() as interrupted:
            reply = _upload_operations(
                session,
                source,
                origin,
                operations,
                nodes,
                conflicts,
                strict_validation,
                bar,
            )
            report.committed = True
    report.add_results(reply)
    if interrupted:
        raise KeyboardInterrupt
    return report


@contextmanager
def _interrupt_after_commit():
    """A first Ctrl-C in the block waits for its end (the commit): the list
    it yields is then not empty. A second one interrupts at once (the upload
    is then written entirely or not at all, depending on when the database
    got it)."""
    pressed: list = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def wait(signum, frame):
        if pressed:
            raise KeyboardInterrupt
        pressed.append(signum)
        tqdm.write(
            "Ctrl-C: the upload is finishing (it is all or nothing); press Ctrl-C "
            "again to stop waiting for it.",
            file=sys.stderr,
        )

    previous = signal.signal(signal.SIGINT, wait)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _upload_operations(
    session, source, origin, operations, nodes, conflicts, strict_validation, bar
) -> dict:
    """Send the operations; the refusals as problems of the file."""
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
        return _send(session, operations, existing, conflicts, strict_validation, bar)
    except OperationFailed as error:
        message = str(from_store(error.cause, operations[error.index]["type"]))
        _refused(source, nodes[error.index], message, None)
    except StoreError as error:
        raise SyncYmlError(
            f"Upload refused, nothing written: {from_store(error)}"
        ) from error
    except OneByOneError as error:
        _refused(source, nodes[error.index], error.message, error.undone)
