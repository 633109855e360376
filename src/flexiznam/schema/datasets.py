"""Datasets: the files of one acquisition or analysis, and their database entry.

A :class:`Dataset` describes data on disk (``path``, relative to the raw or
processed data root of the config) and the dataset entity that records it in
the database (name, genealogy, origin, attributes). Subclasses know one kind of
data each and register themselves by ``DATASET_TYPE``::

    class WidefieldData(Dataset):
        DATASET_TYPE = "widefield"

        @classmethod
        def detect(cls, folder, filenames, verbose=False):
            return [cls(path=folder / name, name=name[:-4])
                    for name in filenames if name.endswith(".dcimg")]

That class is all a lab adds: :meth:`Dataset.from_folder` then finds widefield
datasets in folders and :meth:`Dataset.from_flexilims` returns
``WidefieldData`` objects for entities of that type. ``Dataset.SUBCLASSES``
maps each type to its class (the last class defined for a type wins).
"""

import datetime
import math
import os
from pathlib import Path, PurePath, PurePosixPath

import numpy as np
import pandas as pd

from .. import main as flz
from ..config import data_root, load_config
from ..errors import (
    ConfigurationError,
    DatasetError,
    FlexilimsError,
    NameNotUniqueError,
)
from ..utils import compare_series

#: How ``created`` is written.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: Attributes every dataset has; the others are its ``extra_attributes``.
BASE_ATTRIBUTES = ("path", "is_raw", "dataset_type", "created", "genealogy")

#: Fields of an entity that are not attributes.
ENTITY_FIELDS = (
    "id",
    "type",
    "name",
    "incrementalId",
    "createdBy",
    "dateCreated",
    "dateUpdated",
    "origin_id",
    "objects",
    "customEntities",
    "project",
)

#: Fields the database fills in: not compared by :meth:`Dataset.flexilims_report`.
_NOT_COMPARED = (
    "id",
    "incrementalId",
    "createdBy",
    "dateCreated",
    "dateUpdated",
    "objects",
    "customEntities",
    "project",
)

CONFLICT_MODES = ("abort", "skip", "append", "overwrite")
UPDATE_MODES = ("safe", "overwrite", "update")


# ------------------------------------------------------------------ helpers


