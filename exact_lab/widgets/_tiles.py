"""Where the viewer's tiles come from: the server extension over HTTP, else the widget channel.

Over HTTP the browser loads EXACT's DeepZoom paths relative to the Jupyter server's base URL.
Where no extension runs (VS Code, a plain kernel) the kernel reads the tiles and sends the
JPEG bytes over the widget comm; that needs the slide's path, which the store shows to team
admins only (or which the caller passes as ``slide=``).

Examples
--------
>>> dzi_path(12, frame=2)
'exact/api/v1/images/images/12/1/2/tile/'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exact_lab.errors import ExactLabError, SlideReadError

__all__ = ["CommTiles", "dzi_path"]


def dzi_path(image_id: int, *, frame: int = 1, z: int = 1) -> str:
    """EXACT's DZI path of an image (``z`` and ``frame`` 1-based), relative to ``base_url``."""
    return f"exact/api/v1/images/images/{int(image_id)}/{int(z)}/{int(frame)}/tile/"


class CommTiles:
    """DeepZoom tiles of one slide file read in the kernel (254 px, overlap 1, like EXACT)."""

    TILE = 254
    OVERLAP = 1

    def __init__(self, path: str | Path | None) -> None:
        """Serve tiles of ``path``; ``None`` means the kernel cannot serve this image."""
        self.path = None if path is None else Path(path)
        self._service: Any = None

    @property
    def available(self) -> bool:
        """Whether the kernel knows the slide file."""
        return self.path is not None

    def service(self) -> Any:
        """Return the :class:`~exact_lab.tiles.TileService` (created on first use)."""
        if self._service is None:
            from exact_lab.tiles import TileService  # noqa: PLC0415 - comm tiles only

            self._service = TileService(cache_mb=64, tile_size=self.TILE, overlap=self.OVERLAP)
        return self._service

    def describe(self) -> dict[str, Any]:
        """Width, height, tile size and overlap for the browser's tile source; SlideReadError."""
        if self.path is None:
            raise SlideReadError("the kernel does not know this slide's file")
        info = self.service().slide_information(self.path)
        return {
            "width": info["width"],
            "height": info["height"],
            "tileSize": info["tile_size"],
            "tileOverlap": info["overlap"],
        }

    def tile(self, level: int, col: int, row: int, *, frame: int = 1) -> bytes:
        """JPEG bytes of one tile (``frame`` 1-based)."""
        if self.path is None:
            raise SlideReadError("the kernel does not know this slide's file")
        return bytes(self.service().tile(self.path, level, col, row, frame=frame - 1).data)

    def safe_describe(self) -> tuple[dict[str, Any] | None, str]:
        """:meth:`describe`, or ``(None, message)`` when the slide cannot be read."""
        try:
            return self.describe(), ""
        except ExactLabError as err:
            return None, f"The slide cannot be read: {err}"
