"""The viewport query: hand-written SQL on the raw driver cursor, one round trip.

Viewers ask for "everything intersecting this window" many times a second, so this path avoids
SQL compilation and ORM row handling: a fixed statement per backend, bound parameters, and the
rows turned into the documented DataFrame column by column. PostgreSQL answers with the
B-tree on ``(image_set_id, image_id, cell)``, probing the grid cells the window touches
(:mod:`exact_lab.store.sql.grid`; a window needing more than ``grid.MAX_CELLS`` cells scans the
image's rows instead); SQLite with the banded integer R*Tree ``annotations_rtree`` (migration
0003). Both are refined with exact comparisons on the bounding-box columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from exact_lab.store import frames
from exact_lab.store.sql import grid

_SELECT = (
    "SELECT {t}id, {t}image_id, {t}image_set_id, {t}annotation_type_id, {vector}{t}frame, "
    "{t}x_min, {t}y_min, {t}x_max, {t}y_max, {t}unique_identifier, {t}description, "
    "{t}meta_data, {t}user_id, {t}last_editor_id, {t}time, {t}last_edit_time, {t}deleted, "
    "{t}concealed, {t}blurred, {t}revision, {t}verified_count "
)
# the set id leads the index: one init-plan lookup finds it
_PG_WHERE = (
    "WHERE image_set_id = (SELECT image_set_id FROM images WHERE id = %(image)s) "
    "AND image_id = %(image)s{cells} AND x_max >= %(x0)s AND x_min <= %(x1)s "
    "AND y_max >= %(y0)s AND y_min <= %(y1)s"
)
_PG_CELLS = " AND cell = ANY(%(cells)s::int8[])"
# CROSS JOIN makes SQLite walk the R*Tree first (else it may scan the image's rows by image_id)
_SQLITE_FROM = "FROM annotations_rtree AS r CROSS JOIN annotations AS a ON a.id = r.id "
_SQLITE_WHERE = (
    "WHERE r.x_hi >= :bx0 AND r.x_lo <= :bx1 AND r.y_hi >= :by0 AND r.y_lo <= :by1 "
    "AND a.image_id = :image "
    "AND a.x_max >= :x0 AND a.x_min <= :x1 AND a.y_max >= :y0 AND a.y_min <= :y1"
)
_INT32 = 2**31 - 1


def rtree_window(image: int, bbox: tuple[float, float, float, float]) -> dict[str, int]:
    """Map a window to the banded integer R*Tree of SQLite (see migration 0003)."""
    band = (image % 2047) * 2**20
    x0, y0, x1, y1 = bbox
    return {
        "bx0": min(int(x0) + band, _INT32),
        "bx1": min(int(x1) + 1 + band, _INT32),
        "by0": int(y0),
        "by1": int(y1) + 1,
    }


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
    t = "" if postgres else "a."
    sql = _SELECT.format(vector=f"{t}vector, " if with_vector else "", t=t)
    if postgres:
        cells = grid.window_cells(bbox)
        sql += "FROM annotations " + _PG_WHERE.format(cells="" if cells is None else _PG_CELLS)
        params["cells"] = cells
    else:
        sql += _SQLITE_FROM + _SQLITE_WHERE
        params.update(rtree_window(image, bbox))
    if types is not None:
        names = [f"t{i}" for i in range(len(types))]
        params.update(zip(names, types, strict=True))
        sql += f" AND {t}annotation_type_id IN ({', '.join(mark.format(n) for n in names)})"
    if frame is not None:
        params["frame"] = frame
        sql += f" AND {t}frame = {mark.format('frame')}"
    if deleted is not None:
        params["deleted"] = bool(deleted)
        sql += f" AND {t}deleted = {mark.format('deleted')}"
    if only_user is not None:
        params["user"] = only_user
        sql += f" AND {t}user_id = {mark.format('user')}"
    sql += f" ORDER BY {t}id"
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
