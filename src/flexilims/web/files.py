"""A dataset's files on the server: full path, existence, size, thumbnail.

Dataset ``path`` attributes are relative to the lab's raw or processed data
folder (by the dataset's ``is_raw``), both under the ``data_root`` setting.
Nothing outside ``data_root`` is ever read: a path that leads elsewhere (an
absolute path, ``..``, a symbolic link out) is shown but not inspected. Walks
are bounded in files and time; thumbnails (the first frame of a ScanImage
TIFF) are cached by path, size and modification time.
"""

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("flexilims.web")

#: Most files a walk counts, and most seconds it takes, before it stops.
MAX_FILES = 10_000
MAX_SECONDS = 1.0
#: Longest side of a thumbnail, in pixels.
THUMBNAIL_SIZE = 256
#: Largest frame a thumbnail is made of, in pixels.
MAX_FRAME_PIXELS = 64_000_000
TIFF_SUFFIXES = (".tif", ".tiff")


def is_raw(attributes: dict) -> bool:
    """A dataset's ``is_raw`` (raw unless it says otherwise, as flexiznam)."""
    return attributes.get("is_raw", "yes") in (True, "yes", "Yes", "true", "True")


@dataclass
class Location:
    """Where a dataset's path leads on the server."""

    shown: str
    resolved: Path | None
    inside: bool


def locate(data_root: str | None, attributes: dict) -> Location | None:
    """The full path of a dataset, and whether it is inside the data root.

    None when there is no data root or the dataset has no path.
    """
    relative = attributes.get("path")
    if not data_root or not isinstance(relative, str) or not relative.strip():
        return None
    root = Path(data_root).expanduser() / ("raw" if is_raw(attributes) else "processed")
    full = root / relative
    try:
        resolved_root = root.resolve()
        resolved = full.resolve()
    except (OSError, RuntimeError, ValueError):
        return Location(str(full), None, False)
    inside = resolved == resolved_root or resolved.is_relative_to(resolved_root)
    return Location(str(full), resolved if inside else None, inside)


def inspect(location: Location) -> dict:
    """Whether the path exists, its size and file count (a bounded walk).

    Returns
    -------
    dict
        ``exists``, ``is_dir``, ``size`` (bytes), ``files``, ``complete``
        (False when the walk stopped at :data:`MAX_FILES` or
        :data:`MAX_SECONDS`) and ``error`` (a reason it could not be read).
    """
    found = {
        "exists": False,
        "is_dir": False,
        "size": 0,
        "files": 0,
        "complete": True,
        "error": None,
    }
    if location.resolved is None:
        return found
    path = location.resolved
    try:
        status = path.stat()
    except FileNotFoundError:
        return found
    except OSError as error:
        found["error"] = error.strerror or type(error).__name__
        return found
    found["exists"] = True
    if not path.is_dir():
        found["size"], found["files"] = status.st_size, 1
        return found
    found["is_dir"] = True
    deadline = time.monotonic() + MAX_SECONDS
    folders = [path]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                        continue
                    found["files"] += 1
                    found["size"] += entry.stat(follow_symlinks=False).st_size
                    if found["files"] >= MAX_FILES or time.monotonic() > deadline:
                        found["complete"] = False
                        return found
        except OSError as error:
            found["error"] = error.strerror or type(error).__name__
    return found


def first_tiff(location: Location) -> Path | None:
    """The first TIFF file of a dataset (its path, or the first by name in
    its folder), inside the data root."""
    path = location.resolved
    if path is None:
        return None
    try:
        if path.is_file():
            return path if path.suffix.lower() in TIFF_SUFFIXES else None
        if not path.is_dir():
            return None
        names = sorted(
            entry.name
            for entry in os.scandir(path)
            if entry.name.lower().endswith(TIFF_SUFFIXES)
            and entry.is_file(follow_symlinks=False)
        )
    except OSError:
        return None
    return path / names[0] if names else None


def thumbnail(location: Location, cache_folder: Path) -> bytes | None:
    """A PNG of the first frame of a ScanImage dataset, cached; None when the
    files cannot be read."""
    tiff = first_tiff(location)
    if tiff is None:
        return None
    try:
        status = tiff.stat()
    except OSError:
        return None
    key = hashlib.sha256(
        f"{tiff}\0{status.st_size}\0{status.st_mtime_ns}".encode()
    ).hexdigest()
    cached = cache_folder / "thumbnails" / f"{key}.png"
    try:
        return cached.read_bytes()
    except OSError:
        pass
    try:
        png = _render(tiff)
    except Exception as error:  # noqa: BLE001 (a corrupt TIFF: no thumbnail)
        logger.info("no thumbnail of %s: %s", tiff, error)
        return None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(png)
        os.replace(partial, cached)
    except OSError as error:
        logger.info("cannot cache a thumbnail in %s: %s", cached.parent, error)
    return png


def _render(tiff: Path) -> bytes:
    """The first page of a TIFF as a contrast-stretched 8-bit PNG."""
    import io

    import numpy as np
    import tifffile
    from PIL import Image

    with tifffile.TiffFile(tiff) as source:
        page = source.pages[0]
        if int(np.prod(page.shape)) > MAX_FRAME_PIXELS:
            raise ValueError(f"frame of {page.shape} is too large")
        frame = np.asarray(page.asarray(), dtype=np.float64)
    if frame.ndim == 3 and frame.shape[-1] in (3, 4):
        frame = frame[..., :3].mean(axis=-1)
    while frame.ndim > 2:
        frame = frame[0]
    finite = frame[np.isfinite(frame)]
    low, high = np.percentile(finite, (1, 99.5)) if finite.size else (0.0, 1.0)
    scaled = np.clip((frame - low) / max(high - low, 1e-12), 0, 1)
    image = Image.fromarray(np.nan_to_num(scaled * 255).astype(np.uint8))
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def human_size(size: int) -> str:
    """Bytes as ``12.3 MB``."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"
