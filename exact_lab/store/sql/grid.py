"""The multi-level grid behind PostgreSQL's viewport index (``annotations.cell``, migration 0005).

A GiST box index costs the server about as much per inserted row as storing the row itself, so
PostgreSQL indexes a plain B-tree on ``(image_id, cell)`` instead. A box whose larger side is at
most ``BASE * 2**level`` px lives at that level, in the cell holding its top-left corner; boxes
larger than the finest ``LEVELS`` levels share one ``TOP`` cell. A box of level ``l`` that
intersects a window starts less than one cell size left of and above it, so the cells to search
at that level are those covering the window grown by one cell size up and left: a few dozen
B-tree probes for a viewer's window, each returning the boxes of one small cell. Exact
comparisons on the bounding-box columns then drop the candidates that miss the window.

SQLite keeps its R*Tree (migrations 0002/0003); the column is filled there too so both
databases hold the same rows.

Example:
    >>> cell_key(10, 20, 40, 50)  # 30 px box: level 0, cell (0, 0)
    0
    >>> cell_key(600, 1100, 610, 1110) == (2 << SHIFT_Y) + 1  # cell (1, 2) of level 0
    True
    >>> cell_key(0, 0, 1500, 1500) >> SHIFT_LEVEL  # 1500 px box: level 2 (cells of 2048 px)
    2
    >>> len(window_cells((1000, 1000, 2550, 2550))) < 100
    True
"""

from __future__ import annotations

import math

import numpy as np

BASE = 512  # px: the cell size of level 0 (256 px probed twice as many cells, 10-35% slower)
LEVELS = 10  # levels 0..9: cells of 512 px up to 262,144 px (a whole slide)
TOP = LEVELS  # the level of boxes larger than that: one cell per image
SHIFT_Y = 26  # key = level << 52 | cy << 26 | cx (cell indices below 2**26)
SHIFT_LEVEL = 52
MAX_CELLS = 4096  # larger windows are answered by a scan of the image's rows


def _level(size: float) -> int:
    if size <= BASE:
        return 0
    return min(math.ceil(math.log2(size / BASE)), TOP)


def cell_key(x_min: float, y_min: float, x_max: float, y_max: float) -> int:
    """Return the cell key of one bounding box."""
    level = _level(max(x_max - x_min, y_max - y_min))
    if level == TOP:
        return TOP << SHIFT_LEVEL
    side = BASE << level
    return (level << SHIFT_LEVEL) | (int(y_min // side) << SHIFT_Y) | int(x_min // side)


def cell_keys(
    x_min: np.ndarray, y_min: np.ndarray, x_max: np.ndarray, y_max: np.ndarray
) -> np.ndarray:
    """Return the int64 cell keys of many bounding boxes (the rule of :func:`cell_key`)."""
    size = np.maximum(x_max - x_min, y_max - y_min)
    level = np.zeros(len(size), dtype=np.int64)
    big = size > BASE
    level[big] = np.ceil(np.log2(size[big] / BASE)).astype(np.int64)
    # log2 may round either way at exact powers of two: settle on the rule's level
    level[big & (size > (BASE << level))] += 1
    shrink = (level > 0) & (size <= (BASE << np.maximum(level - 1, 0)))
    level[shrink] -= 1
    level = np.minimum(level, TOP)
    side = (BASE << level).astype(np.float64)
    cx = np.floor_divide(x_min, side).astype(np.int64)
    cy = np.floor_divide(y_min, side).astype(np.int64)
    keys: np.ndarray = (level << SHIFT_LEVEL) | (cy << SHIFT_Y) | cx
    keys[level == TOP] = TOP << SHIFT_LEVEL
    return keys


def window_cells(bbox: tuple[float, float, float, float]) -> list[int] | None:
    """List the cell keys a box intersecting ``bbox`` may have (None: too many to list)."""
    x0, y0, x1, y1 = bbox
    if not all(math.isfinite(v) for v in bbox):
        return None
    keys: list[int] = [TOP << SHIFT_LEVEL]
    for level in range(LEVELS):
        side = BASE << level
        xs = range(max(int((x0 - side) // side), 0), max(int(x1 // side), -1) + 1)
        ys = range(max(int((y0 - side) // side), 0), max(int(y1 // side), -1) + 1)
        if len(keys) + len(xs) * len(ys) > MAX_CELLS:
            return None
        head = level << SHIFT_LEVEL
        keys.extend(head | (cy << SHIFT_Y) | cx for cy in ys for cx in xs)
    return keys
