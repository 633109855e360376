"""Datasets: the files of one acquisition or analysis, and their database entry.

A :class:`Dataset` describes data on disk (``path``, relative to the raw or
processed data root of the config) and the dataset entity that records it in
the database (name, genealogy, origin, attributes). Subclasses know one kind of
data each and register themselves by ``DATASET_TYPE``::

    class WidefieldData(Dataset):
        DATASET_TYPE = "widefield"

        @classmethod
        def detect(cls, folder, filenames, verbose=False):
            return [cls(path=folder / name, name=Path(name).stem)
                    for name in filenames if name.endswith(".dcimg")]

That class (and the type in ``dataset_types`` of the config, for uploads) is
all a lab adds: :meth:`Dataset.from_folder` then finds widefield datasets in
folders and :meth:`Dataset.from_flexilims` returns ``WidefieldData`` objects
for entities of that type. ``Dataset.SUBCLASSES`` maps each type to its class
(the last class defined for a type wins). Subclasses may also override
:meth:`Dataset.associated_files` (the files of the dataset, taken from the
types detected later) and :meth:`Dataset.invalid_reason` (their checks).
"""

import os
from pathlib import Path

import pandas as pd

from ..api.paths import get_data_root
from ..errors import DatasetError
from .helpers import (
    BASE_ATTRIBUTES,
    ENTITY_FIELDS,
    TIME_FORMAT,
    created_time,
    is_missing,
    is_raw_flag,
    locate_folder_root,
    now,
    open_session,
    plain,
)
from .online import FlexilimsMixin

__all__ = [
    "BASE_ATTRIBUTES",
    "ENTITY_FIELDS",
    "TIME_FORMAT",
    "Dataset",
    "created_time",
    "is_missing",
    "now",
    "plain",
]

# -------------------------------------------------------------------- class


