"""Slides and tiles: open whole-slide images, convert other images, serve DeepZoom tiles.

Knows nothing of Jupyter or the store. The server extension uses :class:`TileService`;
notebooks use :func:`open_slide` and :func:`register_image`.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pyvips.Image.black(600, 400).write_to_file(str(folder / "x.png"))
>>> slide = open_slide(folder / "x.png", conversion_dir=folder / "cache")
>>> slide.dimensions, slide.frames
((600, 400), 1)
"""

from __future__ import annotations

from ._cache import ByteLRU, HandleLRU
from ._convert import Conversion, convert_to_pyramid, default_conversion_dir, file_checksum
from ._deepzoom import SlideTiles, Tile
from ._encode import encode, media_type, normalise_format
from ._grid import DeepZoomGrid, TileGeometry
from ._passthrough import RawTiles
from ._paths import check_allowed, check_input
from ._regions import MAX_PATCH_EDGE, get_patch_png, patch_around, read_level_array, vector_bounds
from ._register import (
    PUBLIC_PROPERTIES,
    Registration,
    pseudonym,
    public_metadata,
    register_image,
)
from ._service import TileService
from ._slide import Slide, open_slide

__all__ = [
    "MAX_PATCH_EDGE",
    "PUBLIC_PROPERTIES",
    "ByteLRU",
    "Conversion",
    "DeepZoomGrid",
    "HandleLRU",
    "RawTiles",
    "Registration",
    "Slide",
    "SlideTiles",
    "Tile",
    "TileGeometry",
    "TileService",
    "check_allowed",
    "check_input",
    "convert_to_pyramid",
    "default_conversion_dir",
    "encode",
    "file_checksum",
    "get_patch_png",
    "media_type",
    "normalise_format",
    "open_slide",
    "patch_around",
    "pseudonym",
    "public_metadata",
    "read_level_array",
    "register_image",
    "vector_bounds",
]
