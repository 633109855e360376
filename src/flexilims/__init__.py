"""flexilims: a generic lab information store speaking the Flexilims protocol.

Open a session with :func:`open_session` (a database URL or a server URL);
its methods are those of :class:`Session`, in this process or over HTTP.

The names below are loaded when first used, so that ``import flexilims`` (and
code that only needs its errors) does not load SQLAlchemy, Alembic or
requests.
"""

import importlib

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
    TypeNotDefined,
    Unavailable,
)

#: Names loaded on first use, and the module that holds each.
_LAZY = {
    "Flexilims": ".client",
    "LocalSession": ".local",
    "Session": ".session",
    "Store": ".store",
    "open_session": ".connect",
}

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
    "TypeNotDefined",
    "Unavailable",
    "open_session",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'flexilims' has no attribute {name!r}")
