"""Schema management: alembic upgrade, revision check, SQLite backups.

The alembic scripts ship inside the package (``exact_lab/store/migrations``). A store opened on
an empty database creates the schema itself; a database at an older (or newer) revision is
refused with :class:`~exact_lab.errors.SchemaMismatch`, which names the command that fixes it.
``exact-lab db upgrade --url URL`` calls :func:`upgrade`.

Examples
--------
>>> import tempfile, pathlib
>>> url = f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'doc.sqlite'}"
>>> upgrade(url) is None  # a new file has nothing to back up
True
>>> current_revision_of(url) == head_revision()
True
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from exact_lab.errors import SchemaMismatch
from exact_lab.store.sql.engine import is_postgres, make_engine, normalise_url

__all__ = [
    "UPGRADE_HINT",
    "alembic_config",
    "check_revision",
    "current_revision_of",
    "head_revision",
    "upgrade",
]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_HINT = "run `exact-lab db upgrade --url URL` (it backs up SQLite files first)"
_LOCK_KEY = 0x45584C42  # pg advisory lock held while a schema is created or upgraded


def alembic_config(url: str | None = None) -> Config:
    """Return an alembic ``Config`` pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def head_revision() -> str:
    """Return the newest migration revision this exact_lab knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise SchemaMismatch("exact_lab ships no migrations; reinstall exact_lab")
    return head


def _current(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def current_revision_of(url: str) -> str | None:
    """Return the revision a database is at (``None`` when it has no exact_lab schema)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return _current(conn)
    finally:
        engine.dispose()


def _upgrade_on(conn: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def check_revision(engine: sa.Engine, *, initialise_empty: bool = True) -> None:
    """Check that the database schema is the one this exact_lab expects.

    Parameters
    ----------
    engine
        An engine from :func:`exact_lab.store.sql.engine.make_engine`.
    initialise_empty
        Create the schema when the database holds no tables at all.

    Raises
    ------
    SchemaMismatch
        The schema is older or newer than this exact_lab, or the database holds foreign tables.
    """
    head = head_revision()
    with engine.connect() as conn:
        if is_postgres(engine):
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        try:
            current = _current(conn)
            if current == head:
                return
            if current is None and initialise_empty and not sa.inspect(conn).get_table_names():
                _upgrade_on(conn, head)
                conn.commit()
                return
        finally:
            if is_postgres(engine):
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
    url = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaMismatch(
            f"{url} holds tables but no exact_lab schema revision; point exact_lab at an empty "
            f"database or at one it created"
        )
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if current not in known:
        raise SchemaMismatch(
            f"{url} is at schema revision {current}, newer than this exact_lab knows ({head}); "
            f"upgrade exact_lab (pip install -U exact_lab)"
        )
    raise SchemaMismatch(
        f"{url} is at schema revision {current} but this exact_lab needs {head}; {UPGRADE_HINT}"
    )


def _sqlite_file(url: str) -> Path | None:
    parsed = sa.make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def _backup_sqlite(path: Path) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.{stamp}.bak")
    with sqlite3.connect(path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def upgrade(url: str, *, revision: str = "head", backup: bool = True) -> Path | None:
    """Upgrade (or create) the schema of the database at ``url``.

    Parameters
    ----------
    url
        A ``sqlite:`` or ``postgresql:`` URL.
    revision
        The target revision; ``"head"`` is the newest.
    backup
        Copy a SQLite file to ``<file>.<UTC time>.bak`` before changing it.

    Returns
    -------
    pathlib.Path or None
        The backup file, when one was written.
    """
    target = head_revision() if revision == "head" else revision
    engine = make_engine(url)
    saved: Path | None = None
    try:
        with engine.connect() as conn:
            current = _current(conn)
        if current == target:
            return None
        file = _sqlite_file(url)
        if backup and file is not None and file.exists() and current is not None:
            saved = _backup_sqlite(file)
        with engine.connect() as conn:
            if is_postgres(engine):
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
            try:
                _upgrade_on(conn, revision)
                conn.commit()
            finally:
                if is_postgres(engine):
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                    conn.commit()
    finally:
        engine.dispose()
    return saved
