"""Fast bulk reads: rows go from the database cursor to Arrow columns, never to row objects.

PostgreSQL streams the query through ``COPY (...) TO STDOUT (FORMAT CSV)`` and pyarrow parses
the CSV in C++. SQLite runs the query on the raw driver cursor; its rows are transposed into one
tuple per column and handed to Arrow, skipping SQLAlchemy's per-row result processing. Either
way the result is the fixed Arrow table of :func:`exact_lab.store.frames.arrow_schema`, with
``vector`` and ``meta_data`` left as the JSON text the database holds; a DataFrame is built
from it (parsing the JSON in one call per column) only when pandas is asked for.

Queries are rendered with literal values; every value in them is an integer, float or boolean
produced by the store. Rows are sorted by id in Arrow, not in SQL: SQLite would otherwise copy
every wide row into a temporary B-tree, which cost more than the read itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.store import frames

_TIME = {"time", "last_edit_time"}
_SQLITE_CHUNK = 16384  # rows per fetch: bounded Python objects alive at a time


def _sql(s: Session, query: Any) -> str:
    compiled = query.compile(dialect=s.get_bind().dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def _csv_type(name: str, field: pa.Field) -> pa.DataType:
    return pa.float64() if name in _TIME else field.type


def _postgres_columns(s: Session, query: Any, names: list[str]) -> dict[str, Any]:
    sub = query.subquery()
    picked = [
        sa.extract("epoch", col) if name in _TIME else col
        for name, col in zip(names, sub.c, strict=True)
    ]
    raw: Any = s.connection().connection.driver_connection
    buffer = bytearray()
    sql = _sql(s, sa.select(*picked))
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT CSV)") as copy:
        for chunk in copy:
            buffer += chunk
    schema = frames.arrow_schema(with_vector="vector" in names)
    if not buffer:
        return {name: pa.array([], schema.field(name).type) for name in names}
    table = pacsv.read_csv(
        pa.py_buffer(bytes(buffer)),
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(
            column_types={n: _csv_type(n, schema.field(n)) for n in names},
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    out: dict[str, Any] = {name: table.column(name) for name in names}
    for name in _TIME & set(names):  # epoch seconds with 6 decimals: exact in float64
        micros = pc.round(pc.multiply(out[name], 1e6)).cast(pa.int64())
        out[name] = micros.cast(pa.timestamp("us", tz="UTC"))
    return out


def sqlite_row_type(schema: pa.Schema) -> pa.StructType:
    """Return the struct of a row of ``schema`` as SQLite hands it over.

    Booleans come as 0/1 and times as ISO 8601 text; ``pa.array(rows, type=...)`` then makes
    the columns in C++.

    >>> sqlite_row_type(frames.arrow_schema(names=["deleted", "time", "id"]))
    StructType(struct<deleted: int64, time: string, id: int64>)
    """
    fields = []
    for field in schema:
        kind = field.type
        if pa.types.is_boolean(kind):
            kind = pa.int64()
        elif pa.types.is_timestamp(kind):
            kind = pa.string()
        fields.append(pa.field(field.name, kind))
    return pa.struct(fields)


def _sqlite_columns(s: Session, query: Any, names: list[str]) -> dict[str, Any]:
    schema = frames.arrow_schema(with_vector="vector" in names)
    rows_type = sqlite_row_type(schema)
    raw: Any = s.connection().connection.driver_connection
    cursor = raw.execute(_sql(s, query))
    chunks = []
    while rows := cursor.fetchmany(_SQLITE_CHUNK):
        chunks.append(pa.array(rows, type=rows_type))  # tuples to columns in C++
    return {
        name: pa.chunked_array([chunk.field(name) for chunk in chunks], rows_type.field(name).type)
        for name in names
    }


def read_arrow(s: Session, query: Any, *, with_vector: bool, postgres: bool) -> pa.Table:
    """Run ``query`` (columns in :data:`frames.COLUMNS` order) into the Arrow table, by id."""
    names = frames.columns(with_vector=with_vector)
    reader = _postgres_columns if postgres else _sqlite_columns
    table = frames.arrow_from_columns(reader(s, query, names), with_vector=with_vector)
    ids = table.column("id")
    if len(ids) > 1 and not _increasing(ids):
        table = table.take(pc.sort_indices(ids))
    return table


def _increasing(ids: pa.ChunkedArray) -> bool:
    values = ids.to_numpy()
    return bool(np.all(values[1:] > values[:-1]))


def read_frame(s: Session, query: Any, *, with_vector: bool, postgres: bool) -> pd.DataFrame:
    """Run ``query`` into the documented DataFrame (JSON columns parsed), sorted by id."""
    table = read_arrow(s, query, with_vector=with_vector, postgres=postgres)
    return frames.frame_from_arrow(table, with_vector=with_vector)
