"""The viewport query: hand-written SQL on the raw driver cursor, one round trip.

Viewers ask for "everything intersecting this window" many times a second, so this path avoids
SQL compilation and ORM row handling: a fixed statement per backend, bound parameters, and the
rows turned into the documented DataFrame column by column. PostgreSQL answers with the GiST
index on ``box(point(x_min, y_min), point(x_max, y_max))``; SQLite with the R*Tree
``annotations_rtree``, refined with exact comparisons.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from exact_lab.store import frames

_SELECT = (
    "SELECT id, image_id, image_set_id, annotation_type_id, {vector}frame, x_min, y_min, x_max, "
    "y_max, unique_identifier, description, meta_data, user_id, last_editor_id, time, "
    "last_edit_time, deleted, concealed, blurred, revision, verified_count FROM annotations "
)
_PG_WHERE = (
    "WHERE image_id = %(image)s AND box(point(x_min, y_min), point(x_max, y_max)) && "
    "box(point(%(x0)s, %(y0)s), point(%(x1)s, %(y1)s))"
)
_SQLITE_WHERE = (
    "WHERE id IN (SELECT id FROM annotations_rtree WHERE image_lo <= :image AND "
    "image_hi >= :image AND x_hi >= :x0 AND x_lo <= :x1 AND y_hi >= :y0 AND y_lo <= :y1) "
    "AND x_max >= :x0 AND x_min <= :x1 AND y_max >= :y0 AND y_min <= :y1"
)


def viewport_frame(
    s: Session,
    *,
    postgres: bool,
    image: int,
    bbox: tuple[float, float, float, float],
    types: Sequence[int] | None,
    frame: int | None,
    deleted: bool | None,
    only_user: int | None,
    with_vector: bool,
) -> pd.DataFrame:
    """Return the annotations of ``image`` whose bounding box intersects ``bbox``."""
    x0, y0, x1, y1 = bbox
    params: dict[str, Any] = {"image": image, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
    mark = "%({})s" if postgres else ":{}"
    sql = _SELECT.format(vector="vector, " if with_vector else "")
    sql += _PG_WHERE if postgres else _SQLITE_WHERE
    if types is not None:
        names = [f"t{i}" for i in range(len(types))]
        params.update(zip(names, types, strict=True))
        sql += f" AND annotation_type_id IN ({', '.join(mark.format(n) for n in names)})"
    if frame is not None:
        params["frame"] = frame
        sql += f" AND frame = {mark.format('frame')}"
    if deleted is not None:
        params["deleted"] = bool(deleted)
        sql += f" AND deleted = {mark.format('deleted')}"
    if only_user is not None:
        params["user"] = only_user
        sql += f" AND user_id = {mark.format('user')}"
    sql += " ORDER BY id"
    raw: Any = s.connection().connection.driver_connection
    if postgres:
        with raw.cursor() as cur:
            rows = cur.execute(sql, params, prepare=False).fetchall()
    else:
        rows = raw.execute(sql, params).fetchall()
    names = frames.columns(with_vector=with_vector)
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    data: dict[str, Any] = dict(zip(names, values, strict=True))
    for name in ("vector", "meta_data"):
        if name in data:
            data[name] = [json.loads(v) if isinstance(v, str) else v for v in data[name]]
    return frames.from_columns(data, with_vector=with_vector)
