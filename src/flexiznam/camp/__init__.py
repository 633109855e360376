"""From acquisition folders to the database: acquisition YAML, upload, checks.

After an experiment, describe the session folder (:func:`create_yaml`), check
the description (:func:`check_yaml`), and upload it in one transaction
(:func:`upload`). :func:`check_paths` and :func:`check_names` look for data
and names that drifted from the database. The format is documented in
``docs/acquisition-yaml.md``.
"""

from .acquisition_yaml import FORMAT_VERSION, dump, load, walk, write
from .audit import check_names, check_paths
from .check import Problem, check_yaml
from .create import create_yaml
from .upload import UploadReport, upload

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
