"""Migration scripts (alembic revisions)."""
