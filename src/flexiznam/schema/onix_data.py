"""Electrophysiology acquired with ONIX: files grouped by acquisition.

The ONIX Bonsai workflow writes one or more files per device, named
``<device>_<timestamp>[_<stream>].<ext>``, where ``<timestamp>`` is the start
of the acquisition as ``YYYY-MM-DDTHH_MM_SS`` (shared by every file of an
acquisition), ``<device>`` names the hardware (``onix-rhd2164``,
``onix-breakout``, ``onix-ts4231``, ``onix-bno055``...), ``<stream>`` an
optional stream of the device and ``<ext>`` one of ``.raw``, ``.bin``,
``.dat``, ``.csv``::

    onix-rhd2164_2021-06-04T12_00_00.raw
    onix-rhd2164_2021-06-04T12_00_00_aux.raw
    onix-breakout_2021-06-04T12_00_00.csv

One dataset per timestamp, named ``onix_<timestamp>``, holds the files of
every device; its path is the folder.
"""

import re
from pathlib import Path

from .datasets import Dataset
from .helpers import created_time

ONIX_FILE = re.compile(
    r"^(?P<device>[^_]+)_(?P<timestamp>\d{4}-\d{2}-\d{2}T\d{2}_\d{2}_\d{2})"
    r"(?P<stream>_[^.]*)?\.(?P<ext>raw|bin|dat|csv)$",
    re.IGNORECASE,
)


class OnixData(Dataset):
    """The files of one ONIX acquisition.

    Extra attributes: ``timestamp`` (``YYYY-MM-DDTHH_MM_SS``) and ``devices``,
    a dict from device name to the list of its file names.
    """

    DATASET_TYPE = "onix"
    DETECTION_ORDER = 40

    @property
    def timestamp(self):
        return self.extra_attributes.get("timestamp")

    @property
    def devices(self) -> dict:
        return {
            k: list(v) for k, v in (self.extra_attributes.get("devices") or {}).items()
        }

    @classmethod
    def detect(cls, folder: Path, filenames: list[str], verbose=False) -> list:
        """One dataset per acquisition timestamp."""
        acquisitions: dict[str, dict[str, list[str]]] = {}
        for filename in filenames:
            match = ONIX_FILE.match(filename)
            if match:
                devices = acquisitions.setdefault(match["timestamp"], {})
                devices.setdefault(match["device"], []).append(filename)
        datasets = []
        for timestamp, devices in sorted(acquisitions.items()):
            first = folder / min(name for names in devices.values() for name in names)
            datasets.append(
                cls(
                    path=folder,
                    is_raw=True,
                    name=f"onix_{timestamp}",
                    extra_attributes={"timestamp": timestamp, "devices": devices},
                    created=created_time(first),
                )
            )
        return datasets

    def associated_files(self) -> list[Path]:
        """The files of every device."""
        return [
            self.path_full / name for names in self.devices.values() for name in names
        ]

    def invalid_reason(self) -> str:
        """The folder and every file listed must exist."""
        reason = super().invalid_reason()
        if reason:
            return reason
        if not self.devices:
            return f"onix {self.name}: no device file listed"
        missing = [f.name for f in self.associated_files() if not f.is_file()]
        if missing:
            return f"onix {self.name} in {self.path_full}: missing " + ", ".join(
                missing
            )
        return ""
