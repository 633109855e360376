"""Exceptions raised by flexiznam, and the database's refusals in its words.

Every class derives from :class:`FlexiznamError`, so ``except FlexiznamError``
catches whatever flexiznam refuses. A refusal of the database (a typed
:class:`flexilims.errors.FlexilimsError`) becomes one of these by its class,
never by its text (:func:`from_store`), worded for people: which type, which
project, what to do, and never the Flexilims protocol's ``null`` trailer.
"""

from contextlib import contextmanager

from flexilims import errors as store_errors


class FlexiznamError(Exception):
    """Anything flexiznam refuses to do; the base of its exceptions."""


class ConfigurationError(FlexiznamError):
    """The configuration file cannot be loaded"""


class DatasetError(FlexiznamError):
    """Cannot automatically deal with this dataset"""


class FlexilimsError(FlexiznamError):
    """I cannot do that on flexilims"""


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
        return NameNotUniqueError(
            f"A {kind} named {error.name} already exists in project {error.project}."
        )
    if isinstance(error, store_errors.ProjectNotFound):
        return ConfigurationError(error.detail)
    return FlexilimsError(error.detail)


@contextmanager
def translated(datatype=None):
    """Raise the database's refusals in the block as flexiznam errors."""
    try:
        yield
    except store_errors.FlexilimsError as error:
        raise from_store(error, datatype) from error
