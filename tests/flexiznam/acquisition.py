"""Realistic acquisition folders for tests: small files, real names and headers.

Every ``make_<type>(folder, ...)`` writes the files of one dataset in
``folder`` (created if needed) and returns the paths it wrote;
:func:`make_session_folder` builds ``root/mouse/session/recording`` trees::

    from acquisition import make_session_folder

    session = make_session_folder(
        tmp_path / "raw" / "demo", "PZAH6.4b", "S20210513",
        recordings=[
            "R182159_retinotopy",                               # default set
            {"name": "R190000_sphere", "datasets": ["scanimage", "onix"]},
            {"name": "R191500_flash",
             "datasets": [("camera", {"camera": "eye_camera"})]},
        ],
        datasets=["microscopy"],                                # in the session
    )

The default set of a recording is :data:`DEFAULT_RECORDING_DATASETS`. The
files are tiny but follow the real naming patterns, and the formats that have
a header get a real one: ScanImage TIFFs carry ``SI.*`` assignments in their
Software tag and frame data in ImageDescription (read by :mod:`tifffile` like a
ScanImage 2020 file), HARP binaries are valid HARP event messages.
"""

import struct
from pathlib import Path

import numpy as np
import tifffile
import yaml

#: Datasets a recording holds unless told otherwise.
DEFAULT_RECORDING_DATASETS = ("scanimage", "camera", "harp", "visstim")

#: ScanImage header of the generated files (override with ``header_fields``).
SCANIMAGE_HEADER = {
    "SI.LINE_FORMAT_VERSION": "1",
    "SI.VERSION_MAJOR": "'2020'",
    "SI.VERSION_MINOR": "'1'",
    "SI.hRoiManager.scanFrameRate": "30.0119",
    "SI.hRoiManager.scanVolumeRate": "30.0119",
    "SI.hRoiManager.scanZoomFactor": "2",
    "SI.hRoiManager.linesPerFrame": "16",
    "SI.hRoiManager.pixelsPerLine": "16",
    "SI.hChannels.channelSave": "[1 2]",
    "SI.hStackManager.numSlices": "1",
    "SI.hScan2D.logFramesPerFile": "2",
}


def _folder(folder) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def scanimage_software_tag(header_fields=None) -> str:
    """The Software tag of a ScanImage 2020 TIFF: ``SI.x = value`` lines.

    Parameters
    ----------
    header_fields : dict, optional
        Keys -> Matlab text of the value, added to or replacing
        :data:`SCANIMAGE_HEADER`.
    """
    header = {**SCANIMAGE_HEADER, **(header_fields or {})}
    return "\n".join(f"{key} = {value}" for key, value in header.items()) + "\n"


def _frame_description(frame_number: int, acquisition: int, rate: float) -> str:
    return (
        f"frameNumbers = {frame_number}\n"
        f"acquisitionNumbers = {acquisition}\n"
        f"frameNumberAcquisition = {frame_number}\n"
        f"frameTimestamps_sec = {(frame_number - 1) / rate:.6f}\n"
        "acqTriggerTimestamps_sec = \n"
        "nextFileMarkerTimestamps_sec = \n"
        "endOfAcquisition = 0\n"
        "endOfAcquisitionMode = 0\n"
        "dcOverVoltage = 0\n"
        "epoch = [2021  5 13 18 21 59.123]\n"
        "auxTrigger0 = []\n"
    )


def make_scanimage(
    folder,
    stem="overview_zoom1",
    acquisition=1,
    n_files=2,
    frames_per_file=2,
    shape=(16, 16),
    header=True,
    header_fields=None,
) -> list[Path]:
    """TIFF files of one ScanImage acquisition: ``<stem>_<acq>_<file>.tif``.

    Parameters
    ----------
    folder : str or Path
        Where to write.
    stem : str
        The file stem set in ScanImage.
    acquisition : int
        Acquisition number (five digits in the names).
    n_files, frames_per_file : int
        How many files, and frames (pages) in each.
    shape : tuple
        Frame shape (uint16 frames).
    header : bool
        Write the ScanImage header (Software and ImageDescription tags); a
        plain TIFF without.
    header_fields : dict, optional
        Header values to change (see :func:`scanimage_software_tag`).

    Returns
    -------
    list of Path
    """
    folder = _folder(folder)
    software = scanimage_software_tag(
        {"SI.hScan2D.logFramesPerFile": str(frames_per_file), **(header_fields or {})}
    )
    rng = np.random.default_rng(acquisition)
    paths, frame_number = [], 1
    for index in range(1, n_files + 1):
        path = folder / f"{stem}_{acquisition:05d}_{index:05d}.tif"
        with tifffile.TiffWriter(path) as tif:
            for _ in range(frames_per_file):
                frame = rng.integers(0, 2**12, size=shape, dtype=np.uint16)
                if header:
                    tif.write(
                        frame,
                        software=software,
                        description=_frame_description(frame_number, acquisition, 30),
                        metadata=None,
                        contiguous=False,
                    )
                else:
                    tif.write(frame, metadata=None, contiguous=False)
                frame_number += 1
        paths.append(path)
    return paths


