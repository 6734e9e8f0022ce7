"""Box vectors kept as their bounding box only (PostgreSQL, migration 0006).

The EXACT vector of a box given by its bounding box, ``{"x1": x_min, "y1": y_min, "x2": x_max,
"y2": y_max}`` with integer corners, repeats four columns the row holds anyway. On PostgreSQL the
bulk path stores NULL in ``vector`` for such rows and every read puts the vector back from the
bounding box: parsing a JSON text into jsonb for each row, and the ~90 bytes it adds to the row
and to the WAL, were a third of the server's time per bulk-inserted row.

The rule, on both backends: ``vector IS NULL AND x_min IS NOT NULL`` means the vector is the
box's integer corners. (An annotation without a vector, of a global type, has no bounding box
either.) Reads return what the stored jsonb would have printed, byte for byte: PostgreSQL orders
jsonb keys by length, then bytewise, so ``x1, x2, y1, y2``.

>>> box_vector(None, 10.0, 20.0, 30.0, 45.0)
{'x1': 10, 'x2': 30, 'y1': 20, 'y2': 45}
>>> box_vector({"x1": 1, "y1": 2}, 1.0, 2.0, 1.0, 2.0)
{'x1': 1, 'y1': 2}
>>> print(vector_text_sql("a."))  # doctest: +NORMALIZE_WHITESPACE
coalesce(a.vector::text, CASE WHEN a.x_min IS NOT NULL THEN '{"x1": ' || a.x_min::int8 || ',
"x2": ' || a.x_max::int8 || ', "y1": ' || a.y_min::int8 || ', "y2": ' || a.y_max::int8 || '}' END)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sqlalchemy as sa

#: jsonb's key order and the bounding-box column behind each key
KEYS = (("x1", "x_min"), ("x2", "x_max"), ("y1", "y_min"), ("y2", "y_max"))


def vector_text_sql(prefix: str = "") -> str:
    """Return the row's vector as JSON text in SQL (PostgreSQL); ``prefix`` qualifies columns.

    Text, not jsonb: psycopg loads text columns in C, where a jsonb column costs a Python call
    per row; the reader parses all texts with one ``json.loads``
    (:func:`exact_lab.store.frames.parse_json_column`). The SQLAlchemy form for bulk reads is
    :func:`vector_text_column`.
    """
    corners = " || ', ".join(f'"{key}": \' || {prefix}{column}::int8' for key, column in KEYS)
    return (
        f"coalesce({prefix}vector::text, "
        f"CASE WHEN {prefix}x_min IS NOT NULL THEN '{{{corners} || '}}' END)"
    )


def vector_text_column(table: sa.Table) -> Any:
    """Return the vector as JSON *text* over ``table`` (PostgreSQL), labelled ``vector``.

    For bulk reads, which want text anyway: concatenating the text costs about what printing a
    stored jsonb does, building a jsonb per row first took twice as long.
    """
    c = table.c
    text: Any = None
    for i, (key, column) in enumerate(KEYS):
        part = sa.literal(("{" if i == 0 else ", ") + f'"{key}": ')
        number = sa.cast(sa.cast(c[column], sa.BigInteger), sa.Text)
        text = part + number if text is None else text + part + number
    derived = sa.case(
        (c.vector.is_not(None), sa.cast(c.vector, sa.Text)),
        (c.x_min.is_not(None), text + sa.literal("}")),
    )
    return derived.label("vector")


def box_vector(
    vector: Any, x_min: float | None, y_min: float | None, x_max: float | None, y_max: float | None
) -> Any:
    """Return a row's vector: the stored one, else the one its bounding box stands for."""
    if vector is not None or x_min is None:
        return vector
    corners = {"x_min": x_min, "y_min": y_min, "x_max": x_max, "y_max": y_max}
    return {key: int(corners[column]) for key, column in KEYS}  # type: ignore[arg-type]


def integral(*columns: np.ndarray) -> bool:
    """Return True when every coordinate is whole, so that the vector may be left out."""
    return all(bool(np.all(np.mod(c, 1) == 0)) for c in columns)
