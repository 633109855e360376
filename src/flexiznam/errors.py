"""Exceptions raised by flexiznam."""


class ConfigurationError(Exception):
    """The configuration file cannot be loaded"""


class DatasetError(Exception):
    """Cannot automatically deal with this dataset"""


class FlexilimsError(Exception):
    """I cannot do that on flexilims"""


class NameNotUniqueError(Exception):
    """Mouse name does not correspond to exactly 1 entry"""


class SyncYmlError(Exception):
    """The YAML file used for synchronisation is invalid"""