class Dataset(FlexilimsMixin):
    """Data of one acquisition or analysis, and its dataset entity.

    Parameters
    ----------
    path : str or Path
        Where the data is, relative to the data root (raw or processed, by
        ``is_raw``). An absolute path is kept as it is (data outside the data
        roots) but cannot be uploaded.
    is_raw : bool or str
        Raw (``True``/``'yes'``) or processed (``False``/``'no'``) data.
    dataset_type : str
        The type; a subclass fills in its own ``DATASET_TYPE``.
    name : str, optional
        Full name on the database (``'_'.join(genealogy)`` when a genealogy is
        given). Datasets found in a folder have their short name only until
        someone places them in the hierarchy (set :attr:`genealogy`).
    genealogy : list of str, optional
        Short names from the mouse down to this dataset.
    extra_attributes : dict, optional
        Attributes beyond the base ones (``path``, ``is_raw``,
        ``dataset_type``, ``created``, ``genealogy``).
    created : str, optional
        Creation time, ``'YYYY-MM-DD HH:MM:SS'``.
    project : str, optional
        Project name or hexadecimal id.
    origin_id : str, optional
        Hexadecimal id of the parent entity.
    id : str, optional
        Hexadecimal id of the dataset once it is online.
    flexilims_session : flexilims.Session, optional
        Session used to reach the database (opened from ``project`` if needed).

    Attributes
    ----------
    SUBCLASSES : dict
        Dataset type -> class, filled by subclasses that set ``DATASET_TYPE``.
    DATASET_TYPE : str or None
        Type of a subclass.
    DETECTION_ORDER : int
        Order in which :meth:`from_folder` asks the types (low first): a type
        takes files before the later ones see them.
    """

    SUBCLASSES: dict[str, type["Dataset"]] = {}
    DATASET_TYPE: str | None = None
    DETECTION_ORDER = 50

    @classmethod
    def _base_class(cls):
        return Dataset

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        dataset_type = cls.__dict__.get("DATASET_TYPE")
        if dataset_type:
            Dataset.SUBCLASSES[dataset_type] = cls

    def __init__(
        self,
        path,
        is_raw=True,
        dataset_type=None,
        name=None,
        genealogy=None,
        extra_attributes=None,
        created=None,
        project=None,
        origin_id=None,
        id=None,
        flexilims_session=None,
    ):
        own_type = type(self).DATASET_TYPE
        if dataset_type is None:
            dataset_type = own_type
        elif own_type is not None and dataset_type != own_type:
            raise DatasetError(
                f"A {type(self).__name__} has dataset_type {own_type!r}, "
                f"not {dataset_type!r}"
            )
        self.path = path
        self.is_raw = is_raw
        self.dataset_type = dataset_type
        self._genealogy = tuple(genealogy) if genealogy else None
        if name is None and self._genealogy:
            name = "_".join(self._genealogy)
        self.name = name
        self.extra_attributes = extra_attributes
        self.created = created
        self.project = project
        self.origin_id = origin_id
        self.id = id
        self._flexilims_session = flexilims_session

    # ------------------------------------------------------------ properties

    @property
    def path(self) -> Path:
        """Path of the data, relative to the data root (or absolute)."""
        path = self._path
        if not isinstance(path, Path):
            path = self._path = Path(path)
        return path

    @path.setter
    def path(self, value):
        if value is None:
            raise DatasetError("A dataset needs a path.")
        # Text is parsed on first use: reading a thousand datasets from the
        # database then costs no path parsing until their paths are wanted.
        self._path = value if isinstance(value, str) else Path(value)

    @property
    def path_full(self) -> Path:
        """Absolute path: :attr:`path` below the raw or processed data root of
        the dataset's project (:func:`flexiznam.main.get_data_root`)."""
        if self.path.is_absolute():
            return self.path
        which = "raw" if self.is_raw else "processed"
        root = get_data_root(
            which, project=self.project, flexilims_session=self._flexilims_session
        )
        return root / self.path

    @property
    def is_raw(self) -> bool:
        """True for raw data (``'yes'`` on flexilims)."""
        return self._is_raw

    @is_raw.setter
    def is_raw(self, value):
        self._is_raw = is_raw_flag(value)

    @property
    def genealogy(self) -> tuple | None:
        """Short names from the mouse down to this dataset (None if unplaced).

        Setting it also sets :attr:`name` to ``'_'.join(genealogy)``.
        """
        return self._genealogy

    @genealogy.setter
    def genealogy(self, value):
        self._genealogy = tuple(value) if value else None
        if self._genealogy:
            self.name = "_".join(self._genealogy)

    @property
    def dataset_name(self) -> str | None:
        """Short name: the last element of the genealogy, or the name."""
        return self._genealogy[-1] if self._genealogy else self.name

    @property
    def extra_attributes(self) -> dict:
        """Attributes beyond the base ones."""
        return self._extra_attributes

    @extra_attributes.setter
    def extra_attributes(self, value):
        value = dict(value or {})
        reserved = [k for k in value if k in BASE_ATTRIBUTES or k in ENTITY_FIELDS]
        if reserved:
            raise DatasetError(
                f"{', '.join(reserved)} cannot be extra attributes of a dataset"
            )
        self._extra_attributes = value

    @property
    def flexilims_session(self):
        """The session, opened from :attr:`project` on first use if needed."""
        if self._flexilims_session is None:
            self._flexilims_session = open_session(None, self.project)
        return self._flexilims_session

    @flexilims_session.setter
    def flexilims_session(self, value):
        self._flexilims_session = value

    def __repr__(self) -> str:
        kind = "raw" if self.is_raw else "processed"
        return (
            f"<{type(self).__name__} {self.name!r} ({self.dataset_type}, {kind}) "
            f"at {self.path.as_posix()}>"
        )

    # ---------------------------------------------------------------- files

    def associated_files(self) -> list[Path]:
        """Absolute paths of the files that make up the dataset.

        The base class knows one file: :attr:`path_full` when it is a file.
        Subclasses whose path is a folder list their files.
        """
        return [self.path_full] if self.path_full.is_file() else []

    def invalid_reason(self) -> str:
        """Why the dataset is not valid, or ``''`` when it is.

        Subclasses add their checks to this one (the path must exist).
        """
        if not self.path_full.exists():
            return f"{self.path_full} does not exist"
        return ""

    def is_valid(self, return_reason=False):
        """Check that the data is there and complete.

        Parameters
        ----------
        return_reason : bool
            Return the reason instead of a boolean.

        Returns
        -------
        bool or str
            Whether the dataset is valid; with ``return_reason``, the reason it
            is not, or ``''`` when it is valid.
        """
        reason = self.invalid_reason()
        return reason if return_reason else not reason

    # ------------------------------------------------------------ detection

    @classmethod
    def detect(cls, folder: Path, filenames: list[str], verbose=False) -> list:
        """Datasets of this type among files of a folder (to override).

        Parameters
        ----------
        folder : Path
            Absolute path of the folder.
        filenames : list of str
            Names of the files of ``folder`` that no type asked before took,
            sorted.
        verbose : bool
            Print what is found or skipped.

        Returns
        -------
        list of Dataset
            Datasets with their short name as ``name`` and a path in
            ``folder``; their :meth:`associated_files` are taken from the
            types asked after this one.
        """
        return []

    @classmethod
    def from_folder(cls, folder, verbose=False) -> dict:
        """Find the datasets in a folder (not in its subfolders).

        On :class:`Dataset`, every registered type looks at the folder in
        ``DETECTION_ORDER``; on a subclass, only that type does. Paths are made
        relative to the data root that contains the folder, and ``is_raw`` set
        from it (raw when the folder is under no root); under a project's own
        root (``project_paths``), ``project`` is that project.

        Parameters
        ----------
        folder : str or Path
            The folder to look at.
        verbose : bool
            Print what each type finds.

        Returns
        -------
        dict
            Dataset name -> Dataset.

        Raises
        ------
        DatasetError
            If the folder does not exist or two datasets have the same name.
        """
        folder = Path(folder).absolute()
        if not folder.is_dir():
            raise DatasetError(f"{folder} is not a folder")
        with os.scandir(folder) as entries:
            filenames = sorted(entry.name for entry in entries if entry.is_file())
        if cls is Dataset:
            classes = sorted(
                set(Dataset.SUBCLASSES.values()),
                key=lambda klass: (klass.DETECTION_ORDER, klass.DATASET_TYPE),
            )
        else:
            classes = [cls]
        relative, is_raw, project = locate_folder_root(folder)
        claimed: set[str] = set()
        found: dict[str, Dataset] = {}
        for klass in classes:
            available = [name for name in filenames if name not in claimed]
            datasets = klass.detect(folder, available, verbose=verbose)
            if verbose and datasets:
                names = ", ".join(ds.name for ds in datasets)
                print(f"{klass.DATASET_TYPE}: {len(datasets)} in {folder}: {names}")
            for dataset in datasets:
                if dataset.name in found:
                    other = found[dataset.name]
                    raise DatasetError(
                        f"Two datasets named {dataset.name!r} in {folder}: a "
                        f"{other.dataset_type} and a {dataset.dataset_type} "
                        "dataset. Rename the files of one of them."
                    )
                claimed.update(
                    file.name
                    for file in dataset.associated_files()
                    if file.parent == folder
                )
                found[dataset.name] = dataset
        for dataset in found.values():
            try:
                inside = dataset.path.relative_to(folder)
            except ValueError:
                continue
            dataset.path = relative / inside
            dataset.is_raw = is_raw
            if project is not None and dataset.project is None:
                dataset.project = project
        return found

    # -------------------------------------------------------------- formats

    def attributes(self) -> dict:
        """The attributes of the dataset entity (base and extra), plain types."""
        attributes = {
            "path": self.path.as_posix(),
            "is_raw": "yes" if self.is_raw else "no",
            "dataset_type": self.dataset_type,
            "created": self.created,
            "genealogy": list(self.genealogy) if self.genealogy else None,
        }
        attributes.update(plain(self.extra_attributes))
        return attributes

    def format(self, mode="flexilims"):
        """The dataset as flexilims or YAML data.

        Parameters
        ----------
        mode : str
            ``'flexilims'``: a :class:`pandas.Series` shaped like the reply of
            :func:`flexiznam.main.get_entity` (``name``, ``type``,
            ``origin_id``, then the attributes). ``'yaml'``: a dict of plain
            types with ``dataset_type``, ``path``, ``is_raw``, ``created``,
            ``genealogy`` and ``extra_attributes``; no name (the name is the
            key of the dataset in an acquisition YAML) and no ids.

        Returns
        -------
        pandas.Series or dict
        """
        if mode == "flexilims":
            data = {"name": self.name, "type": "dataset", "origin_id": self.origin_id}
            data.update(self.attributes())
            return pd.Series(data, dtype=object)
        if mode == "yaml":
            return {
                "dataset_type": self.dataset_type,
                "path": self.path.as_posix(),
                "is_raw": "yes" if self.is_raw else "no",
                "created": self.created,
                "genealogy": list(self.genealogy) if self.genealogy else None,
                "extra_attributes": plain(self.extra_attributes),
            }
        raise AttributeError(f"mode must be 'flexilims' or 'yaml', not {mode!r}")

    @classmethod
    def from_yaml(
        cls,
        data: dict,
        name=None,
        project=None,
        origin_id=None,
        flexilims_session=None,
    ):
        """A dataset from its YAML form (:meth:`format` with ``mode='yaml'``).

        The class is the one registered for ``data['dataset_type']``
        (:class:`Dataset` for types without a class).
        """
        data = dict(data)
        unknown = set(data) - {
            "dataset_type",
            "path",
            "is_raw",
            "created",
            "genealogy",
            "extra_attributes",
            "name",
        }
        if unknown:
            raise DatasetError(
                f"Unknown fields in the description of dataset {name}: "
                f"{', '.join(sorted(unknown))}"
            )
        dataset_type = data.get("dataset_type")
        klass = Dataset.SUBCLASSES.get(dataset_type, Dataset)
        return klass(
            path=data.get("path"),
            is_raw=data.get("is_raw", "yes"),
            dataset_type=dataset_type,
            name=name or data.get("name"),
            genealogy=data.get("genealogy"),
            extra_attributes=data.get("extra_attributes"),
            created=data.get("created"),
            project=project,
            origin_id=origin_id,
            flexilims_session=flexilims_session,
        )
