"""Fast bulk reads: rows go from the database to columns without per-row Python objects.

PostgreSQL streams the query through ``COPY (...) TO STDOUT (FORMAT CSV)`` and pyarrow parses
the CSV in C++; SQLite runs the query on the raw driver cursor. Both skip SQLAlchemy's per-row
result processing, which dominated reads of a million annotations. Queries are rendered with
literal values; every value in them is an integer, float or boolean produced by the store.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.store import frames

_TIME = {"time", "last_edit_time"}
_JSON = {"vector", "meta_data"}


def _sql(s: Session, query: Any) -> str:
    compiled = query.compile(dialect=s.get_bind().dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _arrow_type(name: str) -> pa.DataType:
    if name in _TIME or name in {"x_min", "y_min", "x_max", "y_max"}:
        return pa.float64()
    if name in {"deleted", "concealed", "blurred"}:
        return pa.bool_()
    if name in {"user", "last_editor"} or name in frames.INT_COLUMNS:
        return pa.int64()
    return pa.string()


def _postgres_columns(
    s: Session, query: Any, names: list[str], *, parse_json: bool
) -> dict[str, Any]:
    sub = query.subquery()
    picked = [
        sa.extract("epoch", col) if name in _TIME else col
        for name, col in zip(names, sub.c, strict=True)
    ]
    outer = sa.select(*picked).order_by(sub.c[0])
    raw: Any = s.connection().connection.driver_connection
    buffer = bytearray()
    with raw.cursor() as cur, cur.copy(f"COPY ({_sql(s, outer)}) TO STDOUT (FORMAT CSV)") as copy:
        for chunk in copy:
            buffer += chunk
    if not buffer:
        return {name: [] for name in names}
    types = {name: _arrow_type(name) for name in names}
    table = pacsv.read_csv(
        pa.py_buffer(bytes(buffer)),
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    out: dict[str, Any] = {}
    for name in names:
        column = table.column(name)
        if name in _TIME:
            micros = np.rint(column.to_numpy(zero_copy_only=False) * 1e6).astype(np.int64)
            out[name] = pd.to_datetime(micros, unit="us", utc=True)
        elif name in _JSON and parse_json:
            out[name] = [None if v is None else json.loads(v) for v in column.to_pylist()]
        elif name in _JSON:
            out[name] = column.to_pylist()
        elif name in {"user", "last_editor"}:
            out[name] = pd.array(column.to_pandas(), dtype="Int64")
        else:
            out[name] = column.to_numpy(zero_copy_only=False)
    return out


def _sqlite_columns(
    s: Session, query: Any, names: list[str], *, parse_json: bool
) -> dict[str, Any]:
    sub = query.subquery()
    outer = sa.select(*sub.c).order_by(sub.c[0])
    raw: Any = s.connection().connection.driver_connection
    rows = raw.execute(_sql(s, outer)).fetchall()
    values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    out: dict[str, Any] = {}
    for name, column in zip(names, values, strict=True):
        if name in _JSON and parse_json:
            out[name] = [None if v is None else json.loads(v) for v in column]
        elif name in _TIME:
            out[name] = pd.to_datetime(pd.Series(column, dtype=object), utc=True, format="ISO8601")
        else:
            out[name] = column
    return out


def read_frame(
    s: Session, query: Any, *, with_vector: bool, postgres: bool, parse_json: bool = True
) -> pd.DataFrame:
    """Run ``query`` (columns in :data:`frames.COLUMNS` order, unordered) into the DataFrame.

    With ``parse_json=False`` the ``vector`` and ``meta_data`` columns stay JSON text (for Arrow).
    """
    names = frames.columns(with_vector=with_vector)
    reader = _postgres_columns if postgres else _sqlite_columns
    data = reader(s, query, names, parse_json=parse_json)
    return frames.from_columns(data, with_vector=with_vector)
