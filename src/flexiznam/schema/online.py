"""The database side of a dataset: read, compare, upload, reserve.

:class:`FlexilimsMixin` holds the methods of :class:`~flexiznam.schema.Dataset`
that talk to flexilims, through the seed API of :mod:`flexiznam.main`.
"""

from pathlib import PurePosixPath

from .. import main as flz
from ..api.queries import matches, not_found
from ..config import current_config
from ..errors import DatasetError, FlexilimsError, NameNotUniqueError
from ..utils import compare_series
from .helpers import ENTITY_FIELDS, is_missing, now, open_session, plain

#: Fields the database fills in: not compared by ``flexilims_report``.
NOT_COMPARED = (
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


class FlexilimsMixin:
    """Flexilims methods of :class:`~flexiznam.schema.Dataset`.

    The class using it provides ``SUBCLASSES``, ``DATASET_TYPE`` and the
    dataset's fields (``name``, ``genealogy``, ``path``, ``origin_id``...).
    """

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
                raise not_found("dataset", name, id)
        entity = dict(data_series)
        nested = entity.pop("attributes", None)
        if not isinstance(nested, dict):  # a Series: attributes beside the fields
            nested = {k: v for k, v in entity.items() if k not in ENTITY_FIELDS}
        attributes = {k: v for k, v in nested.items() if not is_missing(v)}
        if entity.get("type", "dataset") != "dataset":
            raise DatasetError(f"{entity.get('name')} is a {entity['type']}")
        dataset_type = attributes.pop("dataset_type", None)
        klass = cls.SUBCLASSES.get(dataset_type, cls._base_class())
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
    def from_dataseries(cls, dataseries, flexilims_session=None):
        """The dataset of an entity already fetched, without a request.

        Parameters
        ----------
        dataseries : pandas.Series or dict
            A dataset entity as :func:`flexiznam.main.get_entity` returns it
            (attributes as entries), a row of :func:`~flexiznam.main.get_entities`
            or :func:`~flexiznam.main.get_children`, or the session's dict
            (attributes nested).
        flexilims_session : flexilims.Session, optional
            Session the dataset keeps, to reach the database later.

        Returns
        -------
        Dataset
            An object of the class registered for its dataset type.

        Raises
        ------
        DatasetError
            If the entity is not a dataset.
        """
        if dataseries is None:
            raise AttributeError("Give the dataset's entity (a Series or a dict).")
        return cls.from_flexilims(
            data_series=dataseries, flexilims_session=flexilims_session
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
        extra_attributes=None,
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
        uploaded get the same name. With ``extra_attributes`` (the parameters
        of an analysis, say), only datasets that have those values count as
        existing ones: another set of parameters gets its own dataset.

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
        extra_attributes : dict, optional
            Attributes of the new dataset beyond the base ones; existing
            datasets match only if they have the same values.

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
        known_types = current_config()["dataset_types"]
        if dataset_type not in known_types:
            raise DatasetError(
                f"Unknown dataset type {dataset_type!r}: add it to dataset_types "
                f"in the config file (known: {', '.join(known_types)})"
            )
        wanted = {
            key.lower(): value for key, value in plain(extra_attributes or {}).items()
        }
        session = open_session(flexilims_session, project)
        origin = flz.get_entity(
            datatype=origin_type,
            id=origin_id,
            name=origin_name,
            flexilims_session=session,
            format_reply=False,
        )
        if origin is None:
            raise not_found(origin_type, origin_name, origin_id)
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
            if entity["attributes"].get("is_raw") == "no" and matches(entity, wanted)
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
            return cls.from_flexilims(
                data_series=existing[0], flexilims_session=session
            )
        attributes = origin.get("attributes") or {}
        parent_genealogy = list(attributes.get("genealogy") or [origin["name"]])
        full_name = flz.generate_name(
            "dataset", f"{origin['name']}_{dataset_type}_0", flexilims_session=session
        )
        short_name = full_name[len(origin["name"]) + 1 :]
        parent_path = attributes.get("path") or PurePosixPath(*parent_genealogy)
        klass = cls.SUBCLASSES.get(dataset_type, cls._base_class())
        return klass(
            path=PurePosixPath(parent_path, short_name),
            is_raw=False,
            dataset_type=dataset_type,
            genealogy=parent_genealogy + [short_name],
            extra_attributes=extra_attributes,
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
        return self._compare_online()[1]

    def _compare_online(self):
        """``(entity, report)``: the entity online (a dict) and the differences."""
        entity = flz.get_entity(
            datatype="dataset",
            id=self.id,
            name=None if self.id else self.name,
            flexilims_session=self.flexilims_session,
            format_reply=False,
        )
        if entity is None:
            return None, None
        online = flz.format_results([entity]).iloc[0]
        offline = self.format(mode="flexilims")
        online = online.drop([key for key in NOT_COMPARED if key in online.index])
        offline = offline[[not is_missing(value) for value in offline.to_numpy()]]
        online = online[[not is_missing(value) for value in online.to_numpy()]]
        report = compare_series(offline, online, series_name=("offline", "flexilims"))
        return entity, report

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
        online, report = self._compare_online()
        session = self.flexilims_session
        if online is None:
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
        if report.empty:
            self.id = online["id"]
            return online
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
