"""Camera recordings: a video with its timestamps and metadata.

A camera ``<camera>`` writes three files in the recording folder:

- the video ``<camera>.mp4``, ``.avi`` or ``.bin`` (raw frames);
- ``<camera>_timestamps.csv``, the time of each frame;
- ``<camera>_metadata.yml`` (or ``.txt``), the acquisition settings.

A camera is detected from its timestamps or metadata file (a lone video could
be anything); the dataset is named ``<camera>`` and its path is the folder. It
is valid when the three files are there. ``*harpmessage*.bin`` files are HARP
data, never videos.
"""

from pathlib import Path

from .datasets import Dataset
from .helpers import created_time

#: Video extensions, by preference when a camera has several videos.
VIDEO_EXTENSIONS = (".mp4", ".avi", ".bin")
TIMESTAMPS_SUFFIX = "_timestamps.csv"
METADATA_SUFFIXES = ("_metadata.yml", "_metadata.yaml", "_metadata.txt")

#: Extra attributes naming the files of a camera.
FILE_ATTRIBUTES = ("video_file", "timestamp_file", "metadata_file")


def _camera_part(filename: str):
    """``(camera, attribute)`` for a camera file name, or None."""
    lower = filename.lower()
    if lower.endswith(TIMESTAMPS_SUFFIX):
        return filename[: -len(TIMESTAMPS_SUFFIX)], "timestamp_file"
    for suffix in METADATA_SUFFIXES:
        if lower.endswith(suffix):
            return filename[: -len(suffix)], "metadata_file"
    for extension in VIDEO_EXTENSIONS:
        if lower.endswith(extension) and "harpmessage" not in lower:
            return filename[: -len(extension)], "video_file"
    return None


class CameraData(Dataset):
    """The video, timestamps and metadata files of one camera.

    Extra attributes: ``video_file``, ``timestamp_file`` and
    ``metadata_file``, file names in the folder (absent when not found).
    """

    DATASET_TYPE = "camera"
    DETECTION_ORDER = 10

    @property
    def video_file(self):
        return self.extra_attributes.get("video_file")

    @property
    def timestamp_file(self):
        return self.extra_attributes.get("timestamp_file")

    @property
    def metadata_file(self):
        return self.extra_attributes.get("metadata_file")

    @classmethod
    def detect(cls, folder: Path, filenames: list[str], verbose=False) -> list:
        """One dataset per camera with a timestamps or metadata file."""
        cameras: dict[str, dict[str, list[str]]] = {}
        for filename in filenames:
            part = _camera_part(filename)
            if part is not None and part[0]:
                camera, attribute = part
                cameras.setdefault(camera, {}).setdefault(attribute, []).append(
                    filename
                )
        datasets = []
        for camera, parts in sorted(cameras.items()):
            if "timestamp_file" not in parts and "metadata_file" not in parts:
                if verbose:
                    print(f"{folder / parts['video_file'][0]}: no timestamps, skipped")
                continue
            extra = {}
            for attribute, names in parts.items():
                if attribute == "video_file":
                    names = sorted(
                        names,
                        key=lambda n: VIDEO_EXTENSIONS.index(Path(n).suffix.lower()),
                    )
                extra[attribute] = names[0]
                if verbose and len(names) > 1:
                    print(f"{camera}: several {attribute}, kept {names[0]}")
            first = folder / extra.get("video_file", next(iter(extra.values())))
            datasets.append(
                cls(
                    path=folder,
                    is_raw=True,
                    name=camera,
                    extra_attributes=extra,
                    created=created_time(first),
                )
            )
        return datasets

    def associated_files(self) -> list[Path]:
        """The video, timestamps and metadata files that are listed."""
        return [
            self.path_full / self.extra_attributes[attribute]
            for attribute in FILE_ATTRIBUTES
            if self.extra_attributes.get(attribute)
        ]

    def invalid_reason(self) -> str:
        """The folder and the three files must exist."""
        reason = super().invalid_reason()
        if reason:
            return reason
        problems = []
        for attribute in FILE_ATTRIBUTES:
            filename = self.extra_attributes.get(attribute)
            if not filename:
                problems.append(f"no {attribute.replace('_', ' ')}")
            elif not (self.path_full / filename).is_file():
                problems.append(f"{filename} missing")
        if problems:
            return f"camera {self.name} in {self.path_full}: " + ", ".join(problems)
        return ""