def make_camera(
    folder,
    camera="face_camera",
    video_ext=".mp4",
    n_frames=5,
    video=True,
    timestamps=True,
    metadata=".yml",
) -> list[Path]:
    """A camera's video, ``<camera>_timestamps.csv`` and ``<camera>_metadata``.

    Parameters
    ----------
    camera : str
        Camera name.
    video_ext : str
        ``.mp4``, ``.avi`` or ``.bin``.
    n_frames : int
        Frames listed in the timestamps.
    video, timestamps : bool
        Write the video / the timestamps file.
    metadata : str or None
        ``.yml`` or ``.txt`` for the metadata file, None for none.
    """
    folder = _folder(folder)
    paths = []
    if video:
        path = folder / f"{camera}{video_ext}"
        if video_ext == ".mp4":  # an ISO base media header, then junk
            content = struct.pack(">I4s4sI", 20, b"ftyp", b"isom", 512) + b"isom"
        elif video_ext == ".avi":
            content = b"RIFF" + struct.pack("<I", 4) + b"AVI "
        else:
            content = b""
        path.write_bytes(content + bytes(range(64)) * n_frames)
        paths.append(path)
    if timestamps:
        path = folder / f"{camera}_timestamps.csv"
        lines = ["frame_id,hardware_time,computer_time"]
        lines += [
            f"{i},{1000 + i * 33333},{12.5 + i / 30:.6f}" for i in range(n_frames)
        ]
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    if metadata:
        path = folder / f"{camera}_metadata{metadata}"
        settings = {
            "camera": camera,
            "frame_rate": 30,
            "exposure_us": 10000,
            "width": 640,
            "height": 480,
            "pixel_format": "Mono8",
        }
        if metadata in (".yml", ".yaml"):
            path.write_text(yaml.safe_dump(settings))
        else:
            path.write_text("".join(f"{k}: {v}\n" for k, v in settings.items()))
        paths.append(path)
    return paths


def harp_message(address: int, value: int, seconds: int, ticks: int = 0) -> bytes:
    """One HARP event message with a U8 payload and its timestamp.

    Layout: message type (3, event), length, address, port (255), payload
    type (0x11: timestamped U8), timestamp (uint32 seconds, uint16 ticks of
    32 us), payload, checksum (sum of the previous bytes modulo 256).
    """
    body = struct.pack("<BBBIHB", address, 255, 0x11, seconds, ticks, value)
    message = struct.pack("<BB", 3, len(body) + 1) + body
    return message + bytes([sum(message) & 0xFF])


