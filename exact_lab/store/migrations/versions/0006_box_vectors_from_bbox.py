"""On PostgreSQL a box's vector may be stored as its bounding box only (``vector`` NULL).

A vector ``{"x1", "y1", "x2", "y2"}`` whose integer corners equal the row's bounding box says
nothing the bbox columns do not: reads rebuild it (``exact_lab.store.sql.boxvec``), and bulk
writes on PostgreSQL leave it out. The upgrade empties such vectors in ``annotations`` and
``annotation_revisions`` when the stored jsonb prints exactly as the rebuilt one (so ``10.0``
stays as it is); the downgrade writes them back, so older code reads the same vectors. SQLite
keeps every vector (its bulk path still writes them), so there the upgrade changes nothing.

The revision is bumped even though no column changes: code before 0006 would read these rows
as annotations without a vector.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 18:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("annotations", "annotation_revisions")
# jsonb prints keys ordered by length, then bytewise
PG_BOX = (
    "jsonb_build_object('x1', x_min::int8, 'x2', x_max::int8, 'y1', y_min::int8, 'y2', y_max::int8)"
)
# the text exact_lab's SQLite bulk path wrote (json.dumps of x1, y1, x2, y2)
SQLITE_BOX = (
    "'{\"x1\": ' || CAST(x_min AS INTEGER) || ', \"y1\": ' || CAST(y_min AS INTEGER) || "
    "', \"x2\": ' || CAST(x_max AS INTEGER) || ', \"y2\": ' || CAST(y_max AS INTEGER) || '}'"
)


def upgrade() -> None:
    """Empty the box vectors that their bounding box rebuilds byte for byte (PostgreSQL)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(
            f"UPDATE {table} SET vector = NULL WHERE vector IS NOT NULL "  # noqa: S608
            f"AND x_min IS NOT NULL AND vector::text = ({PG_BOX})::text"
        )


def downgrade() -> None:
    """Write every vector that only its bounding box held back into ``vector``."""
    box = PG_BOX if op.get_bind().dialect.name == "postgresql" else SQLITE_BOX
    for table in TABLES:
        op.execute(
            f"UPDATE {table} SET vector = {box} "  # noqa: S608
            "WHERE vector IS NULL AND x_min IS NOT NULL"
        )
