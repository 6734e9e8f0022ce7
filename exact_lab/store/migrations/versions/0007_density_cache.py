"""A persisted cache of whole-image density counts, and a per-image change counter behind it.

``density_epochs`` holds one counter per image that the database itself raises on every insert,
update and delete of that image's annotations (triggers: SQLite's fire per row, PostgreSQL's per
statement over the changed rows' transition table, so a COPY of a million rows bumps each image
once). No write path of the store has to remember it, and writes from other processes or tools
raise it too. ``density_cache`` keeps one count (``Store.annotation_density`` of the whole image
at one cell size, frame and blind user) together with the counter read *before* counting; a
count is served only while the counter still has that value (``exact_lab.store.sql.densitycache``).

The downgrade drops both tables and the triggers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# columns whose change moves an annotation between cells, types, frames or users, or in or out
# of the count (SQLite can name them; PostgreSQL's transition-table triggers cannot)
COUNTED = "image_id, annotation_type_id, frame, x_min, y_min, x_max, y_max, deleted, user_id"
SQLITE_BUMP = (
    "INSERT INTO density_epochs (image_id, epoch) VALUES ({image}, 1) "
    "ON CONFLICT (image_id) DO UPDATE SET epoch = epoch + 1;"
)
PG_BUMP = (
    "INSERT INTO density_epochs (image_id, epoch) "
    "SELECT DISTINCT image_id, 1 FROM {rows} ORDER BY image_id "
    "ON CONFLICT (image_id) DO UPDATE SET epoch = density_epochs.epoch + 1;"
)
PG_FUNCTION = f"""
CREATE FUNCTION exact_lab_density_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM density_cache;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {PG_BUMP.format(rows="new_rows")}
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {PG_BUMP.format(rows="old_rows")}
    END IF;
    RETURN NULL;
END $$
"""  # noqa: S608 - fixed SQL
PG_TRIGGERS = {
    "insert": "AFTER INSERT ON annotations REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON annotations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON annotations REFERENCING OLD TABLE AS old_rows",
    "truncate": "AFTER TRUNCATE ON annotations",
}


def upgrade() -> None:
    """Create the counter and cache tables and the triggers that raise the counter."""
    op.create_table(
        "density_epochs",
        sa.Column("image_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "density_cache",
        sa.Column(
            "image_id",
            sa.Integer(),
            sa.ForeignKey("images.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("frame", sa.Integer(), nullable=False),  # 0: every frame
        sa.Column("cell", sa.Float(), nullable=False),
        sa.Column("only_user", sa.Integer(), nullable=False),  # 0: everyone's annotations
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("image_id", "frame", "cell", "only_user"),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER density_epoch_insert AFTER INSERT ON annotations BEGIN "
            f"{SQLITE_BUMP.format(image='new.image_id')} END"
        )
        op.execute(
            f"CREATE TRIGGER density_epoch_update AFTER UPDATE OF {COUNTED} ON annotations "
            f"BEGIN {SQLITE_BUMP.format(image='old.image_id')} "
            f"{SQLITE_BUMP.format(image='new.image_id')} END"
        )
        op.execute(
            "CREATE TRIGGER density_epoch_delete AFTER DELETE ON annotations BEGIN "
            f"{SQLITE_BUMP.format(image='old.image_id')} END"
        )
        return
    op.execute(PG_FUNCTION)
    for name, when in PG_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER density_epoch_{name} {when} "
            "FOR EACH STATEMENT EXECUTE FUNCTION exact_lab_density_bump()"
        )


def downgrade() -> None:
    """Drop the triggers and both tables."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in PG_TRIGGERS:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS density_epoch_{name}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS density_epoch_{name} ON annotations")
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS exact_lab_density_bump()")
    op.drop_table("density_cache")
    op.drop_table("density_epochs")
