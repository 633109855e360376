"""The one error hierarchy of flexilims.

The store raises these; the in-process session lets them through unchanged; the
server renders each as the protocol's status code and HTML error body, plus a
machine-readable code of ours (the ``X-Flexilims-Error`` header, see
:meth:`FlexilimsError.details`); the HTTP client turns error replies back into
the same classes. Code above the store decides by class and attributes, never by
reading a message.

They subclass ``OSError`` and read ``Error 400:  message`` because that is what
existing Flexilims clients raise and what code above them inspects.
"""

#: Appended to every ``Save failed.`` / ``Update failed.`` message on the wire,
#: as Flexilims does; :attr:`FlexilimsError.detail` is the message without it.
NULL_HINT = (
    " If you have 'null' values please substitute (null) with empty string ('') "
)


class FlexilimsError(OSError):
    """A request the store or server would not carry out.

    Parameters
    ----------
    message : str
        The message as the protocol words it (on the wire, in Flexilims' words).

    Attributes
    ----------
    status : int
        The HTTP status of the reply.
    code : str
        Machine-readable kind of error, the same in-process and over HTTP.
    message : str
        The protocol's message.
    detail : str
        The message for people: without the protocol's ``null`` trailer, and
        with what the protocol's words leave out (allowed values, defined
        types...).
    reason : str
        The detail without the ``Save failed.`` kind of opening, for callers
        that say what failed themselves (an import names the entity's place).
    field : str or None
        The part of the request refused, when it is one: ``type``, ``name``,
        ``project_id``, ``origin_id``, ``other_relations``, ``id`` or
        ``attributes.KEY`` (pages show the message beside it).
    """

    status = 500
    code = "error"

    def __init__(self, message: str, *, field: str | None = None):
        self.message = message
        self.detail = self.reason = _plain(message)
        self.field = field
        super().__init__(f"Error {self.status}:  {message}")

    def fields(self) -> dict:
        """The attributes of this class that travel with its code."""
        return {}

    def details(self) -> dict:
        """What rebuilds this error on the other side of HTTP besides the
        message: ``code`` first, the class's fields, and ``detail`` when it
        says more than the message."""
        details = {"code": self.code, **self.fields()}
        if self.field is not None:
            details["field"] = self.field
        if self.detail != _plain(self.message):
            details["detail"] = self.detail
        return details

    @classmethod
    def from_details(cls, message: str, details: dict) -> "FlexilimsError":
        """Rebuild an error of this class from its message and :meth:`details`."""
        error = cls._build(message, details)
        if isinstance(details.get("detail"), str):
            error.detail = error.reason = details["detail"]
        if isinstance(details.get("field"), str):
            error.field = details["field"]
        return error

    @classmethod
    def _build(cls, message: str, details: dict) -> "FlexilimsError":
        return cls(message)

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.details(), self.status))


def _plain(message: str) -> str:
    """A protocol message for people: without the ``null`` trailer."""
    return message.removesuffix(NULL_HINT).rstrip()


def _rebuild(cls, message, details, status=None):
    error = cls.from_details(message, details)
    if status is not None and status != error.status:
        # A status its class does not give (from :func:`error_for_status`).
        error.status = status
        error.args = (f"Error {status}:  {message}",)
    return error


class BadRequest(FlexilimsError):
    """The request breaks a rule of the protocol or of the lab's data (HTTP 400)."""

    status = 400
    code = "bad_request"


class NameTaken(BadRequest):
    """An entity of that type already has that name in the project.

    Attributes
    ----------
    datatype, name, project : str
        The type and name asked for, and the project's name.
    """

    code = "name_taken"

    def __init__(self, message: str, *, datatype: str, name: str, project: str):
        super().__init__(message, field="name")
        self.datatype, self.name, self.project = datatype, name, project

    def fields(self) -> dict:
        return {"type": self.datatype, "name": self.name, "project": self.project}

    @classmethod
    def _build(cls, message, details):
        return cls(
            message,
            datatype=details.get("type"),
            name=details.get("name"),
            project=details.get("project"),
        )


class TypeNotDefined(BadRequest):
    """The lab settings define no such datatype.

    The protocol's message stays Flexilims' (``type X is not defined``, ``type
    provided is not defined``); the detail names the defined types.

    Attributes
    ----------
    datatype : str or None
        The type asked for (None, or what was sent, when it is not text).
    defined : list of str
        The datatypes the lab settings define, in their order.
    """

    code = "type_not_defined"

    def __init__(self, message: str, *, datatype, defined):
        super().__init__(message, field="type")
        self.datatype, self.defined = datatype, list(defined or ())
        listed = ", ".join(self.defined) or "none"
        if datatype is None or datatype == "":
            detail = f"A datatype is needed (defined: {listed})."
        else:
            detail = (
                f"Type '{datatype}' is not defined in the lab settings (defined: "
                f"{listed})."
            )
        self.detail = self.reason = detail

    def fields(self) -> dict:
        return {"type": self.datatype, "defined": self.defined}

    @classmethod
    def _build(cls, message, details):
        defined = details.get("defined")
        if not isinstance(defined, list):
            defined = []
        return cls(
            message,
            datatype=details.get("type"),
            defined=[name for name in defined if isinstance(name, str)],
        )


