"""Viewport query (~250 hits) on 1M annotations: spatial index vs a naive overlap predicate.

Ours: ``Store.annotations_in(image, bbox, with_vector=False)``, DataFrame included (and as
Arrow): the figure is what a caller sees. Beside it, the store's previous path (access check,
then the viewport query, in a transaction), which SQLite still takes. The peer runs the plain
overlap predicate ``x_max >= x0 AND x_min <= x1 AND y_max >= y0 AND y_min <= y1`` on the same
table (no spatial index, only the image/set indexes).

The SQL lines time the indexed query alone on one held connection. On PostgreSQL: the store's
own statement (``viewport.pg_viewport``: access check joined in, all 21 columns, prepared,
binary, outside a transaction) and, to compare with earlier runs, the id-only grid probe through
SQLAlchemy ``text()``; then the server's own execution time of the store's statement (``EXPLAIN
ANALYZE``), which leaves out waiting for a CPU on a shared machine. On SQLite: the R*Tree query.
Every variant runs on each window in turn, so a change of machine load hits them alike.

Session 4 adds, next to those lines: the column pick (``annotations_in(..., columns=[...])``)
with the columns the viewer draws from (id, annotation_type, revision, user, vector), as the
statement alone and through the store (Arrow and DataFrame); and an experiment that is not part
of the store, the same 20-column statement answering one row of packed columns (``string_agg``
of each value's binary form, one ``bytea`` per column) decoded with numpy ``frombuffer`` instead
of 250 x 20 Python objects, as arrays and as the DataFrame.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from _common import SIDE, backend_name, boxes, database, p50, timed, workspace

from exact_lab.store import frames
from exact_lab.store.sql.grid import window_cells
from exact_lab.store.sql.viewport import pg_cursor, pg_statement, rtree_window, viewport_frame

N = 1_000_000
WINDOW = 1550
QUERIES = 200
WARM = 20  # windows run first and not counted (prepared statements, caches)
DRAWN = ("id", "annotation_type", "revision", "user", "vector")  # widgets/_region.py asks these


def _indexed_sql(postgres: bool) -> str:  # noqa: FBT001
    if postgres:  # the id-only grid probe, as measured before the one-trip statement
        return (
            "SELECT id FROM annotations WHERE image_set_id = :s AND image_id = :i "
            "AND cell = ANY(CAST(:cells AS int8[])) AND deleted = false AND x_max >= :x0 "
            "AND x_min <= :x1 AND y_max >= :y0 AND y_min <= :y1"
        )
    return (
        "SELECT a.id FROM annotations_rtree AS r CROSS JOIN annotations AS a "
        "ON a.id = r.id WHERE r.x_hi >= :bx0 AND r.x_lo <= :bx1 AND r.y_hi >= :by0 "
        "AND r.y_lo <= :by1 AND a.image_id = :i AND a.x_max >= :x0 AND a.x_min <= :x1 "
        "AND a.y_max >= :y0 AND a.y_min <= :y1 AND a.deleted = 0"
    )


def _naive_sql(postgres: bool) -> str:  # noqa: FBT001
    return (
        "SELECT id FROM annotations WHERE image_id = :i AND deleted = {false} AND x_max >= :x0 "
        "AND x_min <= :x1 AND y_max >= :y0 AND y_min <= :y1"
    ).format(false="false" if postgres else "0")


# ------------------------------------------------------------------ experiment: packed columns
# (SQL expression, numpy dtype of its binary form) per column; NULLs become a value of the type
_PACKED = {
    "id": ("int8send(a.id)", ">i8"),
    "image": ("int4send(a.image_id)", ">i4"),
    "image_set": ("int4send(a.image_set_id)", ">i4"),
    "annotation_type": ("int4send(a.annotation_type_id)", ">i4"),
    "frame": ("int4send(a.frame)", ">i4"),
    "x_min": ("float8send(coalesce(a.x_min, 'NaN'))", ">f8"),
    "y_min": ("float8send(coalesce(a.y_min, 'NaN'))", ">f8"),
    "x_max": ("float8send(coalesce(a.x_max, 'NaN'))", ">f8"),
    "y_max": ("float8send(coalesce(a.y_max, 'NaN'))", ">f8"),
    "user": ("int4send(coalesce(a.user_id, -1))", ">i4"),
    "last_editor": ("int4send(coalesce(a.last_editor_id, -1))", ">i4"),
    "time": ("timestamptz_send(a.time)", ">i8"),
    "last_edit_time": ("timestamptz_send(a.last_edit_time)", ">i8"),
    "deleted": ("boolsend(a.deleted)", "?"),
    "concealed": ("boolsend(a.concealed)", "?"),
    "blurred": ("boolsend(a.blurred)", "?"),
    "revision": ("int4send(a.revision)", ">i4"),
    "verified_count": ("int4send(a.verified_count)", ">i4"),
}
_TEXTS = {"unique_identifier": "a.unique_identifier", "description": "a.description",
          "meta_data": "a.meta_data::text"}  # fmt: skip
_EPOCH_US = 946_684_800_000_000  # PostgreSQL's 2000-01-01 in Unix microseconds


def packed_sql(row_sql: str) -> str:
    """The store's 20-column statement answering one row: a ``bytea`` per column."""
    parts = ["count(a.id)"]
    for name in frames.columns(with_vector=False):
        if name in _TEXTS:  # lengths (-1: NULL), then the UTF-8 bytes
            text = _TEXTS[name]
            parts.append(f"string_agg(int4send(coalesce(octet_length({text}), -1)), '')")
            parts.append(f"string_agg(convert_to({text}, 'UTF8'), '')")
        else:
            parts.append(f"string_agg({_PACKED[name][0]}, '')")
    rows = row_sql[row_sql.index("FROM ") :].replace(" ORDER BY a.id", "")
    return "SELECT " + ", ".join(parts) + " " + rows + " GROUP BY acc.set_id"


