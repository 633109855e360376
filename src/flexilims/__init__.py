"""flexilims: a generic lab information store speaking the Flexilims protocol."""

from .client import Flexilims
from .errors import (
    AuthenticationFailed,
    BadRequest,
    FlexilimsError,
    Forbidden,
    NotFound,
    ServerUnreachable,
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
    "NotFound",
    "ServerUnreachable",
    "Session",
    "Store",
]
