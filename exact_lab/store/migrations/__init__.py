"""Alembic migrations of the SQL store, shipped inside the package (see ``dbutil``)."""
