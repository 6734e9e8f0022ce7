"""Alembic environment: runs on a connection handed over by ``dbutil`` or on ``sqlalchemy.url``."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from exact_lab.store.sql.engine import make_engine
from exact_lab.store.sql.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run the migrations on the handed-over connection, or open one from the configured URL."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Entry point when alembic runs this file (importing it elsewhere does nothing)."""
    if context.is_offline_mode():
        raise SystemExit("exact_lab migrations run online only: `exact-lab db upgrade --url URL`")
    run_migrations_online()


if hasattr(context, "config"):  # alembic sets up its context proxy before running env.py
    main()
