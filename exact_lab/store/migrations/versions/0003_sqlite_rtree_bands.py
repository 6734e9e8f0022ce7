"""SQLite: a 2-D integer R*Tree with images in bands, replacing the 3-D one of 0002.

The 3-D R*Tree of 0002 put the image id on its own axis. Every annotation of an image has the
same value there, and SQLite's R*Tree degrades on such a degenerate axis: a viewport query on
200,000 annotations took about 30 ms instead of 0.05 ms. Now each image gets a band of the x axis
(``x + (image_id % 2047) * 2**20``, clamped to int32) in an ``rtree_i32`` table. The mapping is
monotone for each image, so the index still finds every intersecting box; images sharing a band,
or wider than 2**20 px, only cost extra candidates, which the exact comparisons on the
``annotations`` columns remove. PostgreSQL is unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:50:00
"""

from __future__ import annotations

import importlib

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BAND = "(({img} % 2047) * 1048576)"
LO = "min(CAST({v} AS INTEGER) + {band}, 2147483647)"
HI = "min(CAST({v} AS INTEGER) + 1 + {band}, 2147483647)"


def _values(prefix: str) -> str:
    band = BAND.format(img=f"{prefix}image_id")
    return ", ".join(
        [
            f"{prefix}id",
            LO.format(v=f"{prefix}x_min", band=band),
            HI.format(v=f"{prefix}x_max", band=band),
            f"CAST({prefix}y_min AS INTEGER)",
            f"CAST({prefix}y_max AS INTEGER) + 1",
        ]
    )


def upgrade() -> None:
    """Replace the SQLite R*Tree; nothing to do on PostgreSQL."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS annotations_rtree_{name}")
    op.execute("DROP TABLE IF EXISTS annotations_rtree")
    op.execute("CREATE VIRTUAL TABLE annotations_rtree USING rtree_i32(id, x_lo, x_hi, y_lo, y_hi)")
    op.execute(
        "CREATE TRIGGER annotations_rtree_insert AFTER INSERT ON annotations "  # noqa: S608 - fixed SQL
        f"WHEN new.x_min IS NOT NULL BEGIN INSERT INTO annotations_rtree VALUES "
        f"({_values('new.')}); END"
    )
    op.execute(
        "CREATE TRIGGER annotations_rtree_update AFTER UPDATE OF x_min, y_min, x_max, y_max, "  # noqa: S608
        "image_id ON annotations BEGIN DELETE FROM annotations_rtree WHERE id = old.id; "
        f"INSERT INTO annotations_rtree SELECT {_values('new.')} WHERE new.x_min IS NOT NULL; END"
    )
    op.execute(
        "CREATE TRIGGER annotations_rtree_delete AFTER DELETE ON annotations BEGIN "
        "DELETE FROM annotations_rtree WHERE id = old.id; END"
    )
    op.execute(
        f"INSERT INTO annotations_rtree SELECT {_values('')} FROM annotations "  # noqa: S608
        "WHERE x_min IS NOT NULL"
    )


def downgrade() -> None:
    """Go back to the 3-D R*Tree of 0002."""
    if op.get_bind().dialect.name != "sqlite":
        return
    previous = importlib.import_module("exact_lab.store.migrations.versions.0002_spatial_index")
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS annotations_rtree_{name}")
    op.execute("DROP TABLE IF EXISTS annotations_rtree")
    for statement in previous.SQLITE_UP:
        op.execute(statement)
