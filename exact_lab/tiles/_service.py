"""TileService: what the server extension calls — DZI, tiles, slide information, patches.

It keeps open slides in a bounded cache (keyed by resolved path, size and mtime, so a replaced
file is reopened) and encoded tiles in an LRU bounded in megabytes. Stored JPEG tiles that the
DeepZoom grid hits exactly pass through undecoded and are not cached (reading them is as cheap
as a cache hit). Frames are 0-based here; EXACT's URLs are 1-based.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pyvips.Image.black(600, 400).write_to_file(str(folder / "x.png"))
>>> service = TileService(allowed_roots=[folder], conversion_dir=folder / "c")
>>> 'TileSize="256"' in service.dzi(folder / "x.png")
True
>>> tile = service.tile(folder / "x.png", 10, 0, 0, image_format="png")
>>> tile.media_type, tile.cached
('image/png', False)
>>> service.tile(folder / "x.png", 10, 0, 0, image_format="png").cached
True
>>> service.slide_information(folder / "x.png")["levels"]
11
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

from exact_lab.errors import ExactLabError, SlideReadError

from ._cache import ByteLRU, HandleLRU
from ._deepzoom import SlideTiles, Tile
from ._encode import encode, normalise_format
from ._paths import StrPath, check_input
from ._regions import get_patch_png
from ._slide import open_slide
from ._stitch import DecodedLRU

__all__ = ["TileService"]


class TileService:
    """Thread-safe access to slides and their DeepZoom tiles, with bounded caches.

    Parameters
    ----------
    allowed_roots
        Folders slides must lie in; ``None`` allows any path (single-user, local use).
    cache_mb
        Size bound of the encoded-tile cache in megabytes (0 disables it).
    max_slides
        How many slides stay open at most.
    conversion_dir
        Conversion cache folder (default ``exact_lab.paths.data_dir() / "converted"``).
    tile_size, overlap
        Default DeepZoom grid: 256/0 (tiles pass through); EXACT's grid is 254/1.
    quality
        JPEG/WebP quality of re-encoded tiles.
    decoded_mb
        Size bound in megabytes of the cache of decoded stored JPEG tiles that re-encoded
        tiles are built from (neighbouring tiles share them); 0 disables it.
    """

    #: Seconds a path check (allowed roots, existence, size, mtime) is reused.
    CHECK_TTL = 1.0

    def __init__(
        self,
        *,
        allowed_roots: Iterable[StrPath] | None = None,
        cache_mb: float = 256,
        max_slides: int = 16,
        conversion_dir: StrPath | None = None,
        tile_size: int = 256,
        overlap: int = 0,
        quality: int = 90,
        decoded_mb: float = 32,
    ) -> None:
        self.allowed_roots = (
            None if allowed_roots is None else tuple(Path(r) for r in allowed_roots)
        )
        self.conversion_dir = conversion_dir
        self.tile_size = tile_size
        self.overlap = overlap
        self.quality = quality
        self.tiles_cache = ByteLRU(int(cache_mb * 1024 * 1024))
        self.decoded_cache = DecodedLRU(int(decoded_mb * 1024 * 1024))
        self.slides = HandleLRU[SlideTiles](max_slides, close=SlideTiles.close)
        self._checked: dict[StrPath, tuple[float, Path, Hashable]] = {}

    def _key(self, path: StrPath) -> tuple[Path, Hashable]:
        """Validate ``path`` and return it resolved with its cache key (size, mtime).

        The check is remembered for :attr:`CHECK_TTL` seconds per path, so a viewer's burst of
        tile requests pays for one ``realpath`` and a few ``stat`` calls, not one per tile.
        """
        now = time.monotonic()
        memo = self._checked.get(path)
        if memo is not None and now - memo[0] < self.CHECK_TTL:
            return memo[1], memo[2]
        resolved = check_input(path, allowed_roots=self.allowed_roots)
        stat = resolved.stat()
        key = (str(resolved), stat.st_size, stat.st_mtime_ns)
        if len(self._checked) > 4096:  # noqa: PLR2004 - bound the memo
            self._checked.clear()
        self._checked[path] = (now, resolved, key)
        return resolved, key

    def open(self, path: StrPath) -> SlideTiles:
        """Return the cached :class:`SlideTiles` of ``path`` (opening or converting it once)."""
        resolved, key = self._key(path)

        def opener() -> SlideTiles:
            slide = open_slide(
                resolved, allowed_roots=self.allowed_roots, conversion_dir=self.conversion_dir
            )
            return SlideTiles(slide, self.decoded_cache)

        try:
            return self.slides.get_or_open(key, opener)
        except SlideReadError as err:
            raise SlideReadError(str(err).replace(resolved.name, str(path), 1)) from err

    def dzi(
        self,
        path: StrPath,
        *,
        image_format: str = "jpeg",
        tile_size: int | None = None,
        overlap: int | None = None,
    ) -> str:
        """Return the DZI XML of ``path`` (frames share one descriptor)."""
        grid = self.open(path).grid(tile_size or self.tile_size, self._overlap(overlap))
        return grid.dzi(normalise_format(image_format))

    def _overlap(self, overlap: int | None) -> int:
        return self.overlap if overlap is None else overlap

    def tile(
        self,
        path: StrPath,
        level: int,
        col: int,
        row: int,
        *,
        frame: int = 0,
        image_format: str = "jpeg",
        tile_size: int | None = None,
        overlap: int | None = None,
    ) -> Tile:
        """Return DeepZoom tile ``(col, row)`` of ``level`` on ``frame`` (0-based).

        Raises
        ------
        BadInput
            Path outside the allowed roots, a directory, or level/col/row/frame/format out of
            range; the message names the bad value and the valid range.
        SlideReadError
            The file is missing, empty, damaged or unsupported; the message names the file.
        """
        tiles = self.open(path)
        size, ov = tile_size or self.tile_size, self._overlap(overlap)
        name = normalise_format(image_format)
        key = (str(tiles.slide.path), frame, size, ov, level, col, row, name, self.quality)
        cached = self.tiles_cache.get(key)
        if cached is not None:
            return Tile(cached, f"image/{name}", cached=True)
        try:
            tile = tiles.tile(
                level,
                col,
                row,
                frame=frame,
                image_format=name,
                tile_size=size,
                overlap=ov,
                quality=self.quality,
            )
        except SlideReadError:
            self._checked.pop(path, None)
            self.slides.discard(self._key(path)[1])  # OpenSlide handles are dead after an error
            raise
        if not tile.passthrough:
            self.tiles_cache.put(key, tile.data)
        return tile

    def tile_nowait(
        self,
        path: StrPath,
        level: int,
        col: int,
        row: int,
        *,
        frame: int = 0,
        image_format: str = "jpeg",
    ) -> Tile | None:
        """Return the tile only if that needs no disk access and no pixel work, else ``None``.

        For an event loop: a tile qualifies when its slide is open, its path was checked less
        than :attr:`CHECK_TTL` seconds ago, and it is either in the encoded-tile cache or a
        pass-through JPEG whose bytes the operating system holds in memory. ``None`` also
        covers every error: :meth:`tile`, called from a thread, then does the work or raises
        the error that names the cause.
        """
        memo = self._checked.get(path)
        if memo is None or time.monotonic() - memo[0] >= self.CHECK_TTL:
            return None
        tiles = self.slides.peek(memo[2])
        if tiles is None:
            return None
        try:
            name = normalise_format(image_format)
            key = (str(tiles.slide.path), frame, self.tile_size, self.overlap, level, col, row,
                   name, self.quality)  # fmt: skip
            cached = self.tiles_cache.get(key)
            if cached is not None:
                return Tile(cached, f"image/{name}", cached=True)
            if name != "jpeg":
                return None
            tiles.slide.check_frame(frame)
            grid = tiles.grid(self.tile_size, self.overlap)
            grid.check_tile(level, col, row)
            data = tiles.passthrough_bytes(grid, level, col, row, frame, nowait=True)
        except (ExactLabError, OSError):  # BlockingIOError included: a thread will do it
            return None
        return None if data is None else Tile(data, "image/jpeg", passthrough=True)

    def slide_information(
        self, path: StrPath, *, tile_size: int | None = None, overlap: int | None = None
    ) -> dict[str, Any]:
        """Return EXACT's ``slide_information`` shape (without ``id``) plus public metadata.

        Keys: ``level_dimensions``, ``level_downsamples``, ``level_tiles`` (columns and rows
        per DeepZoom level), ``levels`` (DeepZoom level count), ``width``, ``height``, ``mpp``,
        ``objective_power``, ``frames``, ``tile_size``, ``overlap``. No vendor properties.
        """
        tiles = self.open(path)
        slide = tiles.slide
        grid = tiles.grid(tile_size or self.tile_size, self._overlap(overlap))
        mpp = slide.mpp
        return {
            "level_dimensions": [list(d) for d in slide.level_dimensions],
            "level_downsamples": list(slide.level_downsamples),
            "level_tiles": [list(t) for t in grid.level_tiles],
            "levels": grid.level_count,
            "width": slide.dimensions[0],
            "height": slide.dimensions[1],
            "mpp": (mpp[0] + mpp[1]) / 2 if mpp else 0.0,
            "objective_power": slide.objective_power,
            "frames": slide.frames,
            "tile_size": grid.tile_size,
            "overlap": grid.overlap,
        }

    def thumbnail(
        self, path: StrPath, *, max_size: int = 128, frame: int = 0, image_format: str = "png"
    ) -> bytes:
        """Return an encoded thumbnail fitting in ``max_size`` × ``max_size`` (from pixels only)."""
        slide = self.open(path).slide
        image = slide.get_thumbnail((max_size, max_size), frame=frame)
        return encode(image, image_format, quality=self.quality)

    def get_patch(
        self,
        path: StrPath,
        *,
        x: int,
        y: int,
        level: int,
        width: int,
        height: int,
        frame: int = 0,
    ) -> bytes:
        """Return EXACT's ``get_patch``: a PNG of ≤ 2048² pixels of ``level`` at level-0 (x, y)."""
        return get_patch_png(
            self.open(path).slide, x=x, y=y, level=level, width=width, height=height, frame=frame
        )

    def cache_info(self) -> dict[str, int]:
        """Return cache statistics.

        Tiles cached, bytes, bound, hits, misses, open slides, decoded stored tiles and bytes.
        """
        return {
            "tiles": len(self.tiles_cache),
            "bytes": self.tiles_cache.size_bytes,
            "max_bytes": self.tiles_cache.max_bytes,
            "hits": self.tiles_cache.hits,
            "misses": self.tiles_cache.misses,
            "open_slides": len(self.slides),
            "decoded_tiles": len(self.decoded_cache),
            "decoded_bytes": self.decoded_cache.size_bytes,
        }

    def close(self) -> None:
        """Close every open slide and drop cached tiles."""
        self.slides.clear()
        self.tiles_cache.clear()
        self.decoded_cache.clear()
