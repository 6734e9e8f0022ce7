"""DeepZoom grid math: levels, tile counts and the level-0 region behind each tile.

Pure arithmetic, no reading. DeepZoom level ``n - 1`` is the full-resolution image and each
lower level halves it (rounding up) down to 1×1. Tiles are ``tile_size`` pixels plus ``overlap``
pixels on each side that has a neighbour.

Examples
--------
>>> grid = DeepZoomGrid((1000, 600), tile_size=256, overlap=0)
>>> grid.level_count, grid.level_dimensions[-1], grid.level_tiles[-1]
(11, (1000, 600), (4, 3))
>>> grid.tile_bounds(10, 3, 2)  # x, y, width, height in that level's pixels
(768, 512, 232, 88)
>>> DeepZoomGrid((1000, 600), tile_size=254, overlap=1).tile_bounds(10, 1, 1)
(253, 253, 256, 256)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from exact_lab.errors import BadInput

__all__ = ["DeepZoomGrid", "TileGeometry"]

DZI_NAMESPACE = "http://schemas.microsoft.com/deepzoom/2008"


@dataclass(frozen=True)
class TileGeometry:
    """Where a DeepZoom tile comes from.

    Attributes
    ----------
    level0_location
        Top-left corner of the tile in level-0 pixels.
    dz_size
        Size of the tile as served, in pixels of its DeepZoom level.
    downsample
        Level-0 pixels per pixel of the DeepZoom level (a power of two).
    """

    level0_location: tuple[int, int]
    dz_size: tuple[int, int]
    downsample: int


@dataclass(frozen=True)
class DeepZoomGrid:
    """The DeepZoom pyramid of an image of ``dimensions`` (width, height) at level 0.

    Parameters
    ----------
    dimensions
        Level-0 width and height in pixels.
    tile_size
        Tile edge without overlap: 256 (default, matches stored tiles) or 254 (EXACT's grid).
    overlap
        Pixels each tile shares with its neighbours: 0 (default) or 1 (EXACT's grid).
    """

    dimensions: tuple[int, int]
    tile_size: int = 256
    overlap: int = 0
    level_dimensions: tuple[tuple[int, int], ...] = field(init=False)
    _level_tiles: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the arguments and compute the level dimensions."""
        width, height = self.dimensions
        if width < 1 or height < 1:
            raise BadInput(f"image dimensions must be positive, got {width}x{height}")
        if not 1 <= self.tile_size <= 8192:  # noqa: PLR2004
            raise BadInput(
                f"tile_size must be between 1 and 8192, got {self.tile_size}", field="tile_size"
            )
        if not 0 <= self.overlap < self.tile_size:
            raise BadInput(
                f"overlap must be >= 0 and smaller than tile_size, got {self.overlap}",
                field="overlap",
            )
        dims = [(width, height)]
        while dims[-1] != (1, 1):
            w, h = dims[-1]
            dims.append((max(1, math.ceil(w / 2)), max(1, math.ceil(h / 2))))
        object.__setattr__(self, "level_dimensions", tuple(reversed(dims)))
        tiles = tuple(
            (math.ceil(w / self.tile_size), math.ceil(h / self.tile_size))
            for w, h in self.level_dimensions
        )
        object.__setattr__(self, "_level_tiles", tiles)

    @property
    def level_count(self) -> int:
        """Number of DeepZoom levels (level ``level_count - 1`` is full resolution)."""
        return len(self.level_dimensions)

    @property
    def level_tiles(self) -> tuple[tuple[int, int], ...]:
        """Columns and rows of tiles on each level."""
        return self._level_tiles

    def downsample(self, level: int) -> int:
        """Level-0 pixels per pixel on DeepZoom ``level``."""
        self._check_level(level)
        return int(2 ** (self.level_count - 1 - level))

    def _check_level(self, level: int) -> None:
        if not 0 <= level < self.level_count:
            raise BadInput(
                f"DeepZoom level {level} is out of range: this image has levels 0 to "
                f"{self.level_count - 1}",
                field="level",
            )

    def check_tile(self, level: int, col: int, row: int) -> None:
        """Raise :class:`~exact_lab.errors.BadInput` unless the tile exists."""
        self._check_level(level)
        cols, rows = self.level_tiles[level]
        if not 0 <= col < cols:
            raise BadInput(
                f"column {col} is out of range on DeepZoom level {level} (0 to {cols - 1})",
                field="col",
            )
        if not 0 <= row < rows:
            raise BadInput(
                f"row {row} is out of range on DeepZoom level {level} (0 to {rows - 1})",
                field="row",
            )

    def tile_bounds(self, level: int, col: int, row: int) -> tuple[int, int, int, int]:
        """Return ``(x, y, width, height)`` of a tile in pixels of its DeepZoom level."""
        self.check_tile(level, col, row)
        width, height = self.level_dimensions[level]
        ts, ov = self.tile_size, self.overlap
        x0 = col * ts - (ov if col > 0 else 0)
        y0 = row * ts - (ov if row > 0 else 0)
        x1 = min(width, (col + 1) * ts + ov)
        y1 = min(height, (row + 1) * ts + ov)
        return x0, y0, x1 - x0, y1 - y0

    def tile_geometry(self, level: int, col: int, row: int) -> TileGeometry:
        """Return where tile ``(col, row)`` of DeepZoom ``level`` lies in level-0 pixels."""
        x, y, w, h = self.tile_bounds(level, col, row)
        ds = self.downsample(level)
        return TileGeometry(level0_location=(x * ds, y * ds), dz_size=(w, h), downsample=ds)

    def dzi(self, image_format: str = "jpeg") -> str:
        """Return the DZI XML descriptor.

        Examples
        --------
        >>> print(DeepZoomGrid((10, 5)).dzi())  # doctest: +NORMALIZE_WHITESPACE
        <?xml version="1.0" encoding="UTF-8"?>
        <Image TileSize="256" Overlap="0" Format="jpeg"
         xmlns="http://schemas.microsoft.com/deepzoom/2008"><Size Width="10" Height="5"/></Image>
        """
        width, height = self.dimensions
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image TileSize="{self.tile_size}" Overlap="{self.overlap}" Format="{image_format}"'
            f' xmlns="{DZI_NAMESPACE}"><Size Width="{width}" Height="{height}"/></Image>'
        )
