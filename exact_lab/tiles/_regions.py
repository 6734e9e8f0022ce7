"""Regions and patches as numpy arrays or PNG: any level, centred on annotations.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pyvips.Image.black(600, 400).write_to_file(str(folder / "x.png"))
>>> from exact_lab.tiles import open_slide
>>> slide = open_slide(folder / "x.png", conversion_dir=folder / "c")
>>> vector = {"x1": 100, "y1": 100, "x2": 140, "y2": 120}
>>> patch_around(slide, vector, size=(64, 32)).shape
(32, 64, 3)
>>> vector_bounds(vector)
(100.0, 100.0, 140.0, 120.0)
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from exact_lab.errors import BadInput

from ._slide import Slide

__all__ = ["MAX_PATCH_EDGE", "get_patch_png", "patch_around", "read_level_array", "vector_bounds"]

#: Largest width or height :func:`get_patch_png` returns, as EXACT's ``get_patch``.
MAX_PATCH_EDGE = 2048


def vector_bounds(vector: Mapping[str, object]) -> tuple[float, float, float, float]:
    """Return ``(min_x, min_y, max_x, max_y)`` of an EXACT vector ``{"x1":..,"y1":..,...}``.

    Keys other than ``xN``/``yN`` (such as ``frame``) are ignored.
    """
    xs: list[float] = []
    ys: list[float] = []
    for key, value in vector.items():
        if len(key) > 1 and key[0] in "xy" and key[1:].isdigit():
            if not isinstance(value, int | float):
                raise BadInput(f"vector coordinate {key} must be a number, got {value!r}")
            (xs if key[0] == "x" else ys).append(float(value))
    if not xs or not ys:
        raise BadInput(
            f"vector {dict(vector)!r} has no x1/y1 coordinates; expected keys like x1, y1, x2, y2",
            field="vector",
        )
    return min(xs), min(ys), max(xs), max(ys)


def read_level_array(
    slide: Slide,
    location: tuple[int, int],
    level: int,
    size: tuple[int, int],
    *,
    frame: int = 0,
) -> NDArray[np.uint8]:
    """Return an RGB ``(h, w, 3)`` array of ``size`` at ``level``; ``location`` is in level-0 px."""
    return slide.read_array(location, level, size, frame=frame)


def patch_around(
    slide: Slide,
    vector: Mapping[str, object],
    *,
    size: tuple[int, int] | None = None,
    level: int = 0,
    margin: int = 0,
    frame: int | None = None,
) -> NDArray[np.uint8]:
    """Return an RGB patch at ``level`` centred on the bounding box of an EXACT vector.

    Parameters
    ----------
    slide
        The slide.
    vector
        EXACT vector dict in level-0 pixels: ``{"x1":..,"y1":..,"x2":..,"y2":..}``, optionally
        with ``"frame"`` (1-based, as EXACT stores it).
    size
        Patch width and height in pixels of ``level``; default: the bounding box plus ``margin``.
    level
        Slide level to read.
    margin
        Pixels of ``level`` added on each side when ``size`` is not given.
    frame
        Frame index (0-based); default ``vector["frame"] - 1`` or 0.
    """
    min_x, min_y, max_x, max_y = vector_bounds(vector)
    slide.check_level(level)
    ds = slide.level_downsamples[level]
    if size is None:
        size = (
            max(1, round((max_x - min_x) / ds) + 2 * margin),
            max(1, round((max_y - min_y) / ds) + 2 * margin),
        )
    width, height = size
    if frame is None:
        raw_frame = vector.get("frame", 1)
        frame = int(raw_frame) - 1 if isinstance(raw_frame, int | float) else 0
    centre_x, centre_y = (min_x + max_x) / 2, (min_y + max_y) / 2
    x0 = round(centre_x - width * ds / 2)
    y0 = round(centre_y - height * ds / 2)
    return slide.read_array((x0, y0), level, (width, height), frame=frame)


def get_patch_png(
    slide: Slide, *, x: int, y: int, level: int, width: int, height: int, frame: int = 0
) -> bytes:
    """Return a PNG of ``width`` × ``height`` pixels of ``level`` at level-0 ``(x, y)``.

    The shape of EXACT's ``get_patch``: at most 2048 × 2048, else BadInput.
    """
    if not (0 < width <= MAX_PATCH_EDGE and 0 < height <= MAX_PATCH_EDGE):
        raise BadInput(
            f"patch size {width}x{height} is out of range: width and height must be between 1 "
            f"and {MAX_PATCH_EDGE}",
            field="width" if not 0 < width <= MAX_PATCH_EDGE else "height",
        )
    pixels = slide.read_array((x, y), level, (width, height), frame=frame)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=3)
    return out.getvalue()
