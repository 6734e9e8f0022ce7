"""Edge tiles padded to the full tile size, for clients that draw every tile full size.

DeepZoom's last column and row of tiles are narrower (or shorter) than the tile size. OpenSeadragon
places each tile by its own size; Leaflet's ``TileLayer`` stretches every tile to ``tileSize``,
so an unpadded edge tile would stretch the slide's right and bottom edge. A padded tile keeps the
pixels at their place and fills the rest: white for JPEG (no transparency; slides' background is
white), transparent for PNG and WebP.

Examples
--------
>>> import io
>>> from PIL import Image as PILImage
>>> small = io.BytesIO()
>>> PILImage.new("RGB", (100, 256), "red").save(small, "PNG")
>>> padded = pad_tile(Tile(small.getvalue(), "image/png"), 256)
>>> picture = PILImage.open(io.BytesIO(padded.data))
>>> picture.size, picture.getpixel((99, 0)), picture.getpixel((100, 0))
((256, 256), (255, 0, 0, 255), (0, 0, 0, 0))
"""

from __future__ import annotations

import io

from PIL import Image as PILImage

from exact_lab.tiles import Tile

__all__ = ["needs_padding", "pad_tile"]

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def needs_padding(tile: Tile, size: int) -> bool:
    """Tell whether ``tile`` is smaller than ``size`` x ``size`` (reads the image header only)."""
    picture = PILImage.open(io.BytesIO(tile.data))
    return picture.width < size or picture.height < size


def pad_tile(tile: Tile, size: int) -> Tile:
    """Return ``tile`` grown to ``size`` x ``size`` (its pixels top-left), or as is when full.

    Decodes and encodes an edge tile: call it off the event loop.
    """
    if not needs_padding(tile, size):
        return tile
    picture = PILImage.open(io.BytesIO(tile.data))
    kind = _FORMATS[tile.media_type]
    mode, fill = ("RGB", (255, 255, 255)) if kind == "JPEG" else ("RGBA", (0, 0, 0, 0))
    canvas = PILImage.new(mode, (size, size), fill)
    canvas.paste(picture.convert(mode), (0, 0))
    out = io.BytesIO()
    canvas.save(out, kind, quality=90) if kind != "PNG" else canvas.save(out, kind)
    return Tile(out.getvalue(), tile.media_type)