def is_missing(value) -> bool:
    """True for None and NaN (an attribute that has no value)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def plain(value):
    """A copy of ``value`` made of JSON/YAML types only.

    Paths become POSIX strings, tuples lists, numpy scalars Python numbers.
    """
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def created_time(path) -> str:
    """The modification time of ``path`` as a ``created`` string."""
    stamp = os.stat(path).st_mtime
    return datetime.datetime.fromtimestamp(stamp).strftime(TIME_FORMAT)


def now() -> str:
    """The current time as a ``created`` string."""
    return datetime.datetime.now().strftime(TIME_FORMAT)


def _is_raw_flag(value) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("yes", "true", "raw"):
        return True
    if isinstance(value, str) and value.lower() in ("no", "false", "processed"):
        return False
    raise DatasetError(f"is_raw must be True/False or 'yes'/'no', not {value!r}")


def locate_folder(folder: Path, config: dict | None = None) -> tuple[Path, bool]:
    """Where ``folder`` lies: its path below a data root, and whether it is raw.

    Returns
    -------
    (Path, bool)
        The path relative to the raw data root (``True``) or the processed one
        (``False``); the absolute folder and ``True`` when it is under neither
        (or no configuration can be read).
    """
    folder = Path(folder).absolute()
    try:
        config = config or load_config()
    except ConfigurationError:
        return folder, True
    resolved = folder.resolve()
    for is_raw in (True, False):
        root = data_root(is_raw, config).resolve()
        try:
            return resolved.relative_to(root), is_raw
        except ValueError:
            continue
    return folder, True


def open_session(flexilims_session=None, project=None):
    """The given session, or a new one on ``project``."""
    if flexilims_session is not None:
        return flexilims_session
    if project is None:
        raise DatasetError("Give a flexilims_session or a project to reach flexilims.")
    return flz.get_flexilims_session(project)


# -------------------------------------------------------------------- class


class Dataset:
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
        return self._path

    @path.setter
    def path(self, value):
        if value is None:
            raise DatasetError("A dataset needs a path.")
        self._path = Path(value)

    @property
    def path_full(self) -> Path:
        """Absolute path: :attr:`path` below the raw or processed data root."""
        if self.path.is_absolute():
            return self.path
        return data_root(self.is_raw) / self.path

    @property
    def is_raw(self) -> bool:
        """True for raw data (``'yes'`` on flexilims)."""
        return self._is_raw

    @is_raw.setter
    def is_raw(self, value):
        self._is_raw = _is_raw_flag(value)

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
        from it (raw when the folder is under neither root).

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
        relative, is_raw = locate_folder(folder)
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

    # ------------------------------------------------------------ flexilims

    @classmethod
    def from_flexilims(
        cls,
        project=None,
        name=None,
        id=None,
        flexilims_session=None,
        data_series=None,
    ):
        """The dataset entity ``name`` (or ``id``) of the database.

        Parameters
        ----------
        project : str, optional
            Project name or id (needed without ``flexilims_session``).
        name : str, optional
            Full name of the dataset.
        id : str, optional
            Hexadecimal id of the dataset (instead of the name).
        flexilims_session : flexilims.Session, optional
            Session to use.
        data_series : pandas.Series or dict, optional
            An entity already fetched (:func:`flexiznam.main.get_entity`
            output), to build the dataset without a request.

        Returns
        -------
        Dataset
            An object of the class registered for its dataset type.

        Raises
        ------
        FlexilimsError
            If no dataset has that name or id.
        """
        session = flexilims_session
        if data_series is None:
            if name is None and id is None:
                raise AttributeError("Give the name or the id of the dataset.")
            session = open_session(flexilims_session, project)
            data_series = flz.get_entity(
                datatype="dataset", name=name, id=id, flexilims_session=session
            )
            if data_series is None:
                raise FlexilimsError(f"No dataset named {name} (id {id}) on flexilims")
        entity = dict(data_series)
        if isinstance(entity.get("attributes"), dict):
            entity.update(entity.pop("attributes"))
        attributes = {
            key: value
            for key, value in entity.items()
            if key not in ENTITY_FIELDS and not is_missing(value)
        }
        if entity.get("type", "dataset") != "dataset":
            raise DatasetError(f"{entity.get('name')} is a {entity['type']}")
        dataset_type = attributes.pop("dataset_type", None)
        klass = Dataset.SUBCLASSES.get(dataset_type, Dataset)
        return klass(
            path=attributes.pop("path", None) or "",
            is_raw=attributes.pop("is_raw", "yes"),
            dataset_type=dataset_type,
            name=entity.get("name"),
            genealogy=attributes.pop("genealogy", None),
            created=attributes.pop("created", None),
            extra_attributes=attributes,
            project=entity.get("project") or project,
            origin_id=entity.get("origin_id"),
            id=entity.get("id"),
            flexilims_session=session,
        )

    @classmethod
    def from_origin(
        cls,
        origin_id=None,
        origin_type=None,
        origin_name=None,
        dataset_type=None,
        conflicts=None,
        flexilims_session=None,
        project=None,
    ):
        """Find or reserve a processed dataset of a type below an entity.

        This is how analysis code gets a place to write its output::

            ds = Dataset.from_origin(origin_name=recording, origin_type="recording",
                                     dataset_type="suite2p_rois", conflicts="skip",
                                     flexilims_session=session)
            ds.path_full.mkdir(parents=True, exist_ok=True)
            ...  # write the output
            ds.update_flexilims(mode="overwrite")

        A new dataset is named after the origin (``<origin>_<type>_<n>``, the
        first free number), its path is the origin's path and that short name,
        below the processed data root. It is not uploaded until
        :meth:`update_flexilims`; two reservations made before either is
        uploaded get the same name.

        Parameters
        ----------
        origin_id, origin_name : str
            The parent entity, by id or name.
        origin_type : str, optional
            Its type (any type when searching by id or name without it).
        dataset_type : str
            Type of the dataset (default: the class's ``DATASET_TYPE``).
        conflicts : str
            What to do if processed datasets of that type are already below
            the origin: ``'abort'`` (default) raise
            :class:`~flexiznam.errors.NameNotUniqueError`; ``'skip'`` or
            ``'overwrite'`` return the existing one (an error if there are
            several); ``'append'`` reserve a new one.
        flexilims_session : flexilims.Session, optional
            Session to use (or give ``project``).
        project : str, optional
            Project name or id, to open a session.

        Returns
        -------
        Dataset
        """
        dataset_type = dataset_type or cls.DATASET_TYPE
        if dataset_type is None:
            raise AttributeError("Give a dataset_type.")
        conflicts = (conflicts or "abort").lower()
        if conflicts not in CONFLICT_MODES:
            raise AttributeError(
                f"conflicts must be one of {', '.join(CONFLICT_MODES)}, "
                f"not {conflicts!r}"
            )
        if origin_id is None and origin_name is None:
            raise AttributeError("Give origin_id or origin_name.")
        known_types = load_config()["dataset_types"]
        if dataset_type not in known_types:
            raise DatasetError(
                f"Unknown dataset type {dataset_type!r}: add it to dataset_types "
                f"in the config file (known: {', '.join(known_types)})"
            )
        session = open_session(flexilims_session, project)
        origin = flz.get_entity(
            datatype=origin_type,
            id=origin_id,
            name=origin_name,
            flexilims_session=session,
            format_reply=False,
        )
        if origin is None:
            raise FlexilimsError(
                f"No {origin_type or 'entity'} named {origin_name} (id {origin_id})"
            )
        existing = [
            entity
            for entity in flz.get_entities(
                datatype="dataset",
                origin_id=origin["id"],
                query_key="dataset_type",
                query_value=dataset_type,
                flexilims_session=session,
                format_reply=False,
            )
            if entity["attributes"].get("is_raw") == "no"
        ]
        if existing and conflicts != "append":
            names = ", ".join(sorted(entity["name"] for entity in existing))
            if conflicts == "abort":
                raise NameNotUniqueError(
                    f"{origin['name']} already has {dataset_type} dataset(s): {names}"
                )
            if len(existing) > 1:
                raise NameNotUniqueError(
                    f"{origin['name']} has several {dataset_type} datasets ({names}): "
                    "use Dataset.from_flexilims to choose one"
                )
            return Dataset.from_flexilims(
                data_series=existing[0], flexilims_session=session
            )
        attributes = origin.get("attributes") or {}
        parent_genealogy = list(attributes.get("genealogy") or [origin["name"]])
        full_name = flz.generate_name(
            "dataset", f"{origin['name']}_{dataset_type}_0", flexilims_session=session
        )
        short_name = full_name[len(origin["name"]) + 1 :]
        parent_path = attributes.get("path") or PurePosixPath(*parent_genealogy)
        klass = Dataset.SUBCLASSES.get(dataset_type, Dataset)
        return klass(
            path=PurePosixPath(parent_path, short_name),
            is_raw=False,
            dataset_type=dataset_type,
            genealogy=parent_genealogy + [short_name],
            created=now(),
            project=origin.get("project") or project,
            origin_id=origin["id"],
            flexilims_session=session,
        )

    def get_flexilims_entry(self):
        """The dataset's entity online, by id if known, else by name.

        Returns
        -------
        pandas.Series or None
        """
        return flz.get_entity(
            datatype="dataset",
            id=self.id,
            name=None if self.id else self.name,
            flexilims_session=self.flexilims_session,
        )

    def flexilims_report(self):
        """Differences between this object and its entity online.

        Returns
        -------
        pandas.DataFrame or None
            One row per differing field, columns ``offline`` and
            ``flexilims`` (empty when they agree); None if the dataset is not
            online. Missing values and nulls count as equal.
        """
        online = self.get_flexilims_entry()
        if online is None:
            return None
        offline = self.format(mode="flexilims")
        online = online.drop([key for key in _NOT_COMPARED if key in online.index])
        offline = offline[[not is_missing(value) for value in offline.to_numpy()]]
        online = online[[not is_missing(value) for value in online.to_numpy()]]
        return compare_series(offline, online, series_name=("offline", "flexilims"))

    def flexilims_status(self) -> str:
        """``'not online'``, ``'up-to-date'`` or ``'different'``.

        :meth:`flexilims_report` gives the differences.
        """
        report = self.flexilims_report()
        if report is None:
            return "not online"
        return "up-to-date" if report.empty else "different"

    def _place_below_origin(self):
        """Give an unplaced dataset its genealogy from its origin."""
        origin = flz.get_entity(
            id=self.origin_id,
            flexilims_session=self.flexilims_session,
            format_reply=False,
        )
        if origin is None:
            raise FlexilimsError(f"No entity with id {self.origin_id} (origin_id)")
        prefix = f"{origin['name']}_"
        short = self.name[len(prefix) :] if self.name.startswith(prefix) else self.name
        parent = (origin.get("attributes") or {}).get("genealogy") or [origin["name"]]
        self.genealogy = list(parent) + [short]

    def update_flexilims(self, mode="safe"):
        """Create or update the dataset's entity online.

        A dataset without genealogy is first placed below its origin (its name
        becomes ``<origin name>_<name>``).

        Parameters
        ----------
        mode : str
            What to do when the entity exists and differs: ``'safe'`` raise
            :class:`~flexiznam.errors.FlexilimsError`; ``'overwrite'`` make it
            equal to this object (attributes this object lacks are cleared);
            ``'update'`` set the attributes this object has and keep the
            others.

        Returns
        -------
        dict
            The entity online after the call.
        """
        if mode not in UPDATE_MODES:
            raise AttributeError(
                f"mode must be one of {', '.join(UPDATE_MODES)}, not {mode!r}"
            )
        if self.name is None:
            raise DatasetError("The dataset has no name")
        if self.path.is_absolute():
            raise DatasetError(
                f"{self.name}: path {self.path} is not below a data root; "
                "flexilims needs a path relative to the data root"
            )
        if self.genealogy is None and self.origin_id is not None:
            self._place_below_origin()
        report = self.flexilims_report()
        session = self.flexilims_session
        if report is None:
            if self.origin_id is None:
                raise DatasetError(
                    f"{self.name} has no origin_id: set the id of its parent"
                )
            attributes = self.attributes()
            attributes = {k: v for k, v in attributes.items() if not is_missing(v)}
            for key in ("path", "is_raw", "dataset_type", "created"):
                attributes.pop(key, None)
            reply = flz.add_dataset(
                parent_id=self.origin_id,
                dataset_type=self.dataset_type,
                created=self.created or now(),
                path=self.path.as_posix(),
                is_raw="yes" if self.is_raw else "no",
                flexilims_session=session,
                dataset_name=self.dataset_name,
                attributes=attributes,
                strict_validation=False,
                conflicts="abort",
            )
            self._update_from_reply(reply)
            return reply
        online = self.get_flexilims_entry()
        if report.empty:
            self.id = online["id"]
            return flz.get_entity(
                id=online["id"], flexilims_session=session, format_reply=False
            )
        if mode == "safe":
            raise FlexilimsError(
                f"{self.name} differs from flexilims (use mode='overwrite' or "
                f"'update'):\n{report.to_string()}"
            )
        if "name" in report.index and self.name:
            session.update_one(
                id=online["id"],
                datatype="dataset",
                name=self.name,
                strict_validation=False,
            )
        attributes = self.attributes()
        if mode == "update":
            attributes = {k: v for k, v in attributes.items() if not is_missing(v)}
        reply = flz.update_entity(
            "dataset",
            id=online["id"],
            origin_id=self.origin_id,
            mode=mode,
            attributes=attributes,
            flexilims_session=session,
        )
        self._update_from_reply(reply)
        return reply

    def _update_from_reply(self, reply):
        reply = dict(reply)
        attributes = reply.get("attributes") or {}
        self.id = reply.get("id", self.id)
        if attributes.get("genealogy"):
            self._genealogy = tuple(attributes["genealogy"])
        self.name = reply.get("name", self.name)
        self.origin_id = reply.get("origin_id", self.origin_id)
        if reply.get("project"):
            self.project = reply["project"]
