r"""Serve stored JPEG tiles of a tiled TIFF as they are: no decode, no re-encode.

A stored tile of a JPEG-compressed TIFF is an abbreviated JPEG stream; joined with the page's
JPEGTables it is a complete JPEG file. When a DeepZoom tile covers exactly one stored tile
(same tile size, no overlap, the DeepZoom level has the same dimensions as a stored level, and
the tile is not a partial edge tile), those bytes are the tile. Tiles stored with RGB
(not YCbCr) photometric, as Aperio's ``JPEG/RGB`` writes them, get an Adobe APP14 marker so
that every decoder reads the channels as RGB.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "p.tiff"
>>> pyvips.Image.black(512, 512).bandjoin([0, 0]).copy(interpretation="srgb").tiffsave(
...     str(path), tile=True, tile_width=256, tile_height=256, pyramid=True, compression="jpeg")
>>> raw = RawTiles.open(path, [(512, 512), (256, 256)])
>>> raw.level_tile_size(0), raw.get(0, 1, 1)[:2]
(256, b'\xff\xd8')
>>> raw.close()
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tifffile

__all__ = ["NOWAIT", "RawTiles"]

#: Reads that never wait for the disk (Linux ``preadv2`` with ``RWF_NOWAIT``) are available.
NOWAIT = hasattr(os, "preadv") and hasattr(os, "RWF_NOWAIT")

_JPEG = 7
_PHOTOMETRIC_RGB = 2
_PHOTOMETRIC_YCBCR = 6
# APP14 "Adobe", version 100, flags 0/0, transform 0 (= no colour transform: RGB).
_ADOBE_RGB = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"


@dataclass(frozen=True)
class _Level:
    page: int
    tile_size: int
    tiles_across: int
    tiles_down: int
    offsets: tuple[int, ...]
    byte_counts: tuple[int, ...]
    prefix: bytes  # SOI [+ APP14] + tables, ready to prepend to a tile's data after its SOI


class RawTiles:
    """Stored JPEG tiles of each slide level of a tiled TIFF, readable as complete JPEG files.

    Levels whose pages are not JPEG tiles with square tiles and 3 channels map to ``None``.
    Reads use ``os.pread`` where available, so one instance serves many threads.
    """

    def __init__(self, path: Path, levels: Sequence[_Level | None]) -> None:
        self.path = path
        self._levels = tuple(levels)
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, level_dimensions: Sequence[tuple[int, int]]) -> RawTiles | None:
        """Map each slide level (by its dimensions) to a JPEG-tiled TIFF page, or return None."""
        try:
            with tifffile.TiffFile(path) as tif:
                pages = [page for page in tif.pages if isinstance(page, tifffile.TiffPage)]
                levels = [_match(pages, dims) for dims in level_dimensions]
        except (tifffile.TiffFileError, OSError, ValueError, KeyError, IndexError):
            return None
        if not any(levels):
            return None
        return cls(path, levels)

    def close(self) -> None:
        """Close the file descriptor."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def level_tile_size(self, level: int) -> int | None:
        """Return the stored tile edge of slide ``level``, ``None`` when it cannot pass through."""
        entry = self._levels[level] if 0 <= level < len(self._levels) else None
        return entry.tile_size if entry else None

    def page_index(self, level: int) -> int | None:
        """Return the TIFF page (IFD index) holding slide ``level``, ``None`` when unmapped."""
        entry = self._levels[level] if 0 <= level < len(self._levels) else None
        return entry.page if entry else None

    def get(self, level: int, col: int, row: int, *, nowait: bool = False) -> bytes | None:
        """Return stored tile ``(col, row)`` of slide ``level`` as a JPEG file, or ``None``.

        ``None`` means: not available raw (unsupported level, sparse tile, outside the grid).
        With ``nowait=True`` the bytes are read only if the operating system has them in memory
        (``RWF_NOWAIT``); otherwise :class:`BlockingIOError` is raised and nothing waited for
        the disk, so an event loop may call this and fall back to a thread.
        """
        entry = self._levels[level] if 0 <= level < len(self._levels) else None
        if entry is None or not (0 <= col < entry.tiles_across and 0 <= row < entry.tiles_down):
            return None
        index = row * entry.tiles_across + col
        offset, count = entry.offsets[index], entry.byte_counts[index]
        if count < 4:  # noqa: PLR2004 - sparse (missing) tile
            return None
        data = self._read_nowait(offset, count) if nowait else self._read(offset, count)
        if len(data) != count or data[:2] != b"\xff\xd8":
            return None
        return entry.prefix + data[2:]

    def _read_nowait(self, offset: int, count: int) -> bytes:
        if not NOWAIT:
            raise BlockingIOError("non-blocking file reads are not available here")
        buffer = bytearray(count)
        got = os.preadv(self._fd, [buffer], offset, os.RWF_NOWAIT)  # EAGAIN: BlockingIOError
        if got != count:  # only part of it is in memory
            raise BlockingIOError(f"{got} of {count} bytes are in memory")
        return bytes(buffer)

    def _read(self, offset: int, count: int) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self._fd, count, offset)
        with self._lock:  # pragma: no cover - Windows
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, count)


def _match(pages: Sequence[tifffile.TiffPage], dims: tuple[int, int]) -> _Level | None:
    for page in pages:
        if (page.imagewidth, page.imagelength) != dims or not page.is_tiled:
            continue
        if (
            page.compression != _JPEG
            or page.photometric not in (_PHOTOMETRIC_RGB, _PHOTOMETRIC_YCBCR)
            or page.samplesperpixel != 3  # noqa: PLR2004
            or page.planarconfig != 1
            or page.tilewidth != page.tilelength
            or page.imagedepth != 1
        ):
            return None
        tables = page.jpegtables or b""
        prefix = b"\xff\xd8"
        if page.photometric == _PHOTOMETRIC_RGB:
            prefix += _ADOBE_RGB
        if tables:
            if tables[:2] != b"\xff\xd8" or tables[-2:] != b"\xff\xd9":
                return None
            prefix += tables[2:-2]
        across = -(-page.imagewidth // page.tilewidth)
        down = -(-page.imagelength // page.tilelength)
        if len(page.dataoffsets) != across * down:
            return None
        return _Level(
            page=pages.index(page),
            tile_size=page.tilewidth,
            tiles_across=across,
            tiles_down=down,
            offsets=tuple(int(v) for v in page.dataoffsets),
            byte_counts=tuple(int(v) for v in page.databytecounts),
            prefix=prefix,
        )
    return None
