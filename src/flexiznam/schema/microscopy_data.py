"""Microscopy images: one dataset per image file."""

from .single_file import SingleFileData


class MicroscopyData(SingleFileData):
    """An image file (``.czi``, ``.png``, ``.tif``...).

    The extensions are the config's ``microscopy_extensions``. TIFF files of a
    ScanImage series are ScanImage datasets, not microscopy ones.
    """

    DATASET_TYPE = "microscopy"
    EXTENSIONS_SETTING = "microscopy_extensions"
