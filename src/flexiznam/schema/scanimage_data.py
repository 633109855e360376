"""Two-photon TIFF series written by ScanImage.

ScanImage names its files ``<stem>_<acquisition>_<file>.tif``, both numbers on
five digits: ``overview_zoom1_00001_00001.tif`` is the first file of the first
acquisition of ``overview_zoom1``. One dataset groups the files of one
acquisition and is named ``<stem>_<acquisition>`` (``overview_zoom1_00001``);
its path is the folder.

The header of the first file is read with :mod:`tifffile` when it has one
(the ScanImage file header, or ``SI.*`` assignments in the Software or
ImageDescription tag) and a few fields are kept as attributes: see
:data:`HEADER_FIELDS`.
"""

import math
import re
from pathlib import Path

import tifffile

from .datasets import Dataset
from .helpers import created_time, plain

#: A ScanImage TIFF file name.
SCANIMAGE_FILE = re.compile(
    r"^(?P<stem>.+)_(?P<acquisition>\d{5})_(?P<file>\d{5})\.tiff?$", re.IGNORECASE
)

#: Attributes kept from the header -> the header keys that give them.
HEADER_FIELDS = {
    "frame_rate": ("SI.hRoiManager.scanFrameRate", "state.acq.frameRate"),
    "volume_rate": ("SI.hRoiManager.scanVolumeRate",),
    "zoom": ("SI.hRoiManager.scanZoomFactor", "state.acq.zoomFactor"),
    "lines_per_frame": ("SI.hRoiManager.linesPerFrame", "state.acq.linesPerFrame"),
    "pixels_per_line": ("SI.hRoiManager.pixelsPerLine", "state.acq.pixelsPerLine"),
    "channels_saved": ("SI.hChannels.channelSave", "state.acq.savingChannel1"),
    "num_slices": ("SI.hStackManager.numSlices", "state.acq.numberOfZSlices"),
    "frames_per_file": ("SI.hScan2D.logFramesPerFile",),
}

_OLD_PREFIX = re.compile(r"^scanimage\.SI\d*\.")


def _value(text: str):
    text = text.strip()
    try:
        from tifffile.tifffile import matlabstr2py

        return matlabstr2py(text)
    except Exception:  # noqa: BLE001 (not a Matlab value: keep the text)
        return text.strip("'")


def parse_assignments(text: str) -> dict:
    """``key = value`` lines of a ScanImage header as a dict.

    Values are converted from their Matlab form (numbers, lists, strings,
    booleans); ``scanimage.SI5.x`` keys of old versions become ``SI.x``.
    """
    header = {}
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = _OLD_PREFIX.sub("SI.", key.strip())
        if key:
            header[key] = _value(value)
    return header


def read_header(path) -> dict:
    """Non-varying ScanImage metadata of a TIFF file.

    Parameters
    ----------
    path : str or Path
        A TIFF file.

    Returns
    -------
    dict
        Header key -> value (``'SI.hRoiManager.scanZoomFactor': 2``); empty
        when the file has no ScanImage header or cannot be read.
    """
    try:
        with tifffile.TiffFile(path) as tif:
            try:
                metadata = tif.scanimage_metadata
            except Exception:  # noqa: BLE001 (damaged header: try the tags)
                metadata = None
            if metadata and metadata.get("FrameData"):
                return {
                    _OLD_PREFIX.sub("SI.", key): value
                    for key, value in metadata["FrameData"].items()
                }
            page = tif.pages[0]
            for text in (page.software or "", page.description or ""):
                if text.startswith(("SI.", "state.")) or "scanimage.SI" in text:
                    return parse_assignments(text)
    except (OSError, ValueError, tifffile.TiffFileError):
        return {}
    return {}


def header_attributes(header: dict) -> dict:
    """The :data:`HEADER_FIELDS` and ``scanimage_version`` of a header."""
    attributes = {}
    major = header.get("SI.VERSION_MAJOR")
    if major is not None:
        minor = header.get("SI.VERSION_MINOR")
        attributes["scanimage_version"] = (
            f"{major}.{minor}" if minor is not None else str(major)
        )
    elif any(key.startswith("state.") for key in header):
        attributes["scanimage_version"] = str(header.get("state.software.version", 3))
    for attribute, keys in HEADER_FIELDS.items():
        for key in keys:
            value = plain(header.get(key))
            if value is None or value == "":
                continue
            if isinstance(value, float) and not math.isfinite(value):
                continue
            attributes[attribute] = value
            break
    return attributes


class ScanimageData(Dataset):
    """The TIFF files of one ScanImage acquisition.

    Extra attributes: ``stem``, ``acquisition`` (number), ``tif_files`` (file
    names in the folder, in order) and the header fields found
    (``scanimage_version``, ``frame_rate``, ``zoom``...).
    """

    DATASET_TYPE = "scanimage"
    DETECTION_ORDER = 30

    @property
    def tif_files(self) -> list[str]:
        """Names of the TIFF files, in acquisition order."""
        return list(self.extra_attributes.get("tif_files") or [])

    @property
    def acquisition(self):
        """The acquisition number."""
        return self.extra_attributes.get("acquisition")

    @classmethod
    def detect(cls, folder: Path, filenames: list[str], verbose=False) -> list:
        """One dataset per ``<stem>_<acquisition>`` group of TIFF files."""
        groups: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for filename in filenames:
            match = SCANIMAGE_FILE.match(filename)
            if match is None:
                continue
            key = (match["stem"], match["acquisition"])
            groups.setdefault(key, []).append((int(match["file"]), filename))
        datasets = []
        for (stem, acquisition), files in sorted(groups.items()):
            tif_files = [name for _, name in sorted(files)]
            first = folder / tif_files[0]
            header = read_header(first)
            if verbose and not header:
                print(f"{first}: no ScanImage header")
            extra = {
                "stem": stem,
                "acquisition": int(acquisition),
                "tif_files": tif_files,
                **header_attributes(header),
            }
            datasets.append(
                cls(
                    path=folder,
                    is_raw=True,
                    name=f"{stem}_{acquisition}",
                    extra_attributes=extra,
                    created=created_time(first),
                )
            )
        return datasets

    def associated_files(self) -> list[Path]:
        """The TIFF files."""
        return [self.path_full / name for name in self.tif_files]

    def invalid_reason(self) -> str:
        """The folder and every TIFF file must exist."""
        reason = super().invalid_reason()
        if reason:
            return reason
        if not self.path_full.is_dir():
            return f"{self.path_full} is not a folder"
        if not self.tif_files:
            return f"{self.name}: no TIFF file listed"
        missing = [
            name for name in self.tif_files if not (self.path_full / name).is_file()
        ]
        if missing:
            return f"{self.name}: missing TIFF files in {self.path_full}: " + ", ".join(
                missing
            )
        return ""
