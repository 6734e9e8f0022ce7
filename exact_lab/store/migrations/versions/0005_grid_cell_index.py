"""A B-tree on ``(image_set_id, image_id, cell)`` replaces the set index and (PostgreSQL) GiST.

``annotations.cell`` holds the key of a multi-level grid cell (``exact_lab.store.sql.grid``): a
box whose larger side is at most ``512 * 2**level`` px (levels 0..9) is filed at that level
under the cell of its top-left corner, ``level << 52 | cy << 26 | cx``; larger boxes share the
key ``10 << 52``. Keeping the GiST index up to date cost the server about as much per inserted
row as the row itself; the B-tree costs a fraction, and a viewport asks for a few dozen cells.
The same index serves reads by set and by image, so the plain ``image_set_id`` index goes: it
held one key repeated for every row of a set, which made PostgreSQL's B-tree deduplication
cost about as much per bulk-inserted row as the heap.
Existing rows get their key here, with the same rule written in SQL. SQLite keeps its R*Tree
(0003); the column is added and filled there too, so both databases hold the same rows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BASE = 512
LEVELS = 10
BOX = "box(point(x_min, y_min), point(x_max, y_max))"


def _cell_sql(dialect: str) -> str:
    """Return the cell key of a row's bounding box as one SQL expression (rows with a box)."""
    size = (
        "max(x_max - x_min, y_max - y_min)"
        if dialect == "sqlite"
        else "greatest(x_max - x_min, y_max - y_min)"
    )

    def floor(value: str) -> str:  # coordinates are >= 0: SQLite's truncation is floor
        if dialect == "sqlite":
            return f"CAST({value} AS INTEGER)"
        return f"CAST(floor({value}) AS BIGINT)"

    cases = []
    for level in range(LEVELS):
        side = BASE << level
        key = (
            f"{level << 52} + {floor(f'y_min / {side}.0')} * {1 << 26} "
            f"+ {floor(f'x_min / {side}.0')}"
        )
        cases.append(f"WHEN {size} <= {side} THEN {key}")
    return f"CASE {' '.join(cases)} ELSE {LEVELS << 52} END"


def upgrade() -> None:
    """Add and fill ``annotations.cell``; on PostgreSQL swap the GiST index for the B-tree."""
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("annotations") as batch:  # SQLite: a plain ADD COLUMN, no rebuild
        batch.add_column(sa.Column("cell", sa.BigInteger(), nullable=True))
    op.execute(
        f"UPDATE annotations SET cell = {_cell_sql(dialect)} WHERE x_min IS NOT NULL"  # noqa: S608
    )
    op.create_index(
        "ix_annotations_set_image_cell", "annotations", ["image_set_id", "image_id", "cell"]
    )
    op.drop_index("ix_annotations_image_set_id", table_name="annotations")
    if dialect != "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_annotations_spatial")


def downgrade() -> None:
    """Back to the GiST index of 0002 and no ``cell`` column."""
    op.create_index("ix_annotations_image_set_id", "annotations", ["image_set_id"])
    op.drop_index("ix_annotations_set_image_cell", table_name="annotations")
    if op.get_bind().dialect.name != "sqlite":
        op.execute(f"CREATE INDEX ix_annotations_spatial ON annotations USING gist (({BOX}))")
    # DROP COLUMN in place (SQLite >= 3.35): a table rebuild would lose the R*Tree triggers
    op.execute("ALTER TABLE annotations DROP COLUMN cell")
