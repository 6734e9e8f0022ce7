"""Whole-image density grid of 1M points: counted in SQL vs read every row and bin it in numpy.

Ours: ``Store.annotation_density(image, cell)`` with a cell of SIDE / 32 px (1,024 cells), the
GROUP BY running in the database. The peer is what the viewer did before it existed: read the
image's rows with ``annotations(image=..., format="arrow", with_vector=False)`` and bin the
box centres in numpy. Both answers are compared before any figure is printed.

Run with ``scripts/with_postgres.sh python benchmarks/density.py`` (PostgreSQL) or without
``EXACT_LAB_TEST_PG_URL`` (SQLite).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from _common import SIDE, backend_name, boxes, database, p50, timed, workspace

N = int(os.environ.get("DENSITY_N", "1000000"))  # fewer for a quick try
GRID = 32  # cells per side: 1,024 cells
ROUNDS = 5


def numpy_density(table: pa.Table, cell: float) -> pd.DataFrame:
    """Bin an Arrow read the documented way (the peer)."""
    width = 2 * cell
    cx = np.floor((table["x_min"].to_numpy() + table["x_max"].to_numpy()) / width).astype(np.int64)
    cy = np.floor((table["y_min"].to_numpy() + table["y_max"].to_numpy()) / width).astype(np.int64)
    kinds = table["annotation_type"].to_numpy()
    keys = np.stack([cy, cx, kinds], axis=1)
    unique, counts = np.unique(keys, axis=0, return_counts=True)
    return pd.DataFrame(
        {"cx": unique[:, 1], "cy": unique[:, 0], "annotation_type": unique[:, 2], "count": counts}
    ).astype("int64")


def main() -> None:
    with database() as url:
        store, _, image_set, image = workspace(url)
        point = store.create_annotation_type(
            store.product(image_set.products[0]), "nucleus", vector_type=2
        )
        rows = boxes(image.id, point.id, N)
        rows["x_max"] = rows["x_min"] + 16  # a point is drawn as its type's 16 px default box
        rows["y_max"] = rows["y_min"] + 16
        store.add_annotations(rows)
        with store.engine.connect() as conn:
            conn.execute(
                sa.text("ANALYZE annotations" if url.startswith("postgres") else "ANALYZE")
            )
            conn.commit()
        cell = SIDE / GRID
        ours_out: list[pd.DataFrame] = []
        peer_out: list[pd.DataFrame] = []

        def ours() -> None:
            ours_out.append(store.annotation_density(image, cell))

        def peer() -> None:
            table = store.annotations(image=image, format="arrow", with_vector=False)
            peer_out.append(numpy_density(table, cell))

        ours()  # warm both paths once (page cache, plans)
        peer()
        ours_times, peer_times = [], []
        for _ in range(ROUNDS):  # interleaved, so load changes hit both alike
            ours_times.append(timed(ours))
            peer_times.append(timed(peer))
        pd.testing.assert_frame_equal(ours_out[-1], peer_out[-1])
        assert int(ours_out[-1]["count"].sum()) == N
        print(
            f"backend: {backend_name(url)}; {N:,} points on one {SIDE:,} px image; "
            f"grid {GRID}x{GRID} cells of {cell:g} px ({len(ours_out[-1])} non-empty)"
        )
        print(f"Store.annotation_density (SQL GROUP BY): p50 {p50(ours_times) * 1000:.0f} ms")
        print(
            f"peer: annotations(format='arrow', with_vector=False) + numpy binning: "
            f"p50 {p50(peer_times) * 1000:.0f} ms"
        )
        print(f"ratio peer / ours: {p50(peer_times) / p50(ours_times):.1f}x ({ROUNDS} rounds)")
        if url.startswith("postgres"):
            with store.engine.connect() as conn:
                conn.execute(sa.text("SET LOCAL jit = off"))  # as the store does
                plan = conn.execute(
                    sa.text(
                        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT floor((x_min + x_max) / :w)::int8, "
                        "floor((y_min + y_max) / :w)::int8, annotation_type_id, count(*) "
                        "FROM annotations WHERE image_set_id = :s AND image_id = :i "
                        "AND x_min IS NOT NULL AND deleted = false GROUP BY 1, 2, 3"
                    ),
                    {"w": 2 * cell, "s": image_set.id, "i": image.id},
                ).scalar_one()
            print(f"server execution (EXPLAIN ANALYZE): {plan[0]['Execution Time']:.0f} ms")
        store.close()


if __name__ == "__main__":
    main()
