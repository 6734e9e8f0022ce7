r"""Encode RGB pixels as JPEG, PNG or WebP bytes.

Examples
--------
>>> import numpy as np
>>> data = encode(np.zeros((8, 8, 3), np.uint8), "png")
>>> data[:4] == b"\x89PNG", media_type("jpg")
(True, 'image/jpeg')
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from exact_lab.errors import BadInput

__all__ = ["FORMATS", "encode", "media_type", "normalise_format"]

#: Accepted format names and the canonical name each maps to.
FORMATS = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png", "webp": "webp"}
_MEDIA = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def normalise_format(image_format: str) -> str:
    """Return the canonical format name (``jpeg``, ``png`` or ``webp``), else raise BadInput."""
    name = FORMATS.get(image_format.lower().lstrip("."))
    if name is None:
        raise BadInput(
            f"tile format {image_format!r} is not supported; use jpeg, png or webp",
            field="format",
        )
    return name


def media_type(image_format: str) -> str:
    """Return the HTTP media type of a format name."""
    return _MEDIA[normalise_format(image_format)]


def encode(
    pixels: Image.Image | NDArray[np.uint8], image_format: str = "jpeg", *, quality: int = 90
) -> bytes:
    """Encode an RGB image (PIL or ``(h, w, 3)`` uint8 array) as ``jpeg``, ``png`` or ``webp``.

    JPEG uses 4:2:0 chroma subsampling and no optimisation pass (fast); PNG uses zlib level 3;
    WebP is lossy at ``quality`` with the fastest method.
    """
    name = normalise_format(image_format)
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    if image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    if name == "jpeg":
        image.save(out, "JPEG", quality=quality, subsampling=2)
    elif name == "png":
        image.save(out, "PNG", compress_level=3)
    else:
        image.save(out, "WEBP", quality=quality, method=0)
    return out.getvalue()
