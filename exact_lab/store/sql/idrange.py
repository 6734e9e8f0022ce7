"""A contiguous range of new ids from a PostgreSQL sequence, without one ``nextval`` per id.

A bulk insert of a million rows used to take its ids with ``nextval`` once per row (about
0.3-0.5 s of the server's CPU per million). :func:`reserve` moves the sequence forward by the
whole range in one step instead, in a short transaction of its own on a separate connection:

1. ``ALTER SEQUENCE ... INCREMENT BY 1`` changes nothing but takes the sequence's
   ``SHARE ROW EXCLUSIVE`` lock until commit. PostgreSQL's ``nextval`` and ``setval`` take
   ``ROW EXCLUSIVE`` on the sequence, which conflicts with it: "ALTER SEQUENCE blocks concurrent
   nextval, currval, lastval, and setval calls" (PostgreSQL 10 and later, ALTER SEQUENCE, Notes).
   (``LOCK TABLE`` refuses sequences, hence the no-op ALTER.)
2. With no one else able to take a value, read ``last_value``/``is_called`` and ``setval`` the
   sequence to the range's last id; commit. Values below ``last_value`` were all handed out
   already, also those another backend holds in its cache (a cache advances ``last_value``), so
   the range is nobody else's.

The lock lives only for those few statements, never for the COPY: single inserts wait at most
milliseconds. The reservation commits on its own; a bulk insert that fails afterwards leaves a
gap in the ids, as a rolled-back ``nextval`` does.

``ALTER SEQUENCE`` needs the sequence's owner, and it waits for every open transaction that has
called ``nextval`` on it (single inserts do, until they commit). So the lock wait is bounded by
:data:`LOCK_WAIT` (a short wait also keeps new single inserts, which queue behind the ALTER, from
stalling), and on a timeout or a missing privilege :func:`reserve` falls back to ``nextval`` once
per id, still in its own short transaction.

Example (PostgreSQL)::

    ids = reserve(engine, "annotations", 1_000_000)  # int64 array, ids[-1] - ids[0] == 999_999
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

#: how long to wait for open transactions that took a value from the sequence (then fall back)
LOCK_WAIT = "100ms"
#: SQLSTATEs that send :func:`reserve` to the fallback: lock_not_available, insufficient_privilege
FALLBACK_STATES = {"55P03", "42501"}
TRIES = 3  # gap-free nextval runs to try before taking whatever values come


def reserve(engine: sa.Engine, table: str, n: int, column: str = "id") -> np.ndarray:
    """Reserve ``n`` new values of the serial sequence of ``table.column``, ascending (int64).

    Runs on a connection of its own and commits before returning; concurrent ``nextval``
    callers (single inserts, other bulk inserts) never get one of these values. The values are
    consecutive unless the fallback met concurrent callers.
    """
    if n < 1:
        return np.zeros(0, dtype=np.int64)
    with engine.connect() as conn:
        with conn.begin():
            sequence = _sequence(conn, table, column)
        try:
            with conn.begin():
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
                conn.execute(sa.text(f"ALTER SEQUENCE {sequence} INCREMENT BY 1"))
                last, called = conn.execute(
                    sa.text(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
                ).one()
                first = int(last) + 1 if called else int(last)
                conn.execute(
                    sa.text("SELECT setval(CAST(:s AS regclass), :v)"),
                    {"s": sequence, "v": first + n - 1},
                )
            return np.arange(first, first + n, dtype=np.int64)
        except sa.exc.DBAPIError as err:
            # a long transaction holds a value of the sequence, or we do not own it
            if getattr(err.orig, "sqlstate", None) not in FALLBACK_STATES:
                raise
        with conn.begin():
            return _one_by_one(conn, sequence, n)


def one_by_one(conn: sa.Connection, table: str, n: int, column: str = "id") -> np.ndarray:
    """Take ``n`` values with one ``nextval`` each, in the transaction open on ``conn``.

    For small batches: no second connection and no ``ALTER``, but the transaction holds the
    sequence's ``ROW EXCLUSIVE`` lock until it ends, so :func:`reserve` callers may fall back.
    """
    return _one_by_one(conn, _sequence(conn, table, column), n)


def _sequence(conn: sa.Connection, table: str, column: str) -> str:
    """Return the name of the serial sequence of ``table.column``, quoted where needed."""
    name = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": column})
    if name is None:
        raise LookupError(f"{table}.{column} has no serial sequence")
    return str(name)


def _one_by_one(conn: sa.Connection, sequence: str, n: int) -> np.ndarray:
    # a literal regclass is resolved once; a parameter cast to regclass once per row
    target = "'" + sequence.replace("'", "''") + "'::regclass"
    series = f"SELECT nextval({target}) AS v FROM generate_series(1, :n)"  # noqa: S608
    # only the ends travel back when no one else took a value in between
    ends = sa.text(f"SELECT min(v), max(v) FROM ({series}) AS q")  # noqa: S608
    for _ in range(TRIES):
        low, high = conn.execute(ends, {"n": n}).one()
        if high - low + 1 == n:
            return np.arange(low, high + 1, dtype=np.int64)
    every = sa.text(f"SELECT array_agg(v) FROM ({series}) AS q")  # noqa: S608
    return np.sort(np.array(conn.scalar(every, {"n": n}), dtype=np.int64))
