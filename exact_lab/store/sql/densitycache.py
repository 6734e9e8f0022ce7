"""Whole-image density counts kept in SQLite, served only while provably current.

Counting a whole image (``Store.annotation_density`` without a window) costs SQLite one pass
over the image's rows and a sort of their cells: 0.1-0.3 s for 100,000 annotations and about
1 s for 1,000,000, every time a viewer opens the slide. The answer is the same until the
image's annotations change, so it is kept in ``density_cache`` (migration 0007).

Why a kept count can never be stale: the database raises the image's counter in
``density_epochs`` in the same transaction as every insert, update or delete of the image's
annotations (triggers, whoever writes: this process, another one, plain SQL). A count is stored
with the counter's value read in the same transaction (one snapshot) *before* counting, and
served only while the counter still holds that value. A change committed after that snapshot
raises the counter, so a count that missed it is never served; a change the snapshot holds is
in the count. Writing the cache is best effort: a busy or read-only database only loses the
saving, after at most ``WRITE_WAIT_MS``.

Only the plain whole-image count is kept (no window, no type filter, live annotations): the
first question every viewer asks. Keys: image, frame (0: every frame), cell size, blind user
(0: everyone's annotations). PostgreSQL keeps nothing (see migration 0007).

Example:
    >>> import numpy as np, pandas as pd
    >>> counts = pd.DataFrame({c: np.array([1, 2], dtype=np.int64) for c in DENSITY_COLUMNS})
    >>> unpack(pack(counts)).equals(counts)
    True
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from exact_lab.store.density import DENSITY_COLUMNS

__all__ = ["Key", "epoch", "pack", "read", "unpack", "write"]

log = logging.getLogger(__name__)

#: (image id, frame or 0, cell size, blind user id or 0)
Key = tuple[int, int, float, int]

_WHERE = "image_id = :i AND frame = :f AND cell = :c AND only_user = :u"
_READ = (
    f"SELECT counts FROM density_cache WHERE {_WHERE} AND epoch = "  # noqa: S608 - fixed SQL
    "COALESCE((SELECT epoch FROM density_epochs WHERE image_id = :i), 0)"
)
_EPOCH = "SELECT epoch FROM density_epochs WHERE image_id = :i"
# a slower writer must not put back a count older than the one kept
_WRITE = (
    "INSERT INTO density_cache (image_id, frame, cell, only_user, epoch, counts) "
    "VALUES (:i, :f, :c, :u, :e, :b) "
    "ON CONFLICT (image_id, frame, cell, only_user) DO UPDATE "
    "SET epoch = excluded.epoch, counts = excluded.counts "
    "WHERE density_cache.epoch <= excluded.epoch"
)
BUSY_MS = 60_000  # the engine's own busy timeout (engine.py), restored after a write
WRITE_WAIT_MS = 200  # a cache write never waits longer than this for another writer


def _params(key: Key) -> dict[str, Any]:
    image, frame, cell, user = key
    return {"i": image, "f": frame, "c": cell, "u": user}


def pack(counts: pd.DataFrame) -> bytes:
    """Pack the four int64 columns of a density frame, one after another, little-endian."""
    return b"".join(counts[c].to_numpy(dtype="<i8").tobytes() for c in DENSITY_COLUMNS)


def unpack(blob: bytes) -> pd.DataFrame:
    """Return the density frame that :func:`pack` stored."""
    flat = np.frombuffer(blob, dtype="<i8").astype(np.int64)
    columns = flat.reshape(len(DENSITY_COLUMNS), -1)
    return pd.DataFrame(dict(zip(DENSITY_COLUMNS, columns, strict=True)))


def read(raw: Any, key: Key) -> pd.DataFrame | None:
    """Return the kept count for ``key`` if the image's counter still has its value, else None.

    ``raw`` is the sqlite3 connection of the caller's read transaction.
    """
    row = raw.execute(_READ, _params(key)).fetchone()
    return None if row is None else unpack(bytes(row[0]))


def epoch(raw: Any, image: int) -> int:
    """Return the image's change counter (0 before any change); read it before counting."""
    row = raw.execute(_EPOCH, {"i": image}).fetchone()
    return 0 if row is None else int(row[0])


def write(engine: sa.Engine, key: Key, seen: int, counts: pd.DataFrame) -> None:
    """Keep ``counts`` for ``key``, counted after the counter read ``seen``; never raises."""
    params = _params(key) | {"e": seen, "b": pack(counts)}
    try:
        raw = engine.raw_connection()
    except sa.exc.SQLAlchemyError:
        log.debug("density cache: no connection", exc_info=True)
        return
    try:
        driver: Any = raw.driver_connection
        driver.execute(f"PRAGMA busy_timeout = {WRITE_WAIT_MS}")
        try:
            driver.execute("BEGIN IMMEDIATE")
            driver.execute(_WRITE, params)
            driver.execute("COMMIT")
        finally:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            driver.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    except Exception:  # busy, read-only or full: the count is answered all the same
        log.debug("density cache: count not kept", exc_info=True)
    finally:
        raw.close()
