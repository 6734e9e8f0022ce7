"""What every backend of ``Store.annotation_density`` shares: argument checks and the frame.

The counting itself happens in the database (:mod:`exact_lab.store.sql.density`) or on the
server (``RestStore`` asks ``native/images/{id}/density``); this module only validates the
arguments before anything is sent and builds the documented DataFrame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from exact_lab.errors import BadInput
from exact_lab.store.abstract import Ref, ref

__all__ = ["DENSITY_COLUMNS", "MIN_CELL", "check_density_args", "density_frame", "type_ids"]

#: The columns of ``Store.annotation_density``, all int64.
DENSITY_COLUMNS = ("cx", "cy", "annotation_type", "count")
#: The smallest cell (px): one pixel. Smaller cells would only multiply empty cells, and keep
#: the cell indices of a slide far inside int64.
MIN_CELL = 1.0


def density_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Build the documented DataFrame from ``(cx, cy, annotation_type, count)`` tuples.

    >>> density_frame([(0, 1, 3, 7)]).dtypes.tolist()
    [dtype('int64'), dtype('int64'), dtype('int64'), dtype('int64')]
    """
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in DENSITY_COLUMNS]
    return pd.DataFrame(
        {
            name: np.asarray(values, dtype=np.int64)
            for name, values in zip(DENSITY_COLUMNS, columns, strict=True)
        }
    )


def check_density_args(
    cell: Any, bbox: Any, frame: Any, deleted: Any
) -> tuple[float, tuple[float, float, float, float] | None]:
    """Validate the arguments every backend checks first; return the cell and bbox as floats.

    >>> check_density_args(256, None, None, False)
    (256.0, None)
    >>> check_density_args(0, None, None, False)
    Traceback (most recent call last):
    ...
    exact_lab.errors.BadInput: cell: expected a cell size of at least 1 px, got 0
    """
    if isinstance(cell, bool) or not isinstance(cell, (int, float, np.integer, np.floating)):
        raise BadInput(f"cell: expected a number of pixels, got {cell!r}", field="cell")
    size = float(cell)
    if not math.isfinite(size) or size < MIN_CELL:
        raise BadInput(
            f"cell: expected a cell size of at least {MIN_CELL:g} px, got {cell!r}", field="cell"
        )
    window = None
    if bbox is not None:
        try:
            x0, y0, x1, y1 = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise BadInput("bbox: expected four numbers (x0, y0, x1, y1)", field="bbox") from None
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise BadInput("bbox: expected four finite numbers (x0, y0, x1, y1)", field="bbox")
        if x1 < x0 or y1 < y0:
            raise BadInput("bbox: x1/y1 must not be below x0/y0", field="bbox")
        window = (x0, y0, x1, y1)
    if frame is not None and (isinstance(frame, bool) or not isinstance(frame, int) or frame < 1):
        raise BadInput(f"frame: expected a frame number from 1, got {frame!r}", field="frame")
    if deleted is not None and not isinstance(deleted, bool):
        raise BadInput(f"deleted: expected True, False or None, got {deleted!r}", field="deleted")
    return size, window


def type_ids(value: Ref | Sequence[Ref] | None) -> list[int] | None:
    """Return the ids of one annotation type or several (None: every type).

    >>> type_ids(3), type_ids([1, 2]), type_ids(None)
    ([3], [1, 2], None)
    """
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple, set)) else [value]
    return [ref(v, "annotation_type") for v in items]
