"""From acquisition folders to the database: acquisition YAML, upload, checks.

After an experiment, describe the session folder (:func:`create_yaml`), check
the description (:func:`check_yaml`), and upload it in one transaction
(:func:`upload`). :func:`check_paths` and :func:`check_names` look for data
and names that drifted from the database. The format is documented in
``docs/acquisition-yaml.md``.

The functions are imported on first use, so that ``flexiznam --help`` stays
quick.
"""

import importlib

_EXPORTS = {
    "FORMAT_VERSION": ".acquisition_yaml",
    "dump": ".acquisition_yaml",
    "load": ".acquisition_yaml",
    "walk": ".acquisition_yaml",
    "write": ".acquisition_yaml",
    "check_names": ".audit",
    "check_paths": ".audit",
    "Problem": ".check",
    "check_yaml": ".check",
    "create_yaml": ".create",
    "UploadReport": ".upload_yaml",
    "upload": ".upload_yaml",
}

__all__ = [
    "FORMAT_VERSION",
    "Problem",
    "UploadReport",
    "check_names",
    "check_paths",
    "check_yaml",
    "create_yaml",
    "dump",
    "load",
    "upload",
    "walk",
    "write",
]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
