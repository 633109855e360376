"""The session interface shared by the HTTP client and the in-process session.

Every method here builds the request exactly as the Flexilims client sends it
(``None`` parameters left out, the JSON body as sent); subclasses only say how a
request travels: over HTTP (:class:`flexilims.Flexilims`) or straight into the
store (:class:`flexilims.LocalSession`).
"""

from abc import ABC, abstractmethod

from .protocol import IDEMPOTENCY_HEADER


def _params(**params) -> dict:
    return {key: value for key, value in params.items() if value is not None}


class Session(ABC):
    """Methods of a flexilims session, as in the Flexilims client.

    Attributes
    ----------
    project_id : str or None
        The default project of ``get``, ``post`` and ``update_many``.
    username : str
        Who the requests are made as.
    """

    project_id: str | None
    username: str

    @abstractmethod
    def request(
        self, method: str, operation: str, params: dict, body=None, headers=None
    ):
        """Send one request; return the decoded JSON reply or the text reply.

        ``headers`` are protocol headers of ours (an idempotency key); a
        session that has no reply to lose (in-process) may ignore them.
        """

    def get(
        self,
        datatype=None,
        project_id=None,
        query_key=None,
        query_value=None,
        id=None,
        created_by=None,
        date_created=None,
        date_created_operator=None,
        origin_id=None,
        name=None,
        cross_project_entity=None,
        offset=None,
        limit=None,
    ) -> list[dict]:
        """Entities matching all the given filters (a list of dicts)."""
        if project_id is None:
            project_id = self.project_id
        params = _params(
            type=datatype,
            project_id=project_id,
            query_key=query_key,
            query_value=query_value,
            id=id,
            created_by=created_by,
            date_created=date_created,
            date_created_operator=date_created_operator,
            origin_id=origin_id,
            name=name,
            cross_project_entity=cross_project_entity,
            offset=offset,
            limit=limit,
        )
        return self.request("GET", "get", params)

    def get_children(self, id) -> list[dict]:
        """The direct children of entity ``id``, all types."""
        return self.request("GET", "get-children", {"id": id})

    def get_descendants(self, id, datatype=None) -> list[dict]:
        """Every entity below ``id`` at any depth, in one request (ours).

        Parameters
        ----------
        datatype : str or list of str, optional
            Keep only these types.
        """
        if isinstance(datatype, list | tuple):
            datatype = ",".join(datatype)
        return self.request("GET", "get-descendants", _params(id=id, type=datatype))

    def get_project_info(self) -> list[dict]:
        """The projects this user can see (``id``, ``uuid`` and ``name`` each)."""
        return self.request("GET", "projects", {})

    def post(
        self,
        datatype,
        name,
        attributes,
        project_id=None,
        origin_id=None,
        other_relations=None,
        strict_validation=True,
    ) -> dict:
        """Create an entity; returns it."""
        if project_id is None:
            project_id = self.project_id
        body = {
            "type": datatype,
            "name": name,
            "project_id": project_id,
            "attributes": attributes,
        }
        if origin_id is not None:
            body["origin_id"] = origin_id
        if other_relations is not None:
            body["other_relations"] = other_relations
        params = {"strict_validation": str(bool(strict_validation)).lower()}
        return self.request("POST", "save", params, body)

    def update_one(
        self,
        id,
        datatype,
        origin_id=None,
        name=None,
        attributes=None,
        strict_validation=True,
        allow_nulls=False,
        other_relations=None,
    ) -> dict:
        """Merge ``attributes`` into entity ``id`` (and rename or move it)."""
        params = {
            "type": datatype,
            "id": id,
            "strict_validation": str(bool(strict_validation)).lower(),
        }
        if allow_nulls:
            params["allow_nulls"] = "true"
        body = _params(
            name=name,
            origin_id=origin_id,
            attributes=attributes,
            other_relations=other_relations,
        )
        return self.request("PUT", "update-one", params, body)

    def update_many(
        self,
        datatype,
        update_key,
        update_value,
        query_key=None,
        query_value=None,
        project_id=None,
        strict_validation=True,
    ) -> str:
        """Set ``update_key`` on every matching entity; returns the server's text."""
        if project_id is None:
            project_id = self.project_id
        params = _params(
            type=datatype,
            project_id=project_id,
            update_key=update_key,
            update_value=update_value,
            query_key=query_key,
            query_value=query_value,
            strict_validation=str(bool(strict_validation)).lower(),
        )
        return self.request("PUT", "update-many", params)

    def delete(self, id) -> str:
        """Delete entity ``id`` and everything below it (to the trash)."""
        return self.request("DELETE", "delete", {"id": id})

    def batch(
        self,
        operations,
        conflicts="abort",
        project_id=None,
        strict_validation=False,
        allow_nulls=False,
        dry_run=False,
        idempotency_key=None,
    ) -> dict:
        """Apply creations and updates in one transaction, all or nothing (ours).

        Parameters
        ----------
        operations : list of dict
            ``{"op": "create", "ref": ..., "type": ..., "name": ...,
            "origin_id" or "origin_ref": ..., "attributes": {...}}`` or
            ``{"op": "update", "type": ..., "id": ..., "attributes": {...}}``;
            see ``docs/batch-endpoint.md``.
        conflicts : str
            When a creation's name is taken: ``abort``, ``skip``, ``update``
            or ``overwrite``.
        project_id : str, optional
            Project of creations that name none (default: the session's).
        strict_validation : bool
            Every attribute must be defined in the lab settings.
        allow_nulls : bool
            Write the empty strings of updates.
        dry_run : bool
            Write nothing; report what would happen and, in ``problems``,
            every operation that would be refused.
        idempotency_key : str, optional
            A key of the caller's choosing (a UUID) that makes a retry safe:
            the server applies the batch once and replays its reply to the
            same request sent again with the same key within a day. The
            in-process session has no reply to lose and ignores it.

        Returns
        -------
        dict
            ``created``, ``updated``, ``skipped`` counts and one result per
            operation (``index``, ``ref``, ``status``, ``id``, ``type``,
            ``name``); with ``dry_run``, ``problems`` (``index``, ``message``).
        """
        if project_id is None:
            project_id = self.project_id
        params = _params(
            project_id=project_id,
            conflicts=conflicts,
            strict_validation=str(bool(strict_validation)).lower(),
            allow_nulls=str(bool(allow_nulls)).lower(),
        )
        if dry_run:
            params["dry_run"] = "true"
        body = {"operations": operations}
        headers = (
            {} if idempotency_key is None else {IDEMPOTENCY_HEADER: idempotency_key}
        )
        return self.request("POST", "batch", params, body, headers=headers)

    # ------------------------------------------------------------ ours

    def history(self, id=None, project_id=None, before=None, limit=None) -> list:
        """Versions of an entity (``id``) or of a project, newest first (ours).

        Each version: ``version``, ``id``, ``project``, ``action``,
        ``changed_by``, ``changed_at`` (ms), ``before``, ``after`` and
        ``changes`` (``{field: [before, after]}``). Page with ``before`` (a
        version number) and ``limit``.
        """
        params = _params(id=id, project_id=project_id, before=before, limit=limit)
        return self.request("GET", "history", params)

    def revert(self, id, version) -> dict:
        """Make entity ``id`` as it was after ``version``, as a new version
        (ours); returns the entity."""
        return self.request("POST", "revert", {"id": id, "version": version})

    def trash(self, project_id=None) -> list[dict]:
        """Deleted batches of the projects this user can write, newest first
        (ours): ``batch``, ``deleted_at``, ``deleted_by``, ``project``,
        ``count``, ``root``."""
        return self.request("GET", "trash", _params(project_id=project_id))

    def restore(self, batch) -> dict:
        """Put a deleted batch back as it was (ours): ``restored`` and
        ``links_dropped`` counts."""
        return self.request("POST", "restore", {"batch": batch})

    def lab_settings(self) -> dict:
        """The lab settings (ours), as ``flexilims settings show`` prints them:
        ``{"datatypes": {name: {"project_scoped", "allowed_parents",
        "attributes": {name: {"type", "required", "allowed"}}}}}``."""
        return self.request("GET", "settings", {})

    def export(self, project_id=None) -> dict:
        """A project as nested JSON, the Flexilims offline format (ours)."""
        if project_id is None:
            project_id = self.project_id
        return self.request("GET", "export", {"project_id": project_id})
