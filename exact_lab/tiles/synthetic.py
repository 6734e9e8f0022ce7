"""Synthetic whole-slide images for demos, tests and benchmarks.

The pattern (colour gradients plus a checkerboard of dark squares) makes every tile different,
so that a wrong tile address shows as wrong pixels. The files are pyramidal tiled JPEG TIFFs
with their resolution set, which OpenSlide opens directly; ``aperio=True`` adds an Aperio-style
image description so OpenSlide reports vendor ``aperio``, ``MPP`` and ``AppMag``.

Examples
--------
>>> import tempfile, pathlib, openslide
>>> path = make_synthetic_slide(pathlib.Path(tempfile.mkdtemp()) / "demo.tiff", 1024, 768)
>>> with openslide.OpenSlide(path) as slide:
...     slide.dimensions, slide.properties["openslide.vendor"]
((1024, 768), 'aperio')
"""

from __future__ import annotations

from pathlib import Path

import pyvips

__all__ = ["make_synthetic_slide"]


def make_synthetic_slide(
    path: Path | str,
    width: int,
    height: int,
    *,
    tile: int = 256,
    mpp: float = 0.25,
    aperio: bool = True,
    quality: int = 85,
) -> Path:
    """Write a pyramidal tiled JPEG TIFF of ``width`` × ``height`` pixels to ``path``.

    Parameters
    ----------
    path
        Target file (``.tiff``); its folder must exist.
    width, height
        Level-0 size in pixels.
    tile
        Tile edge in pixels (256 lets DeepZoom tiles pass through without re-encoding).
    mpp
        Microns per pixel, written as the TIFF resolution (and into the Aperio description).
    aperio
        Write an Aperio-style image description (vendor, MPP, AppMag 40).
    quality
        JPEG quality of the stored tiles.

    Returns
    -------
    Path
        ``path``, for chaining.
    """
    target = Path(path)
    xy = pyvips.Image.xyz(width, height)
    x, y = xy[0], xy[1]
    red = (x * 255 / max(width - 1, 1)).cast("uchar")
    green = (y * 255 / max(height - 1, 1)).cast("uchar")
    squares = (((x / 97).floor() + (y / 89).floor()) % 2 == 0).ifthenelse(60, 220).cast("uchar")
    image = red.bandjoin([green, squares]).copy(interpretation="srgb")
    if aperio:
        description = (
            f"Aperio Image Library v12.0.0\r\n{width}x{height} [0,0 {width}x{height}] "
            f"({tile}x{tile}) JPEG/RGB Q={quality}|AppMag = 40|MPP = {mpp}"
        )
        image = image.copy()
        image.set_type(pyvips.GValue.gstr_type, "image-description", description)
    pixels_per_mm = 1000.0 / mpp
    image.tiffsave(
        str(target),
        tile=True,
        tile_width=tile,
        tile_height=tile,
        pyramid=True,
        compression="jpeg",
        Q=quality,
        xres=pixels_per_mm,
        yres=pixels_per_mm,
    )
    return target
