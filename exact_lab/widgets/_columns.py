"""Annotations as binary columns for the browser: typed arrays, never one JSON object each.

A *detail* payload carries every annotation of a region; a *density* payload, used when a region
holds more annotations than the viewer draws one by one, carries a grid of counts.

Detail buffers, in order (little-endian, as JavaScript typed arrays expect):

========== ============ =====================================================================
buffer     type         content
========== ============ =====================================================================
ids        Int32Array   annotation ids
types      Int32Array   annotation type ids
revisions  Int32Array   revision of each annotation (the base of the next edit)
users      Int32Array   creator's user id (-1: unknown)
offsets    Uint32Array  n + 1 offsets into ``coords``, in points
coords     Float32Array x, y pairs in level-0 pixels (EXACT vectors in node order)
========== ============ =====================================================================

Float32 holds integers exactly up to 2**24, far beyond any slide's width.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"id": [7], "annotation_type": [2], "revision": [1], "user": [3],
...                       "vector": [{"x1": 10, "y1": 20, "x2": 30, "y2": 40}]})
>>> meta, buffers = detail_payload(frame)
>>> meta["count"], len(buffers)
(1, 6)
>>> np.frombuffer(buffers[5], dtype="<f4").tolist()
[10.0, 20.0, 30.0, 40.0]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["density_payload", "detail_payload", "vector_points"]


def vector_points(vector: Any) -> list[float]:
    """Flatten an EXACT vector ``{"x1":..,"y1":..,...}`` into ``[x1, y1, x2, y2, ...]``."""
    if not isinstance(vector, dict):
        return []
    out: list[float] = []
    i = 1
    while f"x{i}" in vector and f"y{i}" in vector:
        out += (float(vector[f"x{i}"]), float(vector[f"y{i}"]))
        i += 1
    return out


def points_vector(points: Sequence[float], frame: int | None = None) -> dict[str, Any]:
    """Build an EXACT vector from ``[x1, y1, x2, y2, ...]``, rounded to whole level-0 pixels."""
    vector: dict[str, Any] = {}
    for i in range(len(points) // 2):
        vector[f"x{i + 1}"] = round(float(points[2 * i]))
        vector[f"y{i + 1}"] = round(float(points[2 * i + 1]))
    if frame is not None:
        vector["frame"] = int(frame)
    return vector


#: The keys of a vector of n vertices in EXACT's order (x1, y1, ..., xn, yn), for n < 257.
_ORDER = tuple(
    tuple(key for i in range(1, n + 1) for key in (f"x{i}", f"y{i}")) for n in range(257)
)


def _flat(vector: Any) -> list[Any]:
    """:func:`vector_points` without the float conversion (numpy converts all at once).

    A vector whose keys are exactly x1, y1, ... in order (as the store writes them) is read by
    its values alone; any other goes through :func:`vector_points`.
    """
    if not isinstance(vector, dict):
        return []
    n = len(vector) // 2
    if n < len(_ORDER) and tuple(vector) == _ORDER[n] and len(vector) == 2 * n:
        return list(vector.values())
    return vector_points(vector)


def _int32(values: Any) -> bytes:
    return np.asarray(values, dtype="<i4").tobytes()


def detail_payload(frame: pd.DataFrame) -> tuple[dict[str, Any], list[bytes]]:
    """Encode annotations (store columns ``id, annotation_type, revision, user, vector``)."""
    n = len(frame)
    chunks = [_flat(vector) for vector in frame["vector"].tolist()]
    offsets = np.zeros(n + 1, dtype="<u4")
    np.cumsum(np.fromiter(map(len, chunks), dtype=np.int64, count=n) // 2, out=offsets[1:])
    coords = np.array(list(itertools.chain.from_iterable(chunks)), dtype="<f4")
    users = frame["user"].astype("Int64").fillna(-1).to_numpy(dtype="int64")
    buffers = [
        _int32(frame["id"].to_numpy()),
        _int32(frame["annotation_type"].to_numpy()),
        _int32(frame["revision"].to_numpy()),
        _int32(users),
        offsets.tobytes(),
        coords.tobytes(),
    ]
    return {"kind": "detail", "count": n}, buffers


def density_payload(
    frame: pd.DataFrame, bbox: Sequence[float], *, cells: int = 128
) -> tuple[dict[str, Any], list[bytes]]:
    """Count annotation centres on a grid over ``bbox`` (``x0, y0, x1, y1``), square cells."""
    x0, y0, x1, y1 = (float(v) for v in bbox)
    span = max(x1 - x0, y1 - y0, 1.0)
    size = span / cells
    gx = max(1, int(np.ceil((x1 - x0) / size)))
    gy = max(1, int(np.ceil((y1 - y0) / size)))
    cx = ((frame["x_min"] + frame["x_max"]) / 2).to_numpy(dtype="float64")
    cy = ((frame["y_min"] + frame["y_max"]) / 2).to_numpy(dtype="float64")
    keep = np.isfinite(cx) & np.isfinite(cy)
    grid, _, _ = np.histogram2d(
        cy[keep], cx[keep], bins=(gy, gx), range=((y0, y0 + gy * size), (x0, x0 + gx * size))
    )
    meta = {
        "kind": "density",
        "count": int(keep.sum()),
        "bbox": [x0, y0, x0 + gx * size, y0 + gy * size],
        "gx": gx,
        "gy": gy,
        "max": float(grid.max()) if grid.size else 0.0,
    }
    return meta, [grid.astype("<f4").tobytes()]
