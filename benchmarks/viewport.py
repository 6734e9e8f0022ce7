"""Viewport query (~250 hits) on 1M annotations: spatial index vs a naive overlap predicate.

Ours: ``Store.annotations_in(image, bbox, with_vector=False)``, DataFrame included: the figure
is what a caller sees. The peer runs the plain overlap predicate
``x_max >= x0 AND x_min <= x1 AND y_max >= y0 AND y_min <= y1`` on the same table (no spatial
index, only the image/set indexes). A second line gives the raw SQL time of the indexed query
(PostgreSQL: the grid-cell B-tree probe of ``exact_lab.store.sql.viewport``; SQLite: the R*Tree).
On PostgreSQL a third line gives the server's own execution time of that query (``EXPLAIN
ANALYZE``), which does not include waiting for a CPU on a shared machine.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from _common import SIDE, backend_name, boxes, database, p50, timed, workspace

from exact_lab.store.sql.grid import window_cells
from exact_lab.store.sql.viewport import rtree_window

N = 1_000_000
WINDOW = 1550
QUERIES = 200


def main() -> None:
    with database() as url:
        store, kind, _, image = workspace(url)
        store.add_annotations(boxes(image.id, kind.id, N))
        with store.engine.connect() as conn:
            conn.execute(
                sa.text("ANALYZE annotations" if url.startswith("postgres") else "ANALYZE")
            )
            conn.commit()
        rng = np.random.default_rng(7)
        windows = [
            (float(x), float(y), float(x + WINDOW), float(y + WINDOW))
            for x, y in rng.integers(0, SIDE - WINDOW, (QUERIES, 2))
        ]
        hits: list[int] = []

        def query(w):
            hits.append(len(store.annotations_in(image, w, with_vector=False)))

        ours = [timed(lambda w=w: query(w)) for w in windows]
        if url.startswith("postgres"):
            indexed_sql = (
                "SELECT id FROM annotations WHERE image_set_id = :s AND image_id = :i "
                "AND cell = ANY(CAST(:cells AS int8[])) AND deleted = false AND x_max >= :x0 "
                "AND x_min <= :x1 AND y_max >= :y0 AND y_min <= :y1"
            )
        else:
            indexed_sql = (
                "SELECT a.id FROM annotations_rtree AS r CROSS JOIN annotations AS a "
                "ON a.id = r.id WHERE r.x_hi >= :bx0 AND r.x_lo <= :bx1 AND r.y_hi >= :by0 "
                "AND r.y_lo <= :by1 AND a.image_id = :i AND a.x_max >= :x0 AND a.x_min <= :x1 "
                "AND a.y_max >= :y0 AND a.y_min <= :y1 AND a.deleted = 0"
            )
        naive_sql = (
            "SELECT id FROM annotations WHERE image_id = :i AND deleted = false AND x_max >= :x0 "
            "AND x_min <= :x1 AND y_max >= :y0 AND y_min <= :y1"
        )
        if not url.startswith("postgres"):
            naive_sql = naive_sql.replace("false", "0")
        raw, naive = [], []
        with store.engine.connect() as conn:
            for x0, y0, x1, y1 in windows:
                args = {"i": image.id, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
                args.update(rtree_window(image.id, (x0, y0, x1, y1)))
                args |= {"s": image.image_set, "cells": window_cells((x0, y0, x1, y1))}
                raw.append(timed(lambda a=args: conn.execute(sa.text(indexed_sql), a).all()))
            for x0, y0, x1, y1 in windows[:20]:
                args = {"i": image.id, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
                naive.append(timed(lambda a=args: conn.execute(sa.text(naive_sql), a).all()))
            server: list[float] = []
            if url.startswith("postgres"):
                explain = sa.text("EXPLAIN (ANALYZE, FORMAT JSON) " + indexed_sql)
                for x0, y0, x1, y1 in windows:
                    args = {"i": image.id, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
                    args |= {"s": image.image_set, "cells": window_cells((x0, y0, x1, y1))}
                    plan = conn.execute(explain, args).scalar_one()
                    server.append(plan[0]["Execution Time"] / 1000)
        print(
            f"backend: {backend_name(url)}; {N:,} annotations; window {WINDOW} px; "
            f"hits per query: median {int(np.median(hits))}"
        )
        print(f"Store.annotations_in -> DataFrame: p50 {p50(ours) * 1000:.2f} ms")
        print(f"indexed SQL alone: p50 {p50(raw) * 1000:.2f} ms")
        if server:
            print(
                f"indexed SQL, server execution (EXPLAIN ANALYZE): p50 {p50(server) * 1000:.2f} ms"
            )
        print(f"naive overlap predicate: p50 {p50(naive) * 1000:.2f} ms (20 queries)")
        print(
            f"ratio naive / indexed SQL: {p50(naive) / p50(raw):.0f}x; "
            f"naive / Store call: {p50(naive) / p50(ours):.0f}x"
        )
        store.close()


if __name__ == "__main__":
    main()
