"""The viewer's density grid: counts per cell from the store, and the home view's grid early.

When a region holds too many annotations to draw one by one, the browser gets a grid of counts
(``CELLS`` cells on the region's long side). The database counts them
(``Store.annotation_density``, one row per non-empty cell and type) instead of the kernel
reading every row. Cells are anchored at the image's top-left corner, so a grid is the store's
cells as they are; the grid covers the cells the region touches.

The whole image is the first region every viewer asks for (its home view), so the viewer starts
counting it in a thread as soon as it shows an image (:class:`HomeCounts`): the query then runs
while the browser loads the bundle, OpenSeadragon and the first tiles, and the first region
answer takes it instead of counting again.

Examples
--------
>>> counts = pd.DataFrame({"cx": [0, 1, 1], "cy": [0, 0, 0], "annotation_type": [1, 1, 2],
...                        "count": [3, 1, 4]})
>>> meta, (grid,) = density_payload(counts, (0, 0, 4000, 3000), cell_size(4000, 3000, cells=2))
>>> meta["gx"], meta["gy"], meta["count"], meta["max"], meta["cell"]
(2, 2, 8, 5.0, 2000.0)
>>> np.frombuffer(grid, dtype="<f4").tolist()
[3.0, 5.0, 0.0, 0.0]
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from exact_lab.store.abstract import Store

__all__ = [
    "CELLS",
    "HomeCounts",
    "cell_size",
    "concurrent_reads",
    "density_payload",
    "region_counts",
]

log = logging.getLogger(__name__)

#: Cells on the long side of a region's density grid.
CELLS = 128


def cell_size(width: float, height: float, *, cells: int = CELLS) -> float:
    """Level-0 px per cell for a region ``width`` x ``height``: its long side over ``cells``.

    Never under one pixel (the store's smallest cell).

    >>> cell_size(40_000, 30_000), cell_size(100, 50)
    (312.5, 1.0)
    """
    return max(float(width) / cells, float(height) / cells, 1.0)


def region_counts(
    store: Store,
    image: int,
    bbox: tuple[float, float, float, float] | None,
    cell: float,
    *,
    frame: int | None,
) -> pd.DataFrame:
    """Count the annotations meeting ``bbox`` (None: the whole image) per cell and type."""
    counts: pd.DataFrame = store.annotation_density(image, cell, bbox=bbox, frame=frame)
    return counts


def density_payload(
    counts: pd.DataFrame, bbox: Sequence[float], cell: float
) -> tuple[dict[str, Any], list[bytes]]:
    """Build the browser's grid over ``bbox`` from ``annotation_density`` rows (``cell`` px).

    ``count`` is every annotation counted (also those whose centre lies outside ``bbox``: they
    meet it); the grid holds those whose centre lies in one of its cells.
    """
    x0, y0, x1, y1 = (float(v) for v in bbox)
    ix0, iy0 = math.floor(x0 / cell), math.floor(y0 / cell)
    gx = max(1, math.ceil(x1 / cell) - ix0)
    gy = max(1, math.ceil(y1 / cell) - iy0)
    cx = counts["cx"].to_numpy(dtype=np.int64) - ix0
    cy = counts["cy"].to_numpy(dtype=np.int64) - iy0
    n = counts["count"].to_numpy(dtype=np.float64)
    inside = (cx >= 0) & (cx < gx) & (cy >= 0) & (cy < gy)
    grid = np.zeros(gy * gx, dtype=np.float64)
    np.add.at(grid, cy[inside] * gx + cx[inside], n[inside])  # several types share a cell
    meta = {
        "kind": "density",
        "count": int(n.sum()),
        "bbox": [ix0 * cell, iy0 * cell, (ix0 + gx) * cell, (iy0 + gy) * cell],
        "gx": gx,
        "gy": gy,
        "cell": cell,
        "max": float(grid.max()) if grid.size else 0.0,
    }
    return meta, [grid.astype("<f4").tobytes()]


def concurrent_reads(store: Store) -> bool:
    """Whether a second thread may read ``store`` while the kernel uses it.

    Not an in-memory SQLite store: its one connection is shared by every call, and two
    transactions on it at once fail ("cannot start a transaction within a transaction").

    >>> from exact_lab.store import connect
    >>> concurrent_reads(connect("sqlite://", user="alice"))
    False
    """
    engine = getattr(store, "engine", None)
    return not (isinstance(engine, sa.Engine) and isinstance(engine.pool, StaticPool))


class HomeCounts:
    """The whole image's counts per cell, counted in a daemon thread from construction on.

    ``take(image, frame, cell)`` returns them (waiting for the thread) when they were counted
    for exactly that image, frame and cell size and no change has come since (``stale()``);
    else None, and the caller counts itself. They are taken once: later answers count afresh.
    """

    def __init__(self, store: Store, image: int, cell: float, *, frame: int | None) -> None:
        self.key = (image, frame, cell)
        self._done = threading.Event()
        self._counts: pd.DataFrame | None = None
        self._stale = False
        self._thread = threading.Thread(
            target=self._count, args=(store, image, cell, frame), daemon=True
        )
        self._thread.start()

    def _count(self, store: Store, image: int, cell: float, frame: int | None) -> None:
        try:
            self._counts = region_counts(store, image, None, cell, frame=frame)
        except Exception:  # the answer then counts on the main thread and reports the error
            log.debug("early density count failed", exc_info=True)
        finally:
            self._done.set()

    def stale(self) -> None:
        """Forget the counts: the image's annotations changed since they were started."""
        self._stale = True

    def take(self, image: int, frame: int | None, cell: float) -> pd.DataFrame | None:
        """Return the counts if they match and are fresh (waits for the thread), else None."""
        if self._stale or self.key != (image, frame, cell):
            return None
        self._done.wait()
        counts, self._counts = self._counts, None
        self._stale = True
        return counts
