"""Exceptions raised by flexiznam, and the database's refusals in its words.

Every class derives from :class:`FlexiznamError`, so ``except FlexiznamError``
catches whatever flexiznam refuses. A refusal of the database (a typed
:class:`flexilims.errors.FlexilimsError`) becomes one of these by its class,
never by its text (:func:`from_store`), worded for people: which type, which
project, what to do, and never the Flexilims protocol's ``null`` trailer.
"""

import difflib
from contextlib import contextmanager

from flexilims import errors as store_errors


class FlexiznamError(Exception):
    """Anything flexiznam refuses to do; the base of its exceptions."""


class ConfigurationError(FlexiznamError):
    """The configuration file cannot be loaded"""


class DatasetError(FlexiznamError):
    """Cannot automatically deal with this dataset"""


class FlexilimsError(FlexiznamError, OSError):
    """I cannot do that on flexilims

    Also an ``OSError``, as the Flexilims client's refusals are: lab code that
    catches ``IOError`` around flexiznam's reads keeps working.
    """


class NameNotUniqueError(FlexiznamError):
    """Mouse name does not correspond to exactly 1 entry"""


class SyncYmlError(FlexiznamError):
    """The YAML file used for synchronisation is invalid"""


def from_store(error: store_errors.FlexilimsError, datatype=None) -> FlexiznamError:
    """A refusal of the database as a flexiznam error, worded for people.

    Parameters
    ----------
    error : flexilims.errors.FlexilimsError
        What the store (in-process or over HTTP) raised.
    datatype : str, optional
        The type the request was about, for servers that do not say it.
    """
    if isinstance(error, store_errors.OperationFailed):
        return from_store(error.cause, datatype)
    if isinstance(error, store_errors.NameTaken):
        kind = error.datatype or datatype or "entity"
        article = "An" if kind[0].lower() in "aeiou" else "A"
        return NameNotUniqueError(
            f"{article} {kind} named {error.name} already exists in project "
            f"{error.project}."
        )
    if isinstance(error, store_errors.TypeNotDefined):
        return FlexilimsError(type_not_defined_message(error.datatype, error.defined))
    if isinstance(error, store_errors.ProjectNotFound):
        return ConfigurationError(error.detail)
    if isinstance(error, store_errors.AuthenticationFailed):
        url, username = _server()
        return ConfigurationError(
            f"The server {url} refused the password of {username}. If it changed, "
            "store the new one with `flexiznam add-password`."
        )
    if isinstance(error, store_errors.ServerUnreachable):
        url, _ = _server()
        return FlexilimsError(
            f"Cannot reach the flexilims server at {url}: check that it is running "
            "and that you are on its network, and flexilims_url in the config "
            "(offline_mode: true works on the embedded database meanwhile)."
        )
    if isinstance(error, store_errors.TooManyRequests):
        wait = f" {error.retry_after:.0f} s" if error.retry_after else " a while"
        return FlexilimsError(
            f"Too many failed attempts: wait{wait} before trying again."
        )
    if isinstance(error, store_errors.Unavailable):
        return FlexilimsError(
            f"The database cannot be reached now ({error.detail}): try again "
            "in a moment."
        )
    if isinstance(error, store_errors.NotFound):
        return FlexilimsError(
            f"The server does not have this request ({error.detail}): it may be a "
            "Flexilims server, which lacks history, trash, export and lab settings."
        )
    return FlexilimsError(error.detail)


def type_not_defined_message(datatype, defined: list[str]) -> str:
    """That ``datatype`` is not defined: the closest defined type, and all
    of them."""
    listed = ", ".join(defined) or "none"
    if not datatype:
        return f"Give a datatype: the lab settings define {listed}."
    close = difflib.get_close_matches(str(datatype), defined, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return (
        f"Type '{datatype}' is not defined in the lab settings{hint}. Defined "
        f"types: {listed}. `flexiznam settings show` lists their attributes."
    )


def _server() -> tuple[str, str]:
    """The configured server's URL and user name, for messages."""
    from .config import current_config

    try:
        config = current_config()
    except ConfigurationError:
        return "the flexilims server", "your user"
    return (
        config.get("flexilims_url") or "the flexilims server",
        config.get("flexilims_username") or "your user",
    )


@contextmanager
def translated(datatype=None):
    """Raise the database's refusals in the block as flexiznam errors (also a
    decorator: ``@translated()``)."""
    try:
        yield
    except store_errors.FlexilimsError as error:
        raise from_store(error, datatype) from error
