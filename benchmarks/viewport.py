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
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from _common import SIDE, backend_name, boxes, database, p50, timed, workspace

from exact_lab.store.sql.grid import window_cells
from exact_lab.store.sql.viewport import pg_cursor, pg_statement, rtree_window, viewport_frame

N = 1_000_000
WINDOW = 1550
QUERIES = 200
WARM = 20  # windows run first and not counted (prepared statements, caches)


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


def previous_path(store, image: int, w, postgres: bool) -> None:  # noqa: FBT001
    """The store's path before the one-trip statement (still SQLite's): access check, then the
    viewport query, in a transaction (BEGIN, two queries, COMMIT), DataFrame included."""
    with store._tx() as s:  # noqa: SLF001
        image_id, only_user = store._image_access(s, image)  # noqa: SLF001
        viewport_frame(
            s, postgres=postgres, image=image_id, bbox=w, types=None, frame=None, deleted=False,
            only_user=only_user, with_vector=False,
        )  # fmt: skip


def measure(store, image, windows, postgres: bool) -> dict[str, list[float]]:  # noqa: FBT001
    """Time every variant on each window in turn, so a change of load hits them alike."""
    keys = ("frame", "arrow", "before", "statement", "ids", "probe")
    times: dict[str, list[float]] = {k: [] for k in keys}
    me = store.user.id
    indexed = sa.text(_indexed_sql(postgres))
    with store.engine.connect() as conn:
        driver = conn.connection.driver_connection
        for i, w in enumerate(windows):
            warm = i < WARM
            args = {"i": image.id, "x0": w[0], "y0": w[1], "x1": w[2], "y1": w[3]}
            args |= rtree_window(image.id, w) | {"s": image.image_set, "cells": window_cells(w)}
            spent = {
                "frame": timed(lambda w=w: store.annotations_in(image, w, with_vector=False)),
                "arrow": timed(
                    lambda w=w: store.annotations_in(image, w, with_vector=False, format="arrow")
                ),
                "before": timed(lambda w=w: previous_path(store, image.id, w, postgres)),
                "probe": timed(lambda a=args: conn.execute(indexed, a).all()),
            }
            conn.commit()
            if postgres:  # the store's own statement, as pg_viewport runs it
                sql, params = pg_statement(me=me, image=image.id, bbox=w, with_vector=False)
                driver.autocommit = True
                ids_sql = "SELECT a.id " + sql[sql.index("FROM ") :]  # same probe, ids only
                with pg_cursor(driver) as cur:
                    spent["statement"] = timed(
                        lambda c=cur, q=sql, p=params: c.execute(q, p, prepare=True).fetchall()
                    )
                    spent["ids"] = timed(
                        lambda c=cur, q=ids_sql, p=params: c.execute(q, p, prepare=True).fetchall()
                    )
                driver.autocommit = False
            if not warm:
                for key, value in spent.items():
                    times[key].append(value)
    return times


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
        times = measure(store, image, windows, postgres)
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
