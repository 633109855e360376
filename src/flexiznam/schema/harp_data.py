"""HARP behaviour data: a binary message file with the csv files beside it.

The HARP board logs every message in ``<prefix>harpmessage<suffix>.bin``
(``PZAH6.4b_S20220419_R165218_harpmessage.bin``); the Bonsai workflow writes
csv files beside it with the same prefix
(``PZAH6.4b_S20220419_R165218_RotaryEncoder.csv``). One dataset per binary
file, named after it (its stem), takes the csv files whose name starts with
the same prefix and ends with the same suffix (``R1_harpmessage_2.bin`` takes
``R1_RotaryEncoder_2.csv``); the longest prefixes choose first. A binary
without prefix or suffix (``harpmessage.bin``) takes every csv file left in
the folder but ``FrameLog.csv`` (a visual stimulation log). Camera timestamps
are taken earlier by the camera type.
"""

import re
from pathlib import Path

from .datasets import Dataset
from .helpers import created_time

HARP_FILE = re.compile(r"^(?P<prefix>.*?)harpmessage(?P<suffix>.*)\.bin$", re.I)


def _csv_key(csv_name: str, prefix: str, suffix: str) -> str:
    stem = csv_name[: -len(".csv")]
    key = stem[len(prefix) : len(stem) - len(suffix)]
    return key.strip("_") or stem


def _belongs(csv_name: str, prefix: str, suffix: str) -> bool:
    stem = csv_name[: -len(".csv")]
    return (
        len(stem) > len(prefix) + len(suffix)
        and stem.startswith(prefix)
        and stem.endswith(suffix)
    )


class HarpData(Dataset):
    """A HARP binary message file and its csv files.

    Extra attributes: ``binary_file`` (file name) and ``csv_files``, a dict
    from a short key (the csv name without the common prefix:
    ``RotaryEncoder``) to the file name.
    """

    DATASET_TYPE = "harp"
    DETECTION_ORDER = 20

    @property
    def binary_file(self):
        return self.extra_attributes.get("binary_file")

    @property
    def csv_files(self) -> dict:
        return dict(self.extra_attributes.get("csv_files") or {})

    @classmethod
    def detect(cls, folder: Path, filenames: list[str], verbose=False) -> list:
        """One dataset per ``*harpmessage*.bin`` file."""
        binaries = []
        for filename in filenames:
            match = HARP_FILE.match(filename)
            if match:
                binaries.append((filename, match["prefix"], match["suffix"]))
        # The most specific prefixes choose their csv files first.
        binaries.sort(key=lambda item: (-len(item[1]) - len(item[2]), item[0]))
        csv_left = [name for name in filenames if name.lower().endswith(".csv")]
        datasets = []
        for filename, prefix, suffix in binaries:
            if prefix or suffix:
                mine = [name for name in csv_left if _belongs(name, prefix, suffix)]
            else:
                mine = [name for name in csv_left if name != "FrameLog.csv"]
            csv_left = [name for name in csv_left if name not in mine]
            csv_files = {_csv_key(name, prefix, suffix): name for name in mine}
            if len(csv_files) < len(mine):  # two csv with one key: full stems
                csv_files = {name[: -len(".csv")]: name for name in mine}
            if verbose and not mine:
                print(f"{folder / filename}: no csv file")
            datasets.append(
                cls(
                    path=folder,
                    is_raw=True,
                    name=filename[: -len(".bin")],
                    extra_attributes={"binary_file": filename, "csv_files": csv_files},
                    created=created_time(folder / filename),
                )
            )
        return sorted(datasets, key=lambda ds: ds.name)

    def associated_files(self) -> list[Path]:
        """The binary file and the csv files."""
        files = [self.binary_file] if self.binary_file else []
        files += list(self.csv_files.values())
        return [self.path_full / name for name in files]

    def invalid_reason(self) -> str:
        """The folder, the binary file and the csv files listed must exist."""
        reason = super().invalid_reason()
        if reason:
            return reason
        if not self.binary_file:
            return f"harp {self.name}: no binary file"
        missing = [f.name for f in self.associated_files() if not f.is_file()]
        if missing:
            return f"harp {self.name} in {self.path_full}: missing " + ", ".join(
                missing
            )
        return ""