def _texts(lengths: np.ndarray, data: bytes | None) -> pa.Array:
    valid = lengths >= 0
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(np.where(valid, lengths, 0), out=offsets[1:])
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(
        len(lengths), pa.py_buffer(offsets), pa.py_buffer(data or b""), mask
    )


def unpack(row: tuple[Any, ...]) -> dict[str, Any]:
    """Decode the packed row into one numpy or Arrow array per column, ordered by id."""
    values = iter(row[1:])
    out: dict[str, Any] = {}
    for name in frames.columns(with_vector=False):
        if name in _TEXTS:
            lengths = np.frombuffer(next(values) or b"", ">i4")
            out[name] = _texts(lengths, next(values))
        else:
            out[name] = np.frombuffer(next(values) or b"", _PACKED[name][1])
    order = np.argsort(out["id"], kind="stable")  # aggregates keep no order: sort by id here
    for name, column in out.items():
        if isinstance(column, np.ndarray):
            native = column[order].astype(column.dtype.newbyteorder("="))
            out[name] = native + _EPOCH_US if name in ("time", "last_edit_time") else native
        else:
            out[name] = column.take(pa.array(order))
    return out


def packed_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """The documented DataFrame from :func:`unpack`'s arrays."""
    data = dict(columns)
    for name in ("unique_identifier", "description"):
        data[name] = data[name].to_numpy(zero_copy_only=False)
    data["meta_data"] = frames.parse_json_column(data["meta_data"])
    for name in ("user", "last_editor"):
        data[name] = pd.array(np.where(data[name] < 0, pd.NA, data[name]), dtype="Int64")
    for name in ("time", "last_edit_time"):
        data[name] = pd.DatetimeIndex(data[name].astype("datetime64[us]"), tz="UTC")
    return frames.from_columns(data, with_vector=False)


def previous_path(store, image: int, w, postgres: bool) -> None:  # noqa: FBT001
    """The store's path before the one-trip statement (still SQLite's): access check, then the
    viewport query, in a transaction (BEGIN, two queries, COMMIT), DataFrame included."""
    with store._tx() as s:  # noqa: SLF001
        image_id, only_user = store._image_access(s, image)  # noqa: SLF001
        viewport_frame(
            s, postgres=postgres, image=image_id, bbox=w, types=None, frame=None, deleted=False,
            only_user=only_user, with_vector=False,
        )  # fmt: skip


