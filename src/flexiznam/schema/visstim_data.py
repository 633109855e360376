"""Visual stimulation logs: ``FrameLog.csv`` and the csv files beside it.

The stimulation software logs every displayed frame in ``FrameLog.csv`` and
other events in csv files of the same folder (``NewParams.csv``,
``PhotodiodeLog.csv``...). A folder with ``FrameLog.csv`` holds one visstim
dataset named ``visstim``, whose path is the folder, with every csv file no
type asked before took (camera timestamps and HARP csv files are not
stimulation logs).
"""

from pathlib import Path

from .datasets import Dataset
from .helpers import created_time

FRAME_LOG = "FrameLog.csv"


class VisStimData(Dataset):
    """The csv logs of one visual stimulation.

    Extra attributes: ``csv_files``, a dict from the csv stem (``FrameLog``)
    to the file name.
    """

    DATASET_TYPE = "visstim"
    DETECTION_ORDER = 60
    #: Name of the dataset of a folder.
    DATASET_NAME = "visstim"

    @property
    def csv_files(self) -> dict:
        return dict(self.extra_attributes.get("csv_files") or {})

    @classmethod
    def detect(cls, folder: Path, filenames: list[str], verbose=False) -> list:
        """A dataset if ``FrameLog.csv`` is in the folder."""
        if FRAME_LOG not in filenames:
            return []
        csv_files = {
            name[: -len(".csv")]: name
            for name in filenames
            if name.lower().endswith(".csv")
        }
        return [
            cls(
                path=folder,
                is_raw=True,
                name=cls.DATASET_NAME,
                extra_attributes={"csv_files": csv_files},
                created=created_time(folder / FRAME_LOG),
            )
        ]

    def associated_files(self) -> list[Path]:
        """The csv files."""
        return [self.path_full / name for name in self.csv_files.values()]

    def invalid_reason(self) -> str:
        """The folder, ``FrameLog.csv`` and every csv file listed must exist."""
        reason = super().invalid_reason()
        if reason:
            return reason
        if FRAME_LOG not in self.csv_files.values():
            return f"visstim {self.name}: no {FRAME_LOG}"
        missing = [f.name for f in self.associated_files() if not f.is_file()]
        if missing:
            return f"visstim {self.name} in {self.path_full}: missing " + ", ".join(
                missing
            )
        return ""
