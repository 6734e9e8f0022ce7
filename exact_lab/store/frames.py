"""The columns of bulk annotation reads, shared by every store implementation.

``Store.annotations()`` and ``Store.annotations_in()`` return one row per annotation with these
columns, in this order (``vector`` only with ``with_vector=True``):

============== ========================= ===================================================
column         dtype                     meaning
============== ========================= ===================================================
id             int64                     annotation id
image          int64                     image id
image_set      int64                     image set id
annotation_type int64                    annotation type id
vector         object (dict or None)     EXACT flat vector ``{"x1":..,"y1":..,...}``
frame          int64                     1-based frame (z-level / time point)
x_min .. y_max float64 (NaN: no vector)  bounding box of the vector, level-0 pixels
unique_identifier object (str)           UUID, the upsert key per image
description    object (str)
meta_data      object (JSON value)
user           Int64                     creator's user id
last_editor    Int64                     last editor's user id
time           datetime64[ns, UTC]       creation time
last_edit_time datetime64[ns, UTC]       time of the state shown
deleted        bool                      soft-deleted
concealed      bool
blurred        bool
revision       int64                     the annotation's revision shown
verified_count int64                     users who verified it (now, also for versions)
============== ========================= ===================================================

In Arrow tables, ``vector`` and ``meta_data`` are JSON text columns.

Examples
--------
>>> frame = empty_frame()
>>> list(frame.columns)[:4]
['id', 'image', 'image_set', 'annotation_type']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["COLUMNS", "INT_COLUMNS", "build_frame", "empty_frame", "from_columns", "to_arrow"]

COLUMNS = (
    "id",
    "image",
    "image_set",
    "annotation_type",
    "vector",
    "frame",
    "x_min",
    "y_min",
    "x_max",
    "y_max",
    "unique_identifier",
    "description",
    "meta_data",
    "user",
    "last_editor",
    "time",
    "last_edit_time",
    "deleted",
    "concealed",
    "blurred",
    "revision",
    "verified_count",
)
INT_COLUMNS = ("id", "image", "image_set", "annotation_type", "frame", "revision", "verified_count")
_NULLABLE_INT = ("user", "last_editor")
_FLOAT = ("x_min", "y_min", "x_max", "y_max")
_BOOL = ("deleted", "concealed", "blurred")
_TIME = ("time", "last_edit_time")


def columns(*, with_vector: bool = True) -> list[str]:
    """Return the column names, optionally without ``vector``."""
    return [c for c in COLUMNS if with_vector or c != "vector"]


def _objects(column: Any) -> np.ndarray:
    """Return a 1-D object array holding the values as they are (lists and dicts stay whole)."""
    out = np.empty(len(column), dtype=object)
    for i, value in enumerate(column):
        out[i] = value
    return out


def _times(column: Any) -> Any:
    if isinstance(column, (pd.Series, pd.DatetimeIndex)) or not len(column):
        stamps = pd.to_datetime(column, utc=True, format="ISO8601")
    elif isinstance(column[0], str):
        stamps = pd.to_datetime(list(column), utc=True, format="ISO8601")
    else:
        stamps = pd.DatetimeIndex(list(column))
        stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
    return pd.DatetimeIndex(stamps).astype("datetime64[ns, UTC]").array


def from_columns(data: dict[str, Any], *, with_vector: bool = True) -> pd.DataFrame:
    """Build the documented DataFrame from one sequence per column, fixing the dtypes."""
    names = columns(with_vector=with_vector)
    out: dict[str, Any] = {}
    for name in names:
        column = data[name]
        if name in INT_COLUMNS:
            out[name] = np.asarray(column, dtype=np.int64).reshape(len(column))
        elif name in _FLOAT:
            out[name] = np.asarray(column, dtype=np.float64).reshape(len(column))
        elif name in _BOOL:
            out[name] = np.asarray(column, dtype=bool).reshape(len(column))
        elif name in _NULLABLE_INT:
            out[name] = pd.array(column, dtype="Int64")
        elif name in _TIME:
            out[name] = _times(column)
        else:
            out[name] = _objects(column)
    return pd.DataFrame(out, columns=names, copy=False)


def build_frame(rows: Sequence[Sequence[Any]], *, with_vector: bool = True) -> pd.DataFrame:
    """Build the documented DataFrame from rows in :data:`COLUMNS` order."""
    names = columns(with_vector=with_vector)
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return from_columns(dict(zip(names, values, strict=True)), with_vector=with_vector)


def empty_frame(*, with_vector: bool = True) -> pd.DataFrame:
    """Return a DataFrame with the documented columns and no rows."""
    return build_frame([], with_vector=with_vector)


def to_arrow(frame: pd.DataFrame) -> Any:
    """Convert a frame to an Arrow table (JSON columns become text)."""
    out = frame.copy()
    for name in ("vector", "meta_data"):
        if name in out:
            out[name] = [
                v if v is None or isinstance(v, str) else json.dumps(v) for v in out[name].tolist()
            ]
    table = pa.Table.from_pandas(out, preserve_index=False)
    fields = [
        pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))