def make_harp(
    folder,
    prefix="PZAH6.4b_S20210513_R182159",
    suffix="",
    csv_names=("RotaryEncoder", "PhotodiodeLog", "NewParams"),
    n_messages=20,
) -> list[Path]:
    """``<prefix>_harpmessage[_<suffix>].bin`` and ``<prefix>_<name>.csv`` files.

    Parameters
    ----------
    prefix : str
        Start of every file name (``''`` for a bare ``harpmessage.bin`` and
        ``<name>.csv``).
    suffix : str
        Text after ``harpmessage`` in the binary name, added to the csv names.
    csv_names : sequence of str
        The csv files written beside the binary.
    n_messages : int
        HARP messages in the binary.
    """
    folder = _folder(folder)
    lead = f"{prefix}_" if prefix else ""
    tail = f"_{suffix}" if suffix else ""
    binary = folder / f"{lead}harpmessage{tail}.bin"
    binary.write_bytes(
        b"".join(
            harp_message(32 + i % 4, i % 256, 1000 + i // 10, i * 311 % 31250)
            for i in range(n_messages)
        )
    )
    paths = [binary]
    for name in csv_names:
        path = folder / f"{lead}{name}{tail}.csv"
        path.write_text("HarpTime,Value\n1000.0,0\n1000.1,1\n")
        paths.append(path)
    return paths


def make_visstim(
    folder, csv_names=("FrameLog", "NewParams", "PhotodiodeLog")
) -> list[Path]:
    """Visual stimulation logs: ``FrameLog.csv`` and other csv files.

    Leave ``FrameLog`` out of ``csv_names`` for an invalid log folder.
    """
    folder = _folder(folder)
    paths = []
    for name in csv_names:
        path = folder / f"{name}.csv"
        if name == "FrameLog":
            path.write_text("FrameIndex,HarpTime,MonitorTime\n0,1000.0,0.0\n")
        else:
            path.write_text("HarpTime,Value\n1000.0,1\n")
        paths.append(path)
    return paths


#: Devices of an ONIX acquisition and the streams (file suffixes) of each.
ONIX_DEVICES = {
    "onix-rhd2164": ["", "_aux"],
    "onix-breakout": [""],
    "onix-ts4231": [""],
}


def make_onix(folder, timestamp="2021-06-04T12_00_00", devices=None) -> list[Path]:
    """ONIX files ``<device>_<timestamp>[_<stream>].raw`` of one acquisition.

    Parameters
    ----------
    timestamp : str
        ``YYYY-MM-DDTHH_MM_SS``.
    devices : dict, optional
        Device -> list of stream suffixes (default :data:`ONIX_DEVICES`);
        ``onix-breakout`` writes a csv, the others int16 samples.
    """
    folder = _folder(folder)
    rng = np.random.default_rng(0)
    paths = []
    for device, streams in (devices or ONIX_DEVICES).items():
        for stream in streams:
            if device == "onix-breakout":
                path = folder / f"{device}_{timestamp}{stream}.csv"
                path.write_text("Clock,DigitalInputs\n0,0\n100,1\n")
            else:
                path = folder / f"{device}_{timestamp}{stream}.raw"
                path.write_bytes(rng.integers(-500, 500, 256, np.int16).tobytes())
            paths.append(path)
    return paths


def make_microscopy(folder, name="slide1", extension=".czi") -> list[Path]:
    """One image file; ``.tif``/``.tiff`` and ``.png`` are real images."""
    folder = _folder(folder)
    path = folder / f"{name}{extension}"
    image = np.arange(64, dtype=np.uint8).reshape(8, 8)
    if extension.lower() in (".tif", ".tiff"):
        tifffile.imwrite(path, image)
    elif extension.lower() == ".png":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    elif extension.lower() == ".czi":
        path.write_bytes(b"ZISRAWFILE" + bytes(22) + image.tobytes())
    else:
        path.write_bytes(image.tobytes())
    return [path]


def make_sequencing(folder, name="sample1_R1", extension=".fastq.gz") -> list[Path]:
    """One sequencing file (gzipped when the extension ends with ``.gz``)."""
    folder = _folder(folder)
    path = folder / f"{name}{extension}"
    reads = "".join(f"@read{i}\nACGTACGTAC\n+\nFFFFFFFFFF\n" for i in range(4)).encode()
    if extension.endswith(".gz"):
        import gzip

        path.write_bytes(gzip.compress(reads))
    elif extension == ".bam":
        path.write_bytes(b"BAM\x01" + reads)
    else:
        path.write_bytes(reads)
    return [path]


MAKERS = {
    "scanimage": make_scanimage,
    "camera": make_camera,
    "harp": make_harp,
    "visstim": make_visstim,
    "onix": make_onix,
    "microscopy": make_microscopy,
    "sequencing": make_sequencing,
}


def _dataset_spec(spec):
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict):
        spec = dict(spec)
        return spec.pop("type"), spec
    kind, kwargs = spec
    return kind, dict(kwargs)


def make_datasets(folder, datasets) -> list[Path]:
    """Write several datasets in one folder.

    Parameters
    ----------
    datasets : sequence
        Items: a type name (``'camera'``), ``(type, kwargs)`` or a dict with
        ``type`` and the keyword arguments of its ``make_<type>``.
    """
    paths = []
    for spec in datasets:
        kind, kwargs = _dataset_spec(spec)
        paths += MAKERS[kind](folder, **kwargs)
    return paths


def make_recording_folder(folder, datasets=DEFAULT_RECORDING_DATASETS) -> Path:
    """A recording folder with its datasets (the HARP prefix is its name)."""
    folder = _folder(folder)
    specs = []
    for spec in datasets:
        kind, kwargs = _dataset_spec(spec)
        if kind == "harp":
            kwargs.setdefault("prefix", folder.name)
        specs.append((kind, kwargs))
    make_datasets(folder, specs)
    return folder


def make_session_folder(root, mouse, session, recordings=(), datasets=()) -> Path:
    """``root/mouse/session`` with recording folders and session datasets.

    Parameters
    ----------
    root : str or Path
        Where the mouse folder goes (typically ``<raw data root>/<project>``).
    mouse, session : str
        Folder names (``PZAH6.4b``, ``S20210513``).
    recordings : sequence
        Recording folders: a name (``R182159_retinotopy``, with
        :data:`DEFAULT_RECORDING_DATASETS`) or a dict with ``name`` and
        ``datasets`` (see :func:`make_datasets`).
    datasets : sequence
        Datasets written in the session folder itself.

    Returns
    -------
    Path
        The session folder.
    """
    folder = _folder(Path(root) / mouse / session)
    for recording in recordings:
        if isinstance(recording, str):
            recording = {"name": recording}
        make_recording_folder(
            folder / recording["name"],
            recording.get("datasets", DEFAULT_RECORDING_DATASETS),
        )
    make_datasets(folder, datasets)
    return folder
