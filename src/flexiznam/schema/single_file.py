"""Datasets of one file each, recognised by their extension.

:class:`SingleFileData` is the base of the microscopy and sequencing types:
every file whose name ends with one of the extensions the config lists for the
type (``microscopy_extensions``, ``sequencing_extensions``) is a dataset of its
own, named after the file without its extension. Two files differing only by
their extension (``slide1.czi``, ``slide1.png``) are named with the extension
(``slide1_czi``, ``slide1_png``).
"""

from pathlib import Path

from ..config import current_config
from ..errors import ConfigurationError
from .datasets import Dataset
from .helpers import created_time

#: Used when the config cannot be read.
DEFAULT_EXTENSIONS = {
    "microscopy_extensions": [".czi", ".png", ".gif", ".tif", ".tiff"],
    "sequencing_extensions": [".fastq", ".fastq.gz", ".bam"],
}


class SingleFileData(Dataset):
    """A dataset made of one file: :attr:`path` is the file.

    Subclasses set ``DATASET_TYPE`` and ``EXTENSIONS_SETTING``, the config
    setting listing their extensions. They are asked late (``DETECTION_ORDER``
    90), so files another type took (a ScanImage TIFF series) are not
    detected again.
    """

    EXTENSIONS_SETTING: str | None = None
    DETECTION_ORDER = 90

    @classmethod
    def extensions(cls) -> list[str]:
        """Extensions of the type from the config, longest first, lower case."""
        if cls.EXTENSIONS_SETTING is None:
            return []
        try:
            extensions = current_config()[cls.EXTENSIONS_SETTING]
        except ConfigurationError:  # no readable config: the defaults
            extensions = DEFAULT_EXTENSIONS.get(cls.EXTENSIONS_SETTING, [])
        return sorted((e.lower() for e in extensions), key=len, reverse=True)

    @classmethod
    def split_extension(cls, filename: str, extensions=None):
        """``(stem, extension)`` of a file of this type, or None."""
        lower = filename.lower()
        for extension in extensions or cls.extensions():
            if lower.endswith(extension) and len(filename) > len(extension):
                return filename[: -len(extension)], filename[-len(extension) :]
        return None

    @classmethod
    def detect(cls, folder: Path, filenames: list[str], verbose=False) -> list:
        """One dataset per file with an extension of the type."""
        extensions = cls.extensions()
        matches = []
        for filename in filenames:
            split = cls.split_extension(filename, extensions)
            if split is not None:
                matches.append((filename, *split))
        stems = [stem for _, stem, _ in matches]
        datasets = []
        for filename, stem, extension in matches:
            name = stem
            if stems.count(stem) > 1:
                name = f"{stem}_{extension.lstrip('.').replace('.', '_').lower()}"
            path = folder / filename
            datasets.append(
                cls(path=path, is_raw=True, name=name, created=created_time(path))
            )
        return datasets

    def associated_files(self) -> list[Path]:
        """The file."""
        return [self.path_full]

    def invalid_reason(self) -> str:
        """The path must be a file with an extension of the type."""
        if not self.path_full.is_file():
            return f"{self.path_full} is not a file"
        if self.split_extension(self.path_full.name) is None:
            return (
                f"{self.path_full.name} does not end with a {self.DATASET_TYPE} "
                f"extension ({', '.join(self.extensions())})"
            )
        return ""
