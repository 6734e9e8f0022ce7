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
>>> table = pa.table({"id": [7], "annotation_type": [2], "revision": [1], "user": [3],
...                   "vector": ['{"x1": 10, "y1": 20, "x2": 30, "y2": 40}']})
>>> meta, buffers = detail_payload(table)
>>> meta["count"], len(buffers)
(1, 6)
>>> np.frombuffer(buffers[5], dtype="<f4").tolist()
[10.0, 20.0, 30.0, 40.0]
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["density_payload", "detail_payload", "flat_vectors", "vector_points"]


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


def _flat(vector: Any) -> Any:
    """Return the x, y values of an EXACT vector, unconverted.

    A vector whose keys are exactly x1, y1, ... in order (as SQLite keeps them) is read by its
    values alone; any other (PostgreSQL's jsonb sorts keys; a ``frame`` key) goes through
    :func:`vector_points`.
    """
    if not isinstance(vector, dict):
        return ()
    n = len(vector) // 2
    if n < len(_ORDER) and len(vector) == 2 * n and tuple(vector) == _ORDER[n]:
        return vector.values()
    return vector_points(vector)


def flat_vectors(texts: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Flatten vectors given as JSON text into ``(offsets, coords)``.

    ``offsets`` (uint32, n + 1) count points; ``coords`` (float32) are x, y pairs in vertex
    order. All texts are parsed by one ``json.loads`` of a JSON array (one C call, not one
    per row), and numpy converts the values at once.

    >>> offsets, coords = flat_vectors(pa.array(['{"x1": 1, "y1": 2}', None, '{"y1": 4, "x1": 3}']))
    >>> offsets.tolist(), coords.tolist()
    ([0, 1, 1, 2], [1.0, 2.0, 3.0, 4.0])
    """
    n = len(texts)
    column = pc.fill_null(texts, "null")
    vectors = json.loads("[" + ",".join(column.to_pylist()) + "]") if n else []
    chunks = [_flat(vector) for vector in vectors]
    offsets = np.zeros(n + 1, dtype="<u4")
    np.cumsum(np.fromiter(map(len, chunks), dtype=np.int64, count=n) // 2, out=offsets[1:])
    coords = np.fromiter(
        itertools.chain.from_iterable(chunks), dtype="<f4", count=2 * int(offsets[-1])
    )
    return offsets, coords


def _int32(values: Any) -> bytes:
    return np.asarray(values, dtype="<i4").tobytes()


def _numbers(table: pa.Table, name: str, *, missing: float | None = None) -> np.ndarray:
    column = table.column(name)
    if missing is not None:
        column = pc.fill_null(column, missing)
    values: np.ndarray = column.to_numpy(zero_copy_only=False)
    return values


def detail_payload(table: pa.Table) -> tuple[dict[str, Any], list[bytes]]:
    """Encode annotations (store columns ``id, annotation_type, revision, user, vector``).

    ``vector`` is the store's Arrow column of JSON texts (``format="arrow"``).
    """
    offsets, coords = flat_vectors(table.column("vector"))
    buffers = [
        _int32(_numbers(table, "id")),
        _int32(_numbers(table, "annotation_type")),
        _int32(_numbers(table, "revision")),
        _int32(_numbers(table, "user", missing=-1)),
        offsets.tobytes(),
        coords.tobytes(),
    ]
    return {"kind": "detail", "count": table.num_rows}, buffers


def density_payload(
    table: pa.Table, bbox: Sequence[float], *, cells: int = 128
) -> tuple[dict[str, Any], list[bytes]]:
    """Count annotation centres on a grid over ``bbox`` (``x0, y0, x1, y1``), square cells."""
    x0, y0, x1, y1 = (float(v) for v in bbox)
    span = max(x1 - x0, y1 - y0, 1.0)
    size = span / cells
    gx = max(1, int(np.ceil((x1 - x0) / size)))
    gy = max(1, int(np.ceil((y1 - y0) / size)))
    nan = float("nan")
    cx = (_numbers(table, "x_min", missing=nan) + _numbers(table, "x_max", missing=nan)) / 2
    cy = (_numbers(table, "y_min", missing=nan) + _numbers(table, "y_max", missing=nan)) / 2
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