class ProjectNotFound(BadRequest):
    """No project of that name or id (that the user can see).

    Attributes
    ----------
    project : str
        The name or id asked for.
    """

    code = "project_not_found"

    def __init__(self, message: str, *, project: str):
        super().__init__(message)
        self.project = project

    def fields(self) -> dict:
        return {"project": self.project}

    @classmethod
    def _build(cls, message, details):
        return cls(message, project=details.get("project"))


class OperationFailed(BadRequest):
    """Operation ``index`` of a batch was refused; nothing of the batch was written.

    The reply's status is that of the refusal (403 for an entity the user
    cannot write, 400 otherwise).

    Attributes
    ----------
    index : int
        The refused operation's place in the batch (from 0).
    cause : FlexilimsError
        Why it was refused.
    operation : str or None
        What the operation does (``create mouse M1``), when the message names it.
    """

    code = "operation_failed"

    def __init__(
        self,
        message: str,
        *,
        index: int,
        cause: FlexilimsError,
        operation: str | None = None,
    ):
        self.index, self.cause, self.operation = index, cause, operation
        self.status = cause.status
        super().__init__(message, field=cause.field)
        self.detail, self.reason = cause.detail, cause.reason

    def fields(self) -> dict:
        fields = {"index": self.index, "cause": self.cause.details()}
        if self.operation is not None:
            fields["operation"] = self.operation
        return fields

    @classmethod
    def _build(cls, message, details):
        cause_details = details.get("cause") or {}
        index, operation = details.get("index"), details.get("operation")
        if not isinstance(operation, str):
            operation = None
        # The cause's message follows the place: a name in the operation may
        # hold ": " too.
        prefix = f"{_place(index, operation)}: "
        if message.startswith(prefix):
            inner = message[len(prefix) :]
        else:
            inner = message.split(": ", 1)[-1]
        cause = error_from_details(400, inner, cause_details)
        return cls(message, index=index, cause=cause, operation=operation)

    @classmethod
    def at(
        cls, index: int, cause: FlexilimsError, description: str | None = None
    ) -> "OperationFailed":
        """The error of operation ``index``, its message naming the operation."""
        description = description or None
        return cls(
            f"{_place(index, description)}: {cause.message}",
            index=index,
            cause=cause,
            operation=description,
        )


def _place(index, operation: str | None) -> str:
    """``Batch failed at operation 3 (create mouse M1)``, the opening of the
    message of :class:`OperationFailed`."""
    return f"Batch failed at operation {index}" + (
        f" ({operation})" if operation else ""
    )


class IdempotencyKeyReused(BadRequest):
    """An idempotency key sent again with a different request (HTTP 422):
    a key names one request, so that only its retries replay its reply."""

    status = 422
    code = "idempotency_key_reused"


class AuthenticationFailed(FlexilimsError):
    """Wrong username or password (HTTP 401)."""

    status = 401
    code = "authentication_failed"


class Forbidden(FlexilimsError):
    """No valid token, or no access to this project (HTTP 403)."""

    status = 403
    code = "forbidden"


class NotFound(FlexilimsError):
    """No such endpoint or page (HTTP 404)."""

    status = 404
    code = "not_found"


class PayloadTooLarge(FlexilimsError):
    """The request body is larger than the server accepts (HTTP 413)."""

    status = 413
    code = "too_large"


class _RetryLater(FlexilimsError):
    """An error after which the same request may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after

    def fields(self) -> dict:
        return {"retry_after": self.retry_after}

    @classmethod
    def _build(cls, message, details):
        return cls(message, retry_after=details.get("retry_after"))


class TooManyRequests(_RetryLater):
    """Too many failed attempts: wait ``retry_after`` seconds (HTTP 429)."""

    status = 429
    code = "throttled"


class Unavailable(_RetryLater):
    """The database cannot be reached now; retry later (HTTP 503)."""

    status = 503
    code = "unavailable"


class ServerUnreachable(Unavailable):
    """The HTTP client could not reach the server at all."""

    code = "unreachable"


#: Every error class by its :attr:`~FlexilimsError.code`.
ERRORS_BY_CODE = {
    cls.code: cls
    for cls in (
        BadRequest,
        NameTaken,
        TypeNotDefined,
        ProjectNotFound,
        OperationFailed,
        IdempotencyKeyReused,
        AuthenticationFailed,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        TooManyRequests,
        Unavailable,
        ServerUnreachable,
    )
}

#: The error class of a reply that carries no code, by HTTP status.
ERRORS_BY_STATUS = {
    cls.status: cls
    for cls in (
        BadRequest,
        AuthenticationFailed,
        Forbidden,
        NotFound,
        PayloadTooLarge,
        TooManyRequests,
        Unavailable,
    )
}


def error_for_status(status: int, message: str) -> FlexilimsError:
    """The exception matching an HTTP status code (for replies without a code)."""
    cls = ERRORS_BY_STATUS.get(status)
    if cls is not None:
        return cls(message)
    error = FlexilimsError(message)
    error.status = status
    error.args = (f"Error {status}:  {message}",)
    return error


def error_from_details(status: int, message: str, details: dict) -> FlexilimsError:
    """The exception of an error reply, from its status, message and code.

    Parameters
    ----------
    status : int
        HTTP status of the reply.
    message : str
        The message of the reply's HTML page.
    details : dict
        The decoded ``X-Flexilims-Error`` header (empty when there is none:
        the class then follows the status alone).
    """
    cls = ERRORS_BY_CODE.get(details.get("code"))
    if cls is None:
        return error_for_status(status, message)
    return cls.from_details(message, details)
