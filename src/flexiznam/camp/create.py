"""``create_yaml``: describe an acquisition folder as an acquisition YAML.

The hierarchy comes from folder names:

- ``S20210420`` (``S`` and a date): a session, with attribute ``date``;
- ``R152356`` or ``R152356_retinotopy`` (``R``, a time, a protocol): a
  recording, with ``protocol``, ``timestamp`` and a ``recording_type`` guessed
  from its datasets (``two_photon`` with ScanImage data, ``ephys`` with ONIX
  or ephys data, ``behaviour`` with cameras, HARP or stimulation logs only);
- any other folder below a mouse or a sample: a sample.

Inside a session or a recording, folders that are not recordings hold more
datasets of that session or recording (their names get the folder's name
first). The datasets of each folder are found by
:meth:`flexiznam.schema.Dataset.from_folder`.
"""

import re
from pathlib import Path

from ..errors import SyncYmlError
from ..schema import Dataset
from ..schema.helpers import locate_folder
from .acquisition_yaml import new_document

SESSION_FOLDER = re.compile(r"^S(?P<date>\d{8})$")
RECORDING_FOLDER = re.compile(r"^R(?P<time>\d{6})(?:_(?P<protocol>.+))?$")

#: Recording type guessed from the dataset types found in a recording.
RECORDING_TYPES = (
    ("two_photon", ("scanimage",)),
    ("ephys", ("onix", "ephys")),
    ("widefield", ("widefield",)),
    ("behaviour", ("camera", "harp", "visstim")),
)


def folder_type(name: str, parent_type: str) -> str:
    """The entity type a folder named ``name`` below a ``parent_type`` stands for.

    Returns
    -------
    str
        ``session``, ``recording``, ``sample``, or ``datasets`` for a folder
        whose datasets belong to the parent (inside a session or recording).
    """
    if SESSION_FOLDER.match(name):
        return "session"
    if RECORDING_FOLDER.match(name):
        return "recording"
    if parent_type in ("session", "recording"):
        return "datasets"
    return "sample"


def _attributes(kind: str, name: str, dataset_types: set) -> dict:
    if kind == "session":
        date = SESSION_FOLDER.match(name)["date"]
        return {"date": f"{date[:4]}-{date[4:6]}-{date[6:]}"}
    if kind == "recording":
        match = RECORDING_FOLDER.match(name)
        recording_type = "unspecified"
        for candidate, types in RECORDING_TYPES:
            if dataset_types & set(types):
                recording_type = candidate
                break
        return {
            "protocol": match["protocol"] or "",
            "recording_type": recording_type,
            "timestamp": match["time"],
        }
    return {}


def _path(folder: Path) -> str:
    relative, _ = locate_folder(folder)
    return relative.as_posix()


def _subfolders(folder: Path) -> list[Path]:
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".")
    )


def _datasets(folder: Path, prefix: str = "") -> tuple[dict, set]:
    """YAML nodes of the datasets of a folder, and the folders they are."""
    found = Dataset.from_folder(folder)
    relative, _ = locate_folder(folder)
    nodes, taken = {}, set()
    for name, dataset in found.items():
        description = dataset.format(mode="yaml")
        if not description.get("genealogy"):
            description.pop("genealogy", None)
        nodes[f"{prefix}{name}"] = {"type": "dataset", **description}
        if dataset.path != relative:  # a file, or a folder in this one
            try:
                taken.add(folder / dataset.path.relative_to(relative))
            except ValueError:
                taken.add(dataset.path)
    return nodes, taken


def _describe(folder: Path, kind: str) -> dict:
    """The YAML node of an entity folder (and, recursively, its subfolders)."""
    datasets, taken = _datasets(folder)
    children = {}
    pending = [(sub, f"{sub.name}_") for sub in _subfolders(folder)]
    while pending:
        sub, prefix = pending.pop(0)
        if sub in taken:
            continue
        sub_kind = folder_type(sub.name, kind)
        if sub_kind == "datasets":
            more, more_taken = _datasets(sub, prefix)
            datasets.update(more)
            taken |= more_taken
            pending += [(s, f"{prefix}{s.name}_") for s in _subfolders(sub)]
        else:
            children[sub.name] = _describe(sub, sub_kind)
    dataset_types = {node["dataset_type"] for node in datasets.values()}
    node = {"type": kind, "path": _path(folder)}
    attributes = _attributes(kind, folder.name, dataset_types)
    if attributes:
        node["attributes"] = attributes
    clashes = sorted(set(children) & set(datasets))
    if clashes:
        raise SyncYmlError(
            f"{folder}: {', '.join(clashes)} is both a folder and a dataset name; "
            "rename the folder or the files"
        )
    node["children"] = {**children, **datasets}
    return node


def create_yaml(folder, project, origin, origin_type=None, outfile=None) -> dict:
    """Describe an acquisition folder as an acquisition YAML.

    Parameters
    ----------
    folder : str or Path
        A session folder (``.../PZAH6.4b/S20210420``), a recording or sample
        folder, or the origin's own folder (named like the origin): then each
        folder in it is a child of the origin.
    project : str
        Name of the project.
    origin : str
        Name of the existing mouse or sample the folder's entities go below.
    origin_type : str, optional
        Type of the origin (``mouse`` or ``sample``), if its name is not
        enough to find it.
    outfile : str or Path, optional
        Also write the YAML there.

    Returns
    -------
    dict
        The acquisition description (see ``docs/acquisition-yaml.md``).

    Raises
    ------
    SyncYmlError
        If ``folder`` is not a folder.
    """
    folder = Path(folder).expanduser().absolute()
    if not folder.is_dir():
        raise SyncYmlError(f"{folder} is not a folder")
    document = new_document(project, origin, origin_type)
    origin_kind = origin_type or "mouse"
    is_origin_folder = folder.name == origin or origin.endswith(f"_{folder.name}")
    if is_origin_folder:
        described = _describe(folder, origin_kind)
        document["children"] = described["children"]
    else:
        kind = folder_type(folder.name, origin_kind)
        document["children"] = {folder.name: _describe(folder, kind)}
    if outfile is not None:
        from .acquisition_yaml import write

        write(document, outfile)
    return document
