"""Users may have a password, for HTTP Basic from clients outside Jupyter.

``users.password_hash`` holds ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` or NULL (no password:
such users sign in through Jupyter/JupyterHub or with a personal access token only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the nullable ``password_hash`` column."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(300), nullable=True))


def downgrade() -> None:
    """Drop the column (passwords are lost)."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