def clock(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and client CPU seconds of one call (CPU hardly depends on the machine's load)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(store, image, windows, postgres: bool):  # noqa: FBT001
    """Time every variant on each window in turn, so a change of load hits them alike.

    Returns the wall times and the client's CPU times per variant.
    """
    keys = ("frame", "arrow", "before", "statement", "ids", "probe")
    keys += ("drawn_arrow", "drawn_frame", "drawn_statement", "packed", "packed_frame")
    times: dict[str, list[float]] = {k: [] for k in keys}
    cpu: dict[str, list[float]] = {k: [] for k in keys}
    me = store.user.id
    indexed = sa.text(_indexed_sql(postgres))
    with store.engine.connect() as conn:
        driver = conn.connection.driver_connection
        for i, w in enumerate(windows):
            warm = i < WARM
            args = {"i": image.id, "x0": w[0], "y0": w[1], "x1": w[2], "y1": w[3]}
            args |= rtree_window(image.id, w) | {"s": image.image_set, "cells": window_cells(w)}
            spent = {
                "frame": clock(lambda w=w: store.annotations_in(image, w, with_vector=False)),
                "arrow": clock(
                    lambda w=w: store.annotations_in(image, w, with_vector=False, format="arrow")
                ),
                "before": clock(lambda w=w: previous_path(store, image.id, w, postgres)),
                "probe": clock(lambda a=args: conn.execute(indexed, a).all()),
                "drawn_arrow": clock(
                    lambda w=w: store.annotations_in(image, w, columns=DRAWN, format="arrow")
                ),
                "drawn_frame": clock(lambda w=w: store.annotations_in(image, w, columns=DRAWN)),
            }
            conn.commit()
            if postgres:  # the store's own statement, as pg_viewport runs it
                sql, params = pg_statement(me=me, image=image.id, bbox=w, with_vector=False)
                driver.autocommit = True
                ids_sql = "SELECT a.id " + sql[sql.index("FROM ") :]  # same probe, ids only
                with pg_cursor(driver) as cur:
                    spent["statement"] = clock(
                        lambda c=cur, q=sql, p=params: c.execute(q, p, prepare=True).fetchall()
                    )
                    spent["ids"] = clock(
                        lambda c=cur, q=ids_sql, p=params: c.execute(q, p, prepare=True).fetchall()
                    )
                    drawn, drawn_params = pg_statement(me=me, image=image.id, bbox=w, names=DRAWN)
                    spent["drawn_statement"] = clock(
                        lambda c=cur, q=drawn, p=drawn_params: c.execute(
                            q, p, prepare=True
                        ).fetchall()
                    )
                    packed = packed_sql(sql)
                    spent["packed"] = clock(
                        lambda c=cur, q=packed, p=params: unpack(
                            c.execute(q, p, prepare=True).fetchone()
                        )
                    )
                    spent["packed_frame"] = clock(
                        lambda c=cur, q=packed, p=params: packed_frame(
                            unpack(c.execute(q, p, prepare=True).fetchone())
                        )
                    )
                    if i == WARM:  # the experiment answers what the store answers
                        got = packed_frame(unpack(cur.execute(packed, params).fetchone()))
                        want = store.annotations_in(image, w, with_vector=False)
                        pd.testing.assert_frame_equal(got, want)
                driver.autocommit = False
            if not warm:
                for key, (wall, used) in spent.items():
                    times[key].append(wall)
                    cpu[key].append(used)
    return times, cpu


def server_times(store, image, windows) -> list[float]:
    """The server's own execution time of the store's statement (EXPLAIN ANALYZE)."""
    out = []
    with store.engine.connect() as conn:
        driver = conn.connection.driver_connection
        for w in windows:
            sql, params = pg_statement(me=store.user.id, image=image.id, bbox=w, with_vector=False)
            plan = driver.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchone()[0]
            out.append(plan[0]["Execution Time"] / 1000)
        conn.rollback()
    return out


def main() -> None:
    with database() as url:
        store, kind, _, image = workspace(url)
        postgres = url.startswith("postgres")
        store.add_annotations(boxes(image.id, kind.id, N))
        if postgres:
            # VACUUM sets the hint bits a fresh COPY leaves unset (else the first query to touch
            # a page pays for writing them); ANALYZE gives the planner the new statistics
            auto = store.engine.execution_options(isolation_level="AUTOCOMMIT")
            with auto.connect() as conn:
                conn.execute(sa.text("VACUUM ANALYZE annotations"))
        else:
            with store.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
                conn.commit()
        rng = np.random.default_rng(7)
        windows = [
            (float(x), float(y), float(x + WINDOW), float(y + WINDOW))
            for x, y in rng.integers(0, SIDE - WINDOW, (QUERIES + WARM, 2))
        ]
        hits = [len(store.annotations_in(image, w, with_vector=False)) for w in windows[WARM:]]
        times, cpu = measure(store, image, windows, postgres)
        naive_sql = sa.text(_naive_sql(postgres))
        naive = []
        with store.engine.connect() as conn:
            for x0, y0, x1, y1 in windows[WARM : WARM + 20]:
                args = {"i": image.id, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
                naive.append(timed(lambda a=args: conn.execute(naive_sql, a).all()))
        server = server_times(store, image, windows[WARM:]) if postgres else []
        print(
            f"backend: {backend_name(url)}; {N:,} annotations; window {WINDOW} px; "
            f"hits per query: median {int(np.median(hits))}; p50 of {QUERIES} windows"
        )
        print(f"Store.annotations_in -> DataFrame: p50 {p50(times['frame']) * 1000:.2f} ms")
        print(f"Store.annotations_in -> Arrow: p50 {p50(times['arrow']) * 1000:.2f} ms")
        print(
            "previous path (access check + viewport query in a transaction) -> DataFrame: "
            f"p50 {p50(times['before']) * 1000:.2f} ms"
        )
        if postgres:
            print(
                "store's statement alone (access check + 21 columns, prepared, binary): "
                f"p50 {p50(times['statement']) * 1000:.2f} ms"
            )
            print(f"  the same statement returning ids only: p50 {p50(times['ids']) * 1000:.2f} ms")
            print(
                "  its server execution (EXPLAIN ANALYZE, custom plan): "
                f"p50 {p50(server) * 1000:.2f} ms"
            )
        drawn = ", ".join(DRAWN)
        print(f"session 4: the viewer's columns ({drawn}), columns=[...]:")
        print(f"  Store.annotations_in -> Arrow: p50 {p50(times['drawn_arrow']) * 1000:.2f} ms")
        print(f"  Store.annotations_in -> DataFrame: p50 {p50(times['drawn_frame']) * 1000:.2f} ms")
        if postgres:
            print(
                "  store's statement alone (access check + those columns, prepared, binary): "
                f"p50 {p50(times['drawn_statement']) * 1000:.2f} ms"
            )
            print(
                "session 4 experiment (not in the store): the 20-column statement packed, one "
                f"bytea per column, decoded with numpy: p50 {p50(times['packed']) * 1000:.2f} ms"
            )
            print(f"  ... and into the DataFrame: p50 {p50(times['packed_frame']) * 1000:.2f} ms")
        shown = ("frame", "arrow", "drawn_arrow", "drawn_frame")
        shown += ("statement", "drawn_statement", "packed", "packed_frame") if postgres else ()
        print(
            "session 4: client CPU per call, p50 (hardly depends on load): "
            + ", ".join(f"{k} {p50(cpu[k]) * 1000:.2f} ms" for k in shown)
        )
        label = "id-only grid probe via SQLAlchemy text()" if postgres else "indexed SQL alone"
        print(f"{label}: p50 {p50(times['probe']) * 1000:.2f} ms")
        print(f"naive overlap predicate: p50 {p50(naive) * 1000:.2f} ms (20 queries)")
        best = p50(times["statement"] if postgres else times["probe"])
        print(
            f"ratio naive / indexed SQL: {p50(naive) / best:.0f}x; "
            f"naive / Store call: {p50(naive) / p50(times['frame']):.0f}x"
        )
        store.close()


if __name__ == "__main__":
    main()
