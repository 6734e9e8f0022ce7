"""Read one DeepZoom tile of a slide: pass the stored JPEG through, or read, resize, encode.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pyvips.Image.black(600, 400).write_to_file(str(folder / "x.png"))
>>> from exact_lab.tiles import open_slide
>>> slide = open_slide(folder / "x.png", conversion_dir=folder / "c")
>>> tiles = SlideTiles(slide)
>>> tiles.tile(tiles.grid().level_count - 1, 0, 0).passthrough
True
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

import pyvips
from PIL import Image

from exact_lab.errors import SlideReadError

from ._encode import encode, media_type, normalise_format
from ._grid import DeepZoomGrid
from ._passthrough import RawTiles
from ._slide import Slide
from ._stitch import MAX_SCALE, DecodedLRU, Stitcher

__all__ = ["SlideTiles", "Tile"]

_instances = itertools.count()


@dataclass(frozen=True)
class Tile:
    """An encoded tile.

    Attributes
    ----------
    data
        The encoded image bytes.
    media_type
        ``image/jpeg``, ``image/png`` or ``image/webp``.
    passthrough
        The bytes are the stored JPEG tile, served without decoding.
    cached
        The bytes came from the encoded-tile cache.
    """

    data: bytes
    media_type: str
    passthrough: bool = False
    cached: bool = False


class SlideTiles:
    """DeepZoom tiles of one :class:`Slide`, with raw pass-through per frame when possible.

    ``decoded`` caches decoded stored tiles for re-encodes (it may be shared between slides;
    by default each instance has its own of 32 MB).
    """

    def __init__(self, slide: Slide, decoded: DecodedLRU | None = None) -> None:
        self.slide = slide
        self.decoded = DecodedLRU(32 << 20) if decoded is None else decoded
        self._ident = next(_instances)  # keys this instance's tiles in a shared cache
        self._raw: dict[int, RawTiles | None] = {}
        self._grids: dict[tuple[int, int], DeepZoomGrid] = {}
        self._vips: dict[tuple[int, int], pyvips.Image] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the raw readers and the slide."""
        for raw in self._raw.values():
            if raw is not None:
                raw.close()
        self._raw.clear()
        self._vips.clear()
        self.slide.close()

    def grid(self, tile_size: int = 256, overlap: int = 0) -> DeepZoomGrid:
        """Return the DeepZoom grid for this tile size and overlap."""
        key = (tile_size, overlap)
        grid = self._grids.get(key)
        if grid is None:
            grid = DeepZoomGrid(self.slide.dimensions, tile_size=tile_size, overlap=overlap)
            self._grids[key] = grid
        return grid

    def raw(self, frame: int) -> RawTiles | None:
        """Return the raw-tile reader of ``frame``'s file (``None`` when not a JPEG TIFF)."""
        if frame not in self._raw:
            self._raw[frame] = RawTiles.open(
                self.slide.frame_paths[frame], self.slide.level_dimensions
            )
        return self._raw[frame]

    def passthrough_bytes(
        self,
        grid: DeepZoomGrid,
        level: int,
        col: int,
        row: int,
        frame: int,
        *,
        nowait: bool = False,
    ) -> bytes | None:
        """Return the stored JPEG for this DeepZoom tile when the grids align, else ``None``.

        ``nowait=True``: raise :class:`BlockingIOError` rather than touch the disk (the raw
        reader is not open yet, or the bytes are not in the operating system's memory).
        """
        if grid.overlap != 0:
            return None
        dims = grid.level_dimensions[level]
        try:
            slide_level = self.slide.level_dimensions.index(dims)
        except ValueError:
            return None
        if nowait and frame not in self._raw:
            raise BlockingIOError("the raw tile reader is not open yet")
        raw = self.raw(frame)
        if raw is None or raw.level_tile_size(slide_level) != grid.tile_size:
            return None
        _, _, w, h = grid.tile_bounds(level, col, row)
        if w != grid.tile_size or h != grid.tile_size:
            return None  # partial edge tile: the stored one is padded
        return raw.get(slide_level, col, row, nowait=nowait)

    def stitched(
        self, grid: DeepZoomGrid, level: int, col: int, row: int, frame: int
    ) -> Image.Image | None:
        """Return the tile built from the stored JPEG tiles it overlaps, else ``None``.

        Applies when a stored level has the dimensions of this DeepZoom level (read 1:1) or of
        the DeepZoom level 1, 2 or 3 steps finer (decoded at 1/2, 1/4 or 1/8 by DCT scaling).
        """
        raw = self.raw(frame)
        if raw is None:
            return None
        steps = 0
        while (1 << steps) <= MAX_SCALE and level + steps < grid.level_count:
            dims = grid.level_dimensions[level + steps]
            if dims in self.slide.level_dimensions:
                slide_level = self.slide.level_dimensions.index(dims)
                if raw.level_tile_size(slide_level) is None:
                    return None
                box = grid.tile_bounds(level, col, row)
                stitcher = Stitcher(raw, self.decoded, (self._ident, frame))
                return stitcher.region(slide_level, box, scale=1 << steps)
            steps += 1
        return None

    def vips_crop(
        self, grid: DeepZoomGrid, level: int, col: int, row: int, frame: int
    ) -> pyvips.Image | None:
        """Return the tile as a libvips crop when it is a 1:1 read of a stored TIFF level.

        libvips decodes and encodes without holding the GIL, so re-encoded tiles scale with
        threads; other cases return ``None`` and go through OpenSlide.
        """
        dims = grid.level_dimensions[level]
        try:
            slide_level = self.slide.level_dimensions.index(dims)
        except ValueError:
            return None
        raw = self.raw(frame)
        page = raw.page_index(slide_level) if raw is not None else None
        if page is None:
            return None
        key = (frame, page)
        with self._lock:
            image = self._vips.get(key)
            if image is None:
                try:
                    image = pyvips.Image.new_from_file(
                        str(self.slide.frame_paths[frame]), page=page, access="random"
                    )
                except pyvips.Error:
                    return None
                if image.bands != 3 or image.format != "uchar":  # noqa: PLR2004
                    return None
                self._vips[key] = image
        x, y, w, h = grid.tile_bounds(level, col, row)
        return image.crop(x, y, w, h)

    def render(self, grid: DeepZoomGrid, level: int, col: int, row: int, frame: int) -> Image.Image:
        """Read and resize the pixels of a DeepZoom tile (RGB, white outside the image)."""
        geometry = grid.tile_geometry(level, col, row)
        ds = geometry.downsample
        slide_level = self.slide.get_best_level_for_downsample(ds)
        level_ds = self.slide.level_downsamples[slide_level]
        level_w, level_h = self.slide.level_dimensions[slide_level]
        x0, y0 = geometry.level0_location
        dz_w, dz_h = geometry.dz_size
        lx, ly = int(x0 / level_ds), int(y0 / level_ds)
        read_w = max(1, min(level_w - lx, round(dz_w * ds / level_ds)))
        read_h = max(1, min(level_h - ly, round(dz_h * ds / level_ds)))
        pixels = self.slide.read_array((x0, y0), slide_level, (read_w, read_h), frame=frame)
        image = Image.fromarray(pixels)
        if image.size != (dz_w, dz_h):
            image = image.resize((dz_w, dz_h), Image.Resampling.BILINEAR)
        return image

    def tile(
        self,
        level: int,
        col: int,
        row: int,
        *,
        frame: int = 0,
        image_format: str = "jpeg",
        tile_size: int = 256,
        overlap: int = 0,
        quality: int = 90,
    ) -> Tile:
        """Return DeepZoom tile ``(col, row)`` of ``level`` on ``frame``, encoded.

        Raises
        ------
        BadInput
            Level, column, row, frame, tile size or format out of range.
        SlideReadError
            The pixels cannot be read.
        """
        name = normalise_format(image_format)
        self.slide.check_frame(frame)
        grid = self.grid(tile_size, overlap)
        grid.check_tile(level, col, row)
        if name == "jpeg":
            try:
                raw = self.passthrough_bytes(grid, level, col, row, frame)
            except OSError as err:
                raise SlideReadError(
                    f"{self.slide.path.name}: reading a stored tile failed ({err})"
                ) from err
            if raw is not None:
                return Tile(raw, "image/jpeg", passthrough=True)
        try:
            stitched = self.stitched(grid, level, col, row, frame)
        except (OSError, SyntaxError, ValueError) as err:  # PIL reports damaged JPEG data so
            raise SlideReadError(
                f"{self.slide.path.name}: decoding a stored tile failed ({err})"
            ) from err
        if stitched is not None:
            return Tile(encode(stitched, name, quality=quality), media_type(name))
        crop = self.vips_crop(grid, level, col, row, frame)
        if crop is not None:
            try:
                return Tile(_vips_encode(crop, name, quality), media_type(name))
            except pyvips.Error as err:
                raise SlideReadError(
                    f"{self.slide.path.name}: reading pixels failed ({err}); the file is damaged"
                ) from err
        image = self.render(grid, level, col, row, frame)
        return Tile(encode(image, name, quality=quality), media_type(name))


def _vips_encode(image: pyvips.Image, name: str, quality: int) -> bytes:
    """Encode a libvips image with the same settings as :func:`encode`."""
    if name == "jpeg":
        data = image.jpegsave_buffer(Q=quality, subsample_mode="on", strip=True)
    elif name == "png":
        data = image.pngsave_buffer(compression=3, strip=True)
    else:
        data = image.webpsave_buffer(Q=quality, effort=0, strip=True)
    return bytes(data)
