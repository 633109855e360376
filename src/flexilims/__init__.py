"""flexilims: a generic lab information store speaking the Flexilims protocol.

Open a session with :func:`open_session` (a database URL or a server URL);
its methods are those of :class:`Session`, in this process or over HTTP.
"""

from .client import Flexilims
from .connect import open_session
from .errors import (
    AuthenticationFailed,
    BadRequest,
    FlexilimsError,
    Forbidden,
    NameTaken,
    NotFound,
    OperationFailed,
    ProjectNotFound,
    ServerUnreachable,
    Unavailable,
)
from .local import LocalSession
from .session import Session
from .store import Store

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "Flexilims",
    "FlexilimsError",
    "Forbidden",
    "LocalSession",
    "NameTaken",
    "NotFound",
    "OperationFailed",
    "ProjectNotFound",
    "ServerUnreachable",
    "Session",
    "Store",
    "Unavailable",
    "open_session",
]
