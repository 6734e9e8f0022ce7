"""The one engine factory of the SQL store: URL normalisation, SQLite pragmas, pools.

SQLite gets WAL, foreign keys, a busy timeout and explicit transactions (``BEGIN IMMEDIATE`` for
writes, so that two writers queue instead of failing half way). ``:memory:`` databases share one
connection (``StaticPool``). PostgreSQL URLs use psycopg 3.

Examples
--------
>>> engine = make_engine("sqlite://")
>>> engine.dialect.name
'sqlite'
>>> normalise_url("postgresql://u@host/db")
'postgresql+psycopg://u@host/db'
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from exact_lab.errors import BadInput

__all__ = ["WRITE_FLAG", "is_postgres", "make_engine", "normalise_url"]

WRITE_FLAG = "exact_lab_write"


def normalise_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` to the psycopg 3 driver; leave others alone."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_postgres(engine: sa.Engine) -> bool:
    """Return True when ``engine`` talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def make_engine(url: str) -> sa.Engine:
    """Create an engine for a ``sqlite:`` or ``postgresql:`` URL.

    Parameters
    ----------
    url
        A SQLAlchemy URL. ``sqlite://`` (memory), ``sqlite:///path`` and
        ``postgresql://user@host/db`` are the usual forms.

    Returns
    -------
    sqlalchemy.Engine
    """
    url = normalise_url(url)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as err:
        raise BadInput(f"url: {url!r} is not a database URL ({err})", field="url") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=20)
    raise BadInput(
        f"url: the SQL store supports sqlite and postgresql, not {parsed.get_backend_name()!r}",
        field="url",
    )


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 60}}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of 1M rows stay hot
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.info.get(WRITE_FLAG, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
